//! Pug (and Jade), read line by line: a line is a tag with optional `(attributes)`,
//! `&attributes(...)` and buffered code (`= x` escapes, `!= x` does not); `!{x}` interpolates raw
//! anywhere in text; a `script.` block holds JavaScript in which `#{x}` is HTML-escaped only.

use std::ops::Range;

use super::{Check, Hit, inside_js_string, is_harmless};

/// The checks' hits in a Pug file.
pub fn scan(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    // the indentation of an open `script.` block
    let mut script_block: Option<usize> = None;
    for (range, line) in crate::deploy::lines(text) {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let span = range.start + indent..range.end;
        if body.is_empty() {
            continue;
        }
        if let Some(block) = script_block {
            if indent > block {
                script_line(body, span.start, &mut hits);
                continue;
            }
            script_block = None;
        }
        // comments and unbuffered code (`- var x = 1`)
        if body.starts_with("//") || body.starts_with('-') {
            continue;
        }
        raw_interpolations(body, span.start, &mut hits);
        let tag = parse_line(body);
        let is_script = tag.name == "script";
        let is_js_script = is_script && is_javascript_script(tag.attrs);
        for value in raw_attribute_values(tag.attrs) {
            if !is_harmless(value) {
                hits.push(hit(Check::UnescapedOutput, &span));
            }
        }
        if let Some(attrs) = tag.and_attributes
            && !attrs.trim_start().starts_with('{')
            && !is_harmless(attrs)
        {
            hits.push(hit(Check::UnescapedOutput, &span));
        }
        let rest = tag.rest.trim_start();
        if let Some(expr) = rest.strip_prefix("!=") {
            if !is_harmless(expr) {
                hits.push(hit(Check::UnescapedOutput, &span));
            }
        } else if let Some(expr) = rest.strip_prefix('=') {
            if is_js_script && !is_harmless(expr) {
                hits.push(hit(Check::VariableInScript, &span));
            }
        } else if is_js_script && tag.rest.starts_with('.') {
            script_block = Some(indent);
        }
    }
    hits.sort_by_key(|h| (h.range.start, h.check));
    hits.dedup();
    hits
}

fn hit(check: Check, span: &Range<usize>) -> Hit {
    Hit {
        check,
        range: span.clone(),
    }
}

/// A line of JavaScript inside a `script.` block: `#{x}` outside a string literal runs as code.
fn script_line(body: &str, start: usize, hits: &mut Vec<Hit>) {
    let mut at = 0;
    while let Some(found) = body[at..].find("#{") {
        let open = at + found;
        let Some(len) = matching_brace(&body[open + 1..]) else {
            return;
        };
        let expr = &body[open + 2..open + 1 + len];
        if !is_harmless(expr) && !inside_js_string(&body[..open]) {
            hits.push(hit(Check::VariableInScript, &(start..start + body.len())));
            return;
        }
        at = open + 2 + len;
    }
    raw_interpolations(body, start, hits);
}

/// `!{x}` anywhere in a line.
fn raw_interpolations(body: &str, start: usize, hits: &mut Vec<Hit>) {
    let mut at = 0;
    while let Some(found) = body[at..].find("!{") {
        let open = at + found;
        let Some(len) = matching_brace(&body[open + 1..]) else {
            return;
        };
        if !is_harmless(&body[open + 2..open + 1 + len]) {
            hits.push(hit(Check::UnescapedOutput, &(start..start + body.len())));
            return;
        }
        at = open + 2 + len;
    }
}

/// The length up to the `}` closing the `{` that `s` starts with (nesting and quotes aware).
fn matching_brace(s: &str) -> Option<usize> {
    crate::source::closing_bracket(s, '{', '}')
}

/// A Pug line split into its parts.
struct Line<'l> {
    /// The element name (`script`, `a`; empty for `.class` or `!= x` lines).
    name: &'l str,
    /// The text between the attribute parentheses.
    attrs: &'l str,
    /// The argument of `&attributes(...)`.
    and_attributes: Option<&'l str>,
    /// What follows: `= x`, `!= x`, `.`, or text.
    rest: &'l str,
}

fn parse_line(body: &str) -> Line<'_> {
    let head_len = body
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '#' | ':')))
        .unwrap_or(body.len());
    // `script.` opens a text block; the `.` is not part of the name
    let head = &body[..head_len];
    let (head, dot) = match head.strip_suffix('.') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let name = head.split(['.', '#']).next().unwrap_or("");
    let mut rest = &body[head_len..];
    let mut attrs = "";
    if !dot
        && rest.starts_with('(')
        && let Some(end) = crate::source::closing_bracket(rest, '(', ')')
    {
        attrs = &rest[1..end];
        rest = &rest[end + 1..];
    }
    let mut and_attributes = None;
    if let Some(after) = rest.strip_prefix("&attributes")
        && after.starts_with('(')
        && let Some(end) = crate::source::closing_bracket(after, '(', ')')
    {
        and_attributes = Some(&after[1..end]);
        rest = &after[end + 1..];
    }
    let rest = if dot { &body[head_len - 1..] } else { rest };
    Line {
        name,
        attrs,
        and_attributes,
        rest,
    }
}

/// The values of `name!=value` attributes (written raw).
fn raw_attribute_values(attrs: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = attrs.as_bytes();
    let mut quote = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
        } else if matches!(b, b'"' | b'\'' | b'`') {
            quote = Some(b);
        } else if attrs[i..].starts_with("!=") && i > 0 && is_name_byte(bytes[i - 1]) {
            let value = attribute_value(&attrs[i + 2..]);
            out.push(value);
            i += 2 + value.len();
            continue;
        }
        i += 1;
    }
    out
}

/// An attribute value: up to the first space or comma outside quotes and brackets.
fn attribute_value(s: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in crate::source::outside_quotes(s) {
        if matches!(c, '(' | '[' | '{') {
            depth += 1;
        } else if matches!(c, ')' | ']' | '}') {
            depth -= 1;
        } else if depth == 0 && (c.is_whitespace() || c == ',') {
            return &s[..i];
        }
    }
    s
}

/// Whether `b` may end an attribute name (`href`, `data-id`, `:class`, `@click`).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'@')
}

/// Whether a `script(...)` element holds JavaScript: no `src`, and no non-JavaScript `type`.
fn is_javascript_script(attrs: &str) -> bool {
    let lower = attrs.to_ascii_lowercase();
    if lower.contains("src") {
        return false;
    }
    let Some(at) = lower.find("type") else {
        return true;
    };
    let value = lower[at + 4..]
        .trim_start()
        .trim_start_matches('=')
        .trim_start()
        .trim_start_matches(['"', '\'']);
    ["text/javascript", "application/javascript", "module"]
        .iter()
        .any(|t| value.starts_with(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_hit(text: &str) -> Vec<(Check, usize)> {
        scan(text)
            .into_iter()
            .map(|h| (h.check, text[..h.range.start].matches('\n').count() + 1))
            .collect()
    }

    #[test]
    fn raw_output_forms_are_reported() {
        let text = "h1 !{title}\na(href!=url) Docs\na(href!=\"/docs\") Docs\np!= bio\np= name\ndiv&attributes(attrs)\nspan&attributes({'class': 'x'})\n// !{commented}";
        assert_eq!(
            lines_hit(text),
            vec![
                (Check::UnescapedOutput, 1),
                (Check::UnescapedOutput, 2),
                (Check::UnescapedOutput, 4),
                (Check::UnescapedOutput, 6),
            ]
        );
    }

    #[test]
    fn script_content_from_variables_is_reported() {
        let text = "script(type=\"text/javascript\")=src\nscript=\"var a = 1;\"\nscript(src=bundle)\nscript.\n  var user = #{user};\n  var name = '#{name}';\np= done";
        assert_eq!(
            lines_hit(text),
            vec![(Check::VariableInScript, 1), (Check::VariableInScript, 5)]
        );
    }
}

//! Tag-delimited template dialects: EJS (`<% %>`), Mustache and Handlebars (`{{ }}`), Vue
//! (`v-html`) and Svelte (`{@html}`). One pass finds the output tags; a second finds the inline
//! `<script>` bodies that hold JavaScript, so an escaped tag there can be told apart.

use std::ops::Range;

use super::{Check, Dialect, Hit, inside_js_string, is_harmless};

/// An output tag: its byte range, its expression, and whether the dialect escapes it.
struct Tag<'t> {
    range: Range<usize>,
    expr: &'t str,
    escaped: bool,
}

/// The checks' hits in a file of a tag-delimited `dialect` (not Pug).
pub fn scan(dialect: Dialect, text: &str) -> Vec<Hit> {
    let tags = match dialect {
        Dialect::Ejs => ejs_tags(text),
        Dialect::Mustache => mustache_tags(text),
        Dialect::Vue => vue_tags(text),
        Dialect::Svelte => svelte_tags(text),
        Dialect::Pug => Vec::new(),
    };
    let scripts = script_bodies(text, dialect);
    let mut hits = Vec::new();
    for tag in &tags {
        if !tag.escaped {
            if !is_harmless(tag.expr) {
                hits.push(Hit {
                    check: Check::UnescapedOutput,
                    range: tag.range.clone(),
                });
            }
            continue;
        }
        let in_script = scripts
            .iter()
            .any(|s| s.start <= tag.range.start && tag.range.end <= s.end);
        if in_script && !is_harmless(tag.expr) && !is_json(tag.expr) {
            let line_start = text[..tag.range.start].rfind('\n').map_or(0, |i| i + 1);
            let prefix = blank_tags(&text[line_start..tag.range.start], &tags, line_start);
            if !inside_js_string(&prefix) {
                hits.push(Hit {
                    check: Check::VariableInScript,
                    range: tag.range.clone(),
                });
            }
        }
    }
    hits
}

/// `JSON.stringify(x)` escaped as HTML: broken JSON at worst, never code.
fn is_json(expr: &str) -> bool {
    expr.trim_start().starts_with("JSON.stringify(")
}

/// `<%= x %>` and `<%- x %>` (with `-%>`/`_%>` closers); scriptlets, comments and `<%%` are no
/// output.
fn ejs_tags(text: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("<%") {
        let start = at + found;
        let Some(end_rel) = text[start + 2..].find("%>") else {
            break;
        };
        let end = start + 2 + end_rel + 2;
        let inner = &text[start + 2..end - 2];
        let escaped = match inner.chars().next() {
            Some('=') => Some(true),
            Some('-') => Some(false),
            _ => None,
        };
        if let Some(escaped) = escaped {
            let expr = inner[1..].trim_end_matches(['-', '_']).trim();
            out.push(Tag {
                range: start..end,
                expr,
                escaped,
            });
        }
        at = end;
    }
    out
}

/// `{{x}}`, `{{{x}}}` and `{{&x}}`; sections, partials, comments and `else` are no output.
fn mustache_tags(text: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("{{") {
        let start = at + found;
        let triple = text[start..].starts_with("{{{");
        let (open, close) = if triple { (3, "}}}") } else { (2, "}}") };
        let Some(end_rel) = text[start + open..].find(close) else {
            break;
        };
        let end = start + open + end_rel + close.len();
        let inner = text[start + open..end - close.len()]
            .trim_matches('~')
            .trim();
        at = end;
        if triple {
            out.push(Tag {
                range: start..end,
                expr: inner,
                escaped: false,
            });
            continue;
        }
        if let Some(expr) = inner.strip_prefix('&') {
            out.push(Tag {
                range: start..end,
                expr: expr.trim(),
                escaped: false,
            });
        } else if !inner.starts_with(['!', '#', '/', '^', '>', '<', '$', '*', '@'])
            && inner != "else"
            && !inner.starts_with("else ")
        {
            out.push(Tag {
                range: start..end,
                expr: inner,
                escaped: true,
            });
        }
    }
    out
}

/// `v-html="x"` (and `v-bind:innerHTML`/`:innerHTML`) on an element of a Vue template.
fn vue_tags(text: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    for name in ["v-html", "v-bind:innerHTML", ":innerHTML"] {
        let mut at = 0;
        while let Some(found) = text[at..].find(name) {
            let start = at + found;
            at = start + name.len();
            // an attribute of its own: `v-html`, not `v-dompurify-html` or `:innerHTMLx`
            let before = text[..start].chars().next_back();
            if !before.is_some_and(char::is_whitespace) {
                continue;
            }
            let rest = &text[at..];
            let Some(rest) = rest.trim_start().strip_prefix('=') else {
                continue;
            };
            let rest = rest.trim_start();
            let Some(q) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                continue;
            };
            let Some(len) = rest[1..].find(q) else {
                continue;
            };
            let value_start = text.len() - rest.len() + 1;
            let end = value_start + len + 1;
            out.push(Tag {
                range: start..end,
                expr: &text[value_start..value_start + len],
                escaped: false,
            });
        }
    }
    out.sort_by_key(|t| t.range.start);
    out
}

/// `{@html x}` in a Svelte component.
fn svelte_tags(text: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("{@html") {
        let start = at + found;
        let Some(end_rel) = text[start..].find('}') else {
            break;
        };
        let end = start + end_rel + 1;
        out.push(Tag {
            range: start..end,
            expr: text[start + "{@html".len()..end - 1].trim(),
            escaped: false,
        });
        at = end;
    }
    out
}

/// The byte ranges of inline `<script>` bodies that hold JavaScript (no `type`, or a JavaScript
/// or module type; not `text/template`, `application/json`, `text/x-handlebars-template`).
fn script_bodies(text: &str, dialect: Dialect) -> Vec<Range<usize>> {
    if matches!(dialect, Dialect::Vue | Dialect::Svelte) {
        // a component's `<script>` is its own code, not a template
        return Vec::new();
    }
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<script") {
        let open = at + found;
        let Some(open_end) = tag_end(&lower, open) else {
            break;
        };
        let attrs = &lower[open + "<script".len()..open_end];
        let Some(close_rel) = lower[open_end..].find("</script") else {
            break;
        };
        let close = open_end + close_rel;
        if is_javascript_type(attrs) {
            out.push(open_end + 1..close);
        }
        at = close;
    }
    out
}

/// The `>` closing the tag that opens at `open`, skipping template tags and quoted values.
fn tag_end(lower: &str, open: usize) -> Option<usize> {
    let bytes = lower.as_bytes();
    let mut i = open + 1;
    let mut quote = None;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
        } else if b == b'"' || b == b'\'' {
            quote = Some(b);
        } else if lower[i..].starts_with("<%") {
            i += lower[i..].find("%>")? + 1;
        } else if b == b'>' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether a `<script>` tag's attributes leave it JavaScript.
fn is_javascript_type(attrs: &str) -> bool {
    let Some(at) = attrs.find("type") else {
        return true;
    };
    let value = attrs[at + 4..]
        .trim_start()
        .trim_start_matches('=')
        .trim_start()
        .trim_start_matches(['"', '\'']);
    [
        "text/javascript",
        "application/javascript",
        "module",
        "text/ecmascript",
    ]
    .iter()
    .any(|t| value.starts_with(t))
}

/// `prefix` (the line before a tag, starting at byte `offset` of the file) with every template
/// tag in it blanked, so quotes inside other tags do not count.
fn blank_tags(prefix: &str, tags: &[Tag<'_>], offset: usize) -> String {
    let mut out: Vec<u8> = prefix.as_bytes().to_vec();
    for tag in tags {
        let start = tag.range.start.max(offset);
        let end = tag.range.end.min(offset + prefix.len());
        if start < end {
            for b in &mut out[start - offset..end - offset] {
                *b = b' ';
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(dialect: Dialect, text: &str) -> Vec<(Check, String)> {
        scan(dialect, text)
            .into_iter()
            .map(|h| (h.check, text[h.range].to_string()))
            .collect()
    }

    #[test]
    fn ejs_raw_output_is_reported_but_not_includes_or_layout_slots() {
        let text =
            "<h1><%- user.bio %></h1>\n<%- include('nav') %>\n<%- body %>\n<p><%= user.name %></p>";
        assert_eq!(
            checks(Dialect::Ejs, text),
            vec![(Check::UnescapedOutput, "<%- user.bio %>".to_string())]
        );
    }

    #[test]
    fn escaped_values_in_scripts_count_only_outside_strings() {
        let text = "<script>\n  var n = <%= count %>;\n  var s = '<%= name %>';\n  var j = <%= JSON.stringify(x) %>;\n</script>\n<script type=\"text/x-template\">{{ a }}</script>";
        assert_eq!(
            checks(Dialect::Ejs, text),
            vec![(Check::VariableInScript, "<%= count %>".to_string())]
        );
    }

    #[test]
    fn mustache_triple_and_ampersand_are_raw() {
        let text = "{{{bio}}} {{&name}} {{name}} {{> nav}} {{{body}}} {{! note }}";
        assert_eq!(
            checks(Dialect::Mustache, text),
            vec![
                (Check::UnescapedOutput, "{{{bio}}}".to_string()),
                (Check::UnescapedOutput, "{{&name}}".to_string()),
            ]
        );
    }

    #[test]
    fn vue_v_html_but_not_a_sanitising_directive() {
        let text = "<div v-html=\"post.body\"></div><div v-dompurify-html=\"post.body\"></div><p v-html=\"'<b>x</b>'\"></p>";
        assert_eq!(
            checks(Dialect::Vue, text),
            vec![(Check::UnescapedOutput, "v-html=\"post.body\"".to_string())]
        );
    }
}

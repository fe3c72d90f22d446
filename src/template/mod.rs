//! The `template` capability: view templates read as text (issue 16). Server-side templates
//! (EJS, Mustache and Handlebars, Pug) and component templates (Vue, Svelte) decide in their
//! markup whether a value is HTML-escaped; the JavaScript that renders them never shows it.
//!
//! Two builtin checks, each a scan of one template dialect's tags:
//!
//! - `http-template-unescaped-output`: a variable written raw (`<%- x %>`, `{{{x}}}`, `{{&x}}`,
//!   `!{x}`, `attr!=x`, `&attributes(x)`, `v-html="x"`, `{@html x}`);
//! - `http-template-variable-in-script`: an HTML-escaped variable written unquoted into an inline
//!   script, where HTML escaping does not stop it from running as code.
//!
//! The dialect comes from the file extension ([`Dialect::of`]); the tag scanners live in
//! [`markup`] (tag-delimited dialects) and [`pug`] (the indentation dialect). Which expressions
//! count as constant, as a layout slot or as sanitised is decided once, in [`is_harmless`].

pub mod markup;
pub mod pug;

use std::ops::Range;

use crate::discover::FileKind;
use crate::engine::{Analyzer, FileContext};
use crate::finding::Finding;
use crate::rules::{RuleError, RuleSet};

/// The checks behind this capability's rules, named by the rule's `builtin:` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// A template variable written without HTML escaping.
    UnescapedOutput,
    /// An escaped template variable written unquoted into an inline script.
    VariableInScript,
}

impl Check {
    /// Every check with the name rule files use.
    pub const ALL: [(&'static str, Check); 2] = [
        ("http-template-unescaped-output", Check::UnescapedOutput),
        ("http-template-variable-in-script", Check::VariableInScript),
    ];
}

/// The template languages read here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// EJS: `<%= x %>` escapes, `<%- x %>` does not.
    Ejs,
    /// Mustache and Handlebars: `{{x}}` escapes, `{{{x}}}` and `{{&x}}` do not.
    Mustache,
    /// Pug (formerly Jade): `=`/`#{}` escape, `!=`/`!{}`/`&attributes` do not.
    Pug,
    /// Vue single-file components: `v-html`.
    Vue,
    /// Svelte components: `{@html}`.
    Svelte,
}

impl Dialect {
    /// The dialect of a file, from its extension; `None` for files that are no template.
    pub fn of(display: &str) -> Option<Dialect> {
        let ext = display.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "ejs" => Dialect::Ejs,
            "mustache" | "hbs" | "handlebars" => Dialect::Mustache,
            "pug" | "jade" => Dialect::Pug,
            "vue" => Dialect::Vue,
            "svelte" => Dialect::Svelte,
            _ => return None,
        })
    }
}

/// One place a check fires: the tag's byte range and the tag as written (for the message).
#[derive(Debug, PartialEq, Eq)]
pub struct Hit {
    /// Which check.
    pub check: Check,
    /// The tag's byte range in the file.
    pub range: Range<usize>,
}

/// The check names this capability runs (`builtin:` in a rule).
pub fn builtin_names() -> Vec<String> {
    Check::ALL.iter().map(|(n, _)| (*n).to_string()).collect()
}

/// Builds the template analyzer from the rules naming its checks.
pub fn build(
    rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let checks = rules.builtin_checks(&Check::ALL);
    if checks.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(TemplateAnalyzer { checks })))
}

/// Runs the template checks whose rule is loaded over template files.
#[derive(Debug)]
struct TemplateAnalyzer {
    /// (check, rule index), sorted by check.
    checks: Vec<(Check, usize)>,
}

impl Analyzer for TemplateAnalyzer {
    fn name(&self) -> &'static str {
        "template"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.checks.iter().map(|(_, i)| *i).collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        if ctx.file.kind != FileKind::Text {
            return;
        }
        let Some(dialect) = Dialect::of(&ctx.file.display) else {
            return;
        };
        let text = &ctx.file.text;
        let hits = match dialect {
            Dialect::Pug => pug::scan(text),
            _ => markup::scan(dialect, text),
        };
        for hit in hits {
            let Some(&(_, idx)) = self.checks.iter().find(|(c, _)| *c == hit.check) else {
                continue;
            };
            if !ctx.is_active(idx) {
                continue;
            }
            let tag = text[hit.range.clone()].trim();
            let rule = &ctx.rules.rules()[idx];
            let mut finding = ctx.finding(idx, hit.range);
            finding.message = rule.message_for("tag", &[("tag", &shorten(tag))]);
            out.push(finding);
        }
    }
}

/// A tag short enough for a one-line message.
fn shorten(tag: &str) -> String {
    const MAX: usize = 60;
    let one_line: String = tag.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX {
        return one_line;
    }
    let cut: String = one_line.chars().take(MAX - 3).collect();
    format!("{cut}...")
}

/// Whether a template expression is safe to write raw, or is not a value at all: empty, a string
/// or number literal, a layout slot (`body`, `include(...)`, `partial`, `yield`), a helper
/// called with literals only (`include 'partials/nav.html'`), or a value passed through a
/// sanitiser (`DOMPurify.sanitize(x)`).
pub fn is_harmless(expr: &str) -> bool {
    // layout engines (express-ejs-layouts, ejs-mate, express-handlebars) fill these slots with
    // other templates' rendered output, which were escaped where they were written
    const SLOTS: [&str; 10] = [
        "include",
        "partial",
        "body",
        "yield",
        "block",
        "defineContent",
        "contentFor",
        "script",
        "style",
        "layout",
    ];
    let expr = expr.trim().trim_end_matches(';').trim();
    if expr.is_empty() || is_literal(expr) {
        return true;
    }
    let head: String = expr
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$' || *c == '.')
        .collect();
    let rest = expr[head.len()..].trim_start();
    if SLOTS.contains(&head.as_str()) && (rest.is_empty() || rest.starts_with(['(', '\'', '"'])) {
        return true;
    }
    // a Handlebars helper with literal arguments only: `{{{include 'html/partial.html'}}}`
    if !head.is_empty()
        && !rest.is_empty()
        && rest.starts_with(['\'', '"'])
        && split_args(rest).iter().all(|a| is_literal(a))
    {
        return true;
    }
    let lower = expr.to_ascii_lowercase();
    [
        "sanitiz",
        "purify",
        "escape",
        "xss(",
        "striptags",
        "strip_tags",
    ]
    .iter()
    .any(|s| lower.contains(s))
}

/// Whether `expr` is one string, number or boolean literal.
fn is_literal(expr: &str) -> bool {
    let expr = expr.trim();
    if expr.parse::<f64>().is_ok() || matches!(expr, "true" | "false" | "null") {
        return true;
    }
    let Some(q) = expr
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '"' | '`'))
    else {
        return false;
    };
    expr.len() >= 2
        && expr.ends_with(q)
        && !expr[1..expr.len() - 1].contains(q)
        && !(q == '`' && expr.contains("${"))
}

/// Space-separated helper arguments, keeping quoted strings whole.
fn split_args(rest: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => {
                quote = Some(c);
                start.get_or_insert(i);
            }
            (None, c) if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    out.push(&rest[s..i]);
                }
            }
            (None, _) => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push(&rest[s..]);
    }
    out
}

/// Whether the end of `line_prefix` (the text of a line before a template tag, other tags
/// blanked) sits inside a JavaScript string literal: a quote opened and not closed.
pub fn inside_js_string(line_prefix: &str) -> bool {
    let mut quote = None;
    let mut escaped = false;
    for c in line_prefix.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"' | '`') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_slots_literals_and_sanitised_values_are_harmless() {
        for expr in [
            "body",
            "include('partials/nav')",
            "include 'html/partials/some-partial.html'",
            "'<b>hi</b>'",
            "42",
            "DOMPurify.sanitize(post.html)",
            "defineContent('scripts')",
        ] {
            assert!(is_harmless(expr), "{expr}");
        }
        for expr in [
            "autor.nome",
            "post.body",
            "title_text",
            "bodyHtml",
            "comment.text",
        ] {
            assert!(!is_harmless(expr), "{expr}");
        }
    }

    #[test]
    fn quote_state_follows_escapes() {
        assert!(inside_js_string("var a = '"));
        assert!(!inside_js_string("var a = 'x'; var b = "));
        assert!(inside_js_string(r#"var a = "it\"s "#));
    }

    #[test]
    fn dialect_comes_from_the_extension() {
        assert_eq!(Dialect::of("views/a.ejs"), Some(Dialect::Ejs));
        assert_eq!(Dialect::of("views/layout.hbs"), Some(Dialect::Mustache));
        assert_eq!(Dialect::of("src/App.vue"), Some(Dialect::Vue));
        assert_eq!(Dialect::of("index.html"), None);
    }
}

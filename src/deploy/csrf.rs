//! `http-session-app-without-csrf-protection`: an `express-session` / `cookie-session` app whose
//! cookie sets no `sameSite`, that registers state-changing routes or mounts routers, and in
//! which no CSRF defence is mounted: not in the file that sets up the session, and not in the
//! modules it imports, followed through relative imports (routers, middleware files) a few
//! levels deep (issue 23: `router.use(csrf())` inside a routes module protects the app).
//!
//! The per-file pass emits [`CsrfFacts`]: the session middleware calls without `sameSite` (in a
//! file with state-changing routes or router mounts), whether the file's code (comments
//! blanked) mentions a CSRF defence, and its relative imports. The project pass walks imports
//! from each session file and reports the sessions no reachable module defends.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::discover::Candidate;
use crate::engine::{FileContext, ProjectContext, finding_at};
use crate::finding::Finding;
use crate::parse::ChildField;
use crate::platform::js::{arguments, text, walk};
use crate::source::LineIndex;

/// How many import hops from the session file a defence may sit.
const MAX_DEPTH: usize = 4;

/// What one JavaScript/TypeScript file tells the project pass.
pub struct CsrfFacts {
    /// Session middleware calls whose cookie sets no `sameSite`, in a file with state-changing
    /// routes or router mounts.
    sessions: Vec<Range<usize>>,
    /// Whether the file's code mentions a CSRF defence (`csurf`, `csrf-csrf`, `lusca`, a CSRF
    /// token, `sameSite`, a `Sec-Fetch-Site` check).
    defends: bool,
    /// The relative modules it imports (`./routes/account`).
    imports: Vec<String>,
    /// Positions of the file, for findings at its sessions.
    lines: LineIndex,
}

/// A CSRF defence named in code, but for `\b_csrf` ([`names_defence`] checks that one): a
/// Unicode `\b` sends the regex crate's lazy DFA to the `PikeVM` at a file's first non-ASCII
/// byte, and a `(?:\A|\W)` in its place leaves the pattern without the literals its prefilter
/// skips ahead with (issue 22).
static DEFENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)csurf|csrf(?:protection|_protection|token|_token|-token|-sync|-csrf|middleware|secret|_secret)|doublecsrf|x-csrf|xsrf|lusca|same_?site|double-?submit|sec-fetch-site",
    )
    .expect("constant pattern compiles")
});

/// `(?i)_csrf`, for the `\b_csrf` of [`names_defence`].
static UNDERSCORE_CSRF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)_csrf").expect("constant pattern compiles"));

/// Whether `code` names a CSRF defence: [`DEFENCE`], or `_csrf` after no word character (what
/// `\b_csrf` means, `_` being one).
fn names_defence(code: &str) -> bool {
    DEFENCE.is_match(code)
        || UNDERSCORE_CSRF
            .find_iter(code)
            .any(|m| !super::follows_word_character(code, m.start()))
}

/// State-changing routes or routers mounted in the file.
static ROUTES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\.(post|put|patch|delete)\(\s*['"`/]|\.use\(\s*['"`][^'"`]*['"`]\s*,\s*(?:require\(|[\w$]*(?:[Rr]oute[rs]?|[Rr]outing)\b)|\b(?:routes|router|[a-z]\w*Routes)\(\s*app\b|(?:require\(|from)\s*['"`]\.{1,2}/(?:[\w.-]+/)*(?:routes?|routers?)\b"#,
    )
    .expect("constant pattern compiles")
});

/// Relative module specifiers in `require(...)`, `import ... from` and `import(...)`; the `\b`
/// before `from` and `import` is checked by [`super::word_bounded_specifiers`].
static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:require\(\s*|from\s+|import\s*\(?\s*)['"`](\.{1,2}/[^'"`\s]+)['"`]"#)
        .expect("constant pattern compiles")
});

/// The facts of one file, when it sets up a session, defends, or imports relative modules.
pub fn facts(ctx: &FileContext<'_>) -> Option<CsrfFacts> {
    let src = ctx.file.text.as_str();
    let imports: Vec<String> = super::word_bounded_specifiers(&IMPORT, src)
        .into_iter()
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let has_session = (src.contains("express-session") || src.contains("cookie-session"))
        && src.contains("ession(");
    let may_defend = names_defence(src);
    if !has_session && !may_defend && imports.is_empty() {
        return None;
    }
    let (sessions, defends) = if has_session || may_defend {
        let root = ctx.tree()?.root_node();
        let code = crate::parse::code_text(root, src);
        let defends = names_defence(&code);
        let sessions = if has_session && !defends && ROUTES.is_match(&code) {
            sessions_without_same_site(root, src, &code)
        } else {
            Vec::new()
        };
        (sessions, defends)
    } else {
        (Vec::new(), false)
    };
    Some(CsrfFacts {
        sessions,
        defends,
        imports,
        lines: LineIndex::of(ctx.file),
    })
}

/// Reports every session no module reachable from its file defends.
pub fn check_project(project: &ProjectContext<'_>, rule: usize, out: &mut Vec<Finding>) {
    let facts: BTreeMap<&str, (&Candidate, &CsrfFacts)> = project
        .facts::<CsrfFacts>()
        .map(|(c, f)| (c.display.as_str(), (c, f)))
        .collect();
    for (path, (candidate, file)) in &facts {
        if file.sessions.is_empty() || !project.applies(rule, candidate) {
            continue;
        }
        if defended_from(path, &facts) {
            continue;
        }
        for range in &file.sessions {
            out.push(finding_at(
                path,
                &file.lines,
                project.rules,
                rule,
                range.clone(),
            ));
        }
    }
}

/// Whether a module reachable from `start` through relative imports mentions a CSRF defence.
fn defended_from(start: &str, facts: &BTreeMap<&str, (&Candidate, &CsrfFacts)>) -> bool {
    let mut seen = BTreeSet::from([start.to_string()]);
    let mut frontier = vec![start.to_string()];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for path in &frontier {
            let Some((_, file)) = facts.get(path.as_str()) else {
                continue;
            };
            for spec in &file.imports {
                let Some(target) = crate::entry::resolve_import(path, spec)
                    .into_iter()
                    .find(|p| facts.contains_key(p.as_str()))
                else {
                    continue;
                };
                if !seen.insert(target.clone()) {
                    continue;
                }
                if facts.get(target.as_str()).is_some_and(|(_, f)| f.defends) {
                    return true;
                }
                next.push(target);
            }
        }
        frontier = next;
    }
    false
}

/// `session({...})`, `cookieSession({...})`, `expressSession({...})` with one options object
/// that names no `sameSite` outside comments (`code` is `src` with comments blanked) and spreads
/// nothing in.
fn sessions_without_same_site(root: Node<'_>, src: &str, code: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    walk(root, |n| {
        if n.kind() != "call_expression" {
            return;
        }
        let Some(f) = n.child_field("function") else {
            return;
        };
        if f.kind() != "identifier"
            || !matches!(text(f, src), "session" | "cookieSession" | "expressSession")
        {
            return;
        }
        let args = arguments(n);
        let [options] = args.as_slice() else {
            return;
        };
        let options_text = code
            .get(options.byte_range())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if options.kind() == "object"
            && !options_text.contains("samesite")
            && !options_text.contains("same_site")
            && !options_text.contains("...")
        {
            found.push(n.byte_range());
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defences_are_named_in_code_not_in_labels() {
        for code in [
            "router.use(csrf())\nconst csrf = require('csurf')",
            "const { doubleCsrfProtection } = doubleCsrf({ getSecret })",
            "app.use(lusca.csrf())",
            "res.render('form', { token: req.csrfToken() })",
            "<input type=hidden name=_csrf>",
        ] {
            assert!(names_defence(code), "{code}");
        }
        // a vulnerability catalogue's key, not a defence
        assert!(!names_defence(
            "module.exports = { 'ax_csrf': 'A8:2013 CSRF' }"
        ));
        assert!(names_defence("_csrf"));
        assert!(!names_defence("é_csrf"));
        assert!(names_defence("—_CSRF"));
        assert!(names_defence("x_csrf ._csrf"));
    }

    #[test]
    fn relative_imports_of_both_module_systems() {
        let src = "const a = require('./routes/account');\nimport { b } from \"../lib/b\";\nconst c = require('express');\nconst d = await import('./lazy');";
        let found = super::super::word_bounded_specifiers(&IMPORT, src);
        assert_eq!(found, ["./routes/account", "../lib/b", "./lazy"]);
    }
}

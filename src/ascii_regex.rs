//! Regexes compiled twice, lazily: with ASCII classes for the texts where those give the same
//! matches (nearly all source files), and as written for the rest.
//!
//! Why (issue 22): a Unicode `\w`, `\d` or `\s` is hundreds of byte ranges, which the regex
//! crate compiles into a forward and a reverse automaton for every regex that uses one. Building
//! the authorization patterns that way was a quarter of a one-file scan; with ASCII classes
//! each pattern builds about five times faster. The written pattern is compiled only when a text
//! holds a character on which the two could differ.
//!
//! Nothing here decides what a pattern means: callers pass the pattern as written, and get the
//! matches the written pattern has on the haystack they pass.

use std::sync::OnceLock;

use regex::Regex;
use regex_syntax::ast::{
    self, Assertion, AssertionKind, Ast, ClassAscii, ClassAsciiKind, ClassPerl, ClassPerlKind,
    ClassSet, ClassSetItem,
};

/// A regex with an ASCII variant, each compiled on first use.
///
/// The ASCII variant replaces `\w`, `\d`, `\s` with `[[:word:]]`, `[[:digit:]]`, `[[:space:]]`
/// (their negations too, except inside brackets) and makes `\b` and `\B` ASCII. Over a haystack
/// with no non-ASCII word or white-space character, each replaced class holds the same
/// characters of that haystack as the original, and a word boundary falls at the same places, so
/// the two regexes have the same matches there; case folding is left on, so `(?i)` literals are
/// unchanged. Any other haystack is searched with the pattern as written.
#[derive(Debug)]
pub struct AsciiRegex {
    /// The pattern as written.
    pattern: String,
    /// The ASCII variant, compiled on first use.
    ascii: OnceLock<Regex>,
    /// The pattern as written, compiled on first use.
    unicode: OnceLock<Regex>,
}

impl AsciiRegex {
    /// A regex of `pattern`, not compiled yet; `pattern` must compile (it is a constant of the
    /// program: a bad one panics at its first use, which the tests reach).
    pub fn new(pattern: impl Into<String>) -> Self {
        AsciiRegex {
            pattern: pattern.into(),
            ascii: OnceLock::new(),
            unicode: OnceLock::new(),
        }
    }

    /// The compiled variant that gives the written pattern's matches over `haystack`.
    pub fn on(&self, haystack: &str) -> &Regex {
        if needs_unicode(haystack) {
            self.unicode
                .get_or_init(|| Regex::new(&self.pattern).expect("constant pattern compiles"))
        } else {
            self.ascii.get_or_init(|| {
                let ascii = ascii_pattern(&self.pattern);
                Regex::new(ascii.as_deref().unwrap_or(&self.pattern))
                    .expect("constant pattern compiles")
            })
        }
    }

    /// Whether the pattern matches somewhere in `haystack`.
    pub fn is_match(&self, haystack: &str) -> bool {
        self.on(haystack).is_match(haystack)
    }

    /// The pattern's leftmost match in `haystack`.
    pub fn find<'h>(&self, haystack: &'h str) -> Option<regex::Match<'h>> {
        self.on(haystack).find(haystack)
    }

    /// The pattern's successive non-overlapping matches in `haystack`.
    pub fn find_iter<'r, 'h>(&'r self, haystack: &'h str) -> regex::Matches<'r, 'h> {
        self.on(haystack).find_iter(haystack)
    }

    /// The capture groups of the pattern's leftmost match in `haystack`.
    pub fn captures<'h>(&self, haystack: &'h str) -> Option<regex::Captures<'h>> {
        self.on(haystack).captures(haystack)
    }

    /// The capture groups of the pattern's successive non-overlapping matches in `haystack`.
    pub fn captures_iter<'r, 'h>(&'r self, haystack: &'h str) -> regex::CaptureMatches<'r, 'h> {
        self.on(haystack).captures_iter(haystack)
    }
}

/// Whether `haystack` holds a non-ASCII character on which an ASCII class or word boundary could
/// differ from the Unicode one: a word character (which `(?i)` may also fold an ASCII letter
/// into, like the Kelvin sign) or white space.
fn needs_unicode(haystack: &str) -> bool {
    !haystack.is_ascii()
        && haystack.chars().any(|c| {
            !c.is_ascii()
                && (c.is_whitespace() || regex_syntax::try_is_word_character(c).unwrap_or(true))
        })
}

/// `pattern` with ASCII classes and word boundaries (see [`AsciiRegex`]); `None` when it does not
/// parse (the written pattern then reports the error).
fn ascii_pattern(pattern: &str) -> Option<String> {
    let mut ast = ast::parse::Parser::new().parse(pattern).ok()?;
    make_ascii(&mut ast);
    let mut out = String::new();
    ast::print::Printer::new().print(&ast, &mut out).ok()?;
    Some(out)
}

fn make_ascii(ast: &mut Ast) {
    match ast {
        Ast::ClassPerl(perl) => {
            // `\W` becomes `[^[:word:]]`, not `[[:^word:]]`: under `(?i)` a class is case-folded
            // before the bracket's negation, and the Kelvin sign in `[:^word:]` would fold `k`
            // into it
            let span = perl.span;
            let negated = perl.negated;
            let item = ascii_item(&ClassPerl {
                negated: false,
                ..(**perl).clone()
            });
            *ast = Ast::class_bracketed(ast::ClassBracketed {
                span,
                negated,
                kind: ClassSet::Item(item),
            });
        }
        Ast::Assertion(assertion) => {
            if let Some(ascii) = ascii_boundary(assertion) {
                *ast = ascii;
            }
        }
        Ast::ClassBracketed(bracketed) => make_set_ascii(&mut bracketed.kind),
        Ast::Repetition(repetition) => make_ascii(&mut repetition.ast),
        Ast::Group(group) => make_ascii(&mut group.ast),
        Ast::Alternation(alternation) => alternation.asts.iter_mut().for_each(make_ascii),
        Ast::Concat(concat) => concat.asts.iter_mut().for_each(make_ascii),
        Ast::Empty(_) | Ast::Flags(_) | Ast::Literal(_) | Ast::Dot(_) | Ast::ClassUnicode(_) => {}
    }
}

fn make_set_ascii(set: &mut ClassSet) {
    match set {
        ClassSet::Item(item) => make_item_ascii(item),
        ClassSet::BinaryOp(op) => {
            make_set_ascii(&mut op.lhs);
            make_set_ascii(&mut op.rhs);
        }
    }
}

fn make_item_ascii(item: &mut ClassSetItem) {
    match item {
        // a negated class inside a bracket stays Unicode (see `make_ascii`)
        ClassSetItem::Perl(perl) if !perl.negated => *item = ascii_item(perl),
        ClassSetItem::Bracketed(bracketed) => make_set_ascii(&mut bracketed.kind),
        ClassSetItem::Union(union) => union.items.iter_mut().for_each(make_item_ascii),
        ClassSetItem::Perl(_)
        | ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_)
        | ClassSetItem::Unicode(_) => {}
    }
}

/// `\w`, `\d`, `\s` as the ASCII class of the same name.
fn ascii_item(perl: &ClassPerl) -> ClassSetItem {
    let kind = match perl.kind {
        ClassPerlKind::Digit => ClassAsciiKind::Digit,
        ClassPerlKind::Space => ClassAsciiKind::Space,
        ClassPerlKind::Word => ClassAsciiKind::Word,
    };
    ClassSetItem::Ascii(ClassAscii {
        span: perl.span,
        kind,
        negated: perl.negated,
    })
}

/// `\b` or `\B` inside `(?-u:...)`; other assertions stay as written.
fn ascii_boundary(assertion: &Assertion) -> Option<Ast> {
    if !matches!(
        assertion.kind,
        AssertionKind::WordBoundary | AssertionKind::NotWordBoundary
    ) {
        return None;
    }
    let span = assertion.span;
    let flags = ast::Flags {
        span,
        items: vec![
            ast::FlagsItem {
                span,
                kind: ast::FlagsItemKind::Negation,
            },
            ast::FlagsItem {
                span,
                kind: ast::FlagsItemKind::Flag(ast::Flag::Unicode),
            },
        ],
    };
    Some(Ast::group(ast::Group {
        span,
        kind: ast::GroupKind::NonCapturing(flags),
        ast: Box::new(Ast::assertion(assertion.clone())),
    }))
}

#[cfg(test)]
mod tests {
    use super::{AsciiRegex, ascii_pattern};

    #[test]
    fn classes_and_boundaries_become_ascii() {
        assert_eq!(
            ascii_pattern(r"\b\w+[\w$.]\s*\d[^\W\S]\B\W").as_deref(),
            Some(
                r"(?-u:\b)[[:word:]]+[[:word:]$.][[:space:]]*[[:digit:]][^\W\S](?-u:\B)[^[:word:]]"
            )
        );
        assert_eq!(
            ascii_pattern(r"(?i)a\\w(\d)").as_deref(),
            Some(r"(?i)a\\w([[:digit:]])")
        );
    }

    /// Both variants on texts with and without non-ASCII word and space characters, against the
    /// pattern compiled as written.
    #[test]
    fn matches_are_the_written_patterns() {
        let patterns = [
            r"\b(?:req|request)\.(\w+)\b",
            r"(?i)\bkey\s*=\s*(\S+)",
            r"[^\w\s]+",
            r"\W+\D",
            r"(?i)s\w*k",
            r"(?i)\W+k[\Wx]",
        ];
        let texts = [
            "const key = req.body; // plain",
            "const kéy = req.bödy; // accents",
            "key\u{a0}= x\u{2028}y",
            "ſtraße \u{212a}ey = req.x",
            "emoji 🙂 → arrows — dashes",
            "a = ...k; b = ..ks; k",
        ];
        for pattern in patterns {
            let written = regex::Regex::new(pattern).expect("test pattern compiles");
            let regex = AsciiRegex::new(pattern);
            for text in texts {
                let want: Vec<_> = written.find_iter(text).map(|m| m.range()).collect();
                let got: Vec<_> = regex.find_iter(text).map(|m| m.range()).collect();
                assert_eq!(got, want, "{pattern} on {text:?}");
            }
        }
    }
}

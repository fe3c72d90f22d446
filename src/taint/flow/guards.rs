//! Guards: conditions that make a value safe inside an `if` (or after an early exit), such as
//! allowlist checks, comparisons with constants and `#.startsWith(...)` containment checks.

use std::cell::RefCell;
use std::collections::BTreeMap;

use tree_sitter::Node;

use super::propagation::fixes_host;
use super::{
    FACT_NO_DOTDOT, FACT_RELATIVE, Facts, MAX_NESTING, Safe, Taint, Walker, is_name_or_member,
    string_value, strip,
};
use crate::parse::ChildField;
use crate::taint::spec::Seg;

/// Whether a regular expression is one character class holding `<`, `>`, `&` and `"`: it
/// matches wherever HTML needs escaping.
fn finds_html_specials(pattern: &str) -> bool {
    pattern
        .strip_prefix('[')
        .and_then(|p| p.strip_suffix(']'))
        .is_some_and(|class| {
            !class.starts_with('^')
                && !class.contains(['[', ']'])
                && ['<', '>', '&', '"'].iter().all(|c| class.contains(*c))
        })
}

/// Whether a regular expression matches whole values of a narrow alphabet (`^\d+$`,
/// `^[a-z0-9_-]{1,32}$`): anchored at both ends, and built of letters, digits, `_` and `-`
/// (classes of them, `\d`, `\w`), quantifiers and groups only; no alternative.
fn strict_pattern(pattern: &str) -> bool {
    let Some(body) = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')) else {
        return false;
    };
    if body.is_empty() || body.ends_with('\\') {
        return false;
    }
    let (mut escaped, mut class) = (false, false);
    for c in body.chars() {
        let ok = if escaped {
            escaped = false;
            matches!(c, 'd' | 'w' | '-' | '_')
        } else if class {
            match c {
                ']' => {
                    class = false;
                    true
                }
                '\\' => {
                    escaped = true;
                    true
                }
                _ => c.is_ascii_alphanumeric() || matches!(c, '-' | '_'),
            }
        } else {
            match c {
                '[' => {
                    class = true;
                    true
                }
                '\\' => {
                    escaped = true;
                    true
                }
                _ => {
                    c.is_ascii_alphanumeric()
                        || matches!(c, '_' | '-' | '+' | '*' | '?' | '{' | '}' | ',' | '(' | ')')
                }
            }
        };
        if !ok {
            return false;
        }
    }
    !class
}

/// Whether a regular expression only accepts whole values whose every character is inert in a
/// shell word and in HTML: anchored at both ends with no top-level
/// alternative, and each thing it can match (literals, escapes, classes and their ranges) outside
/// [`SPECIAL`]; lookarounds consume nothing and are skipped. `.`, negated classes and `\s`, `\S`,
/// `\W`, `\D` match specials, so they fail it.
fn inert_pattern(pattern: &str) -> bool {
    let Some(body) = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')) else {
        return false;
    };
    if body.is_empty() || body.ends_with('\\') || super::calls::branches(body).count() > 1 {
        return false;
    }
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '(' => {
                let rest: String = chars[i + 1..].iter().take(4).collect();
                if ["?=", "?!", "?<=", "?<!"]
                    .iter()
                    .any(|l| rest.starts_with(l))
                {
                    // a lookaround: skip to its closing parenthesis
                    let Some(end) = group_end(&chars, i) else {
                        return false;
                    };
                    i = end + 1;
                    continue;
                }
                if rest.starts_with("?:") {
                    i += 3;
                    continue;
                }
                if rest.starts_with("?<") {
                    // a named group: skip its name
                    match chars[i..].iter().position(|c| *c == '>') {
                        Some(end) => i += end + 1,
                        None => return false,
                    }
                    continue;
                }
                i += 1;
            }
            ')' | '?' | '*' | '+' | '|' => i += 1,
            '{' => match chars[i..].iter().position(|c| *c == '}') {
                Some(end)
                    if chars[i + 1..i + end]
                        .iter()
                        .all(|c| c.is_ascii_digit() || *c == ',') =>
                {
                    i += end + 1;
                }
                _ => return false,
            },
            '[' => {
                let Some((ranges, end)) = class_ranges(&chars, i) else {
                    return false;
                };
                if ranges.iter().any(|r| matches_special(*r)) {
                    return false;
                }
                i = end + 1;
            }
            '\\' => {
                let Some((range, len)) = escape_range(&chars[i + 1..]) else {
                    return false;
                };
                if matches_special(range) {
                    return false;
                }
                i += 1 + len;
            }
            '.' | '^' | '$' => return false,
            c => {
                if matches_special((c as u32, c as u32)) {
                    return false;
                }
                i += 1;
            }
        }
    }
    true
}

/// Characters a shell or HTML treats specially, control characters and
/// blanks aside (see [`matches_special`]).
const SPECIAL: &str = " !\"#$%&'()*;<>?[]^`{|}~";

/// Whether a range of characters holds a [`SPECIAL`] one, a control character or a blank.
fn matches_special((lo, hi): (u32, u32)) -> bool {
    // controls, blanks, DEL and the C1 controls; the line and paragraph separators
    lo <= 0x20
        || (0x7f..=0xa0).contains(&lo)
        || (lo..=hi).contains(&0x7f)
        || (lo..=hi).contains(&0x2028)
        || (lo..=hi).contains(&0x2029)
        || SPECIAL.chars().any(|c| (lo..=hi).contains(&(c as u32)))
}

/// The index of the `)` closing the group opened at `open`.
fn group_end(chars: &[char], open: usize) -> Option<usize> {
    super::calls::structural(chars.iter().copied().enumerate().skip(open))
        .find(|&(_, c, depth)| c == ')' && depth == 1)
        .map(|(i, ..)| i)
}

/// The character ranges of the class opened at `open` and the index of its `]`; `None` for a
/// negated class or one that does not close.
fn class_ranges(chars: &[char], open: usize) -> Option<(Vec<(u32, u32)>, usize)> {
    let mut i = open + 1;
    if chars.get(i) == Some(&'^') {
        return None;
    }
    let mut ranges = Vec::new();
    let one = |i: usize| -> Option<((u32, u32), usize)> {
        match chars.get(i)? {
            '\\' => escape_range(&chars[i + 1..]).map(|(r, len)| (r, len + 1)),
            c => Some(((*c as u32, *c as u32), 1)),
        }
    };
    while let Some(&c) = chars.get(i) {
        if c == ']' {
            return Some((ranges, i));
        }
        let ((lo, hi), len) = one(i)?;
        i += len;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') && lo == hi {
            let ((end, end_hi), len) = one(i + 1)?;
            if end != end_hi || end < lo {
                return None;
            }
            ranges.push((lo, end));
            i += 1 + len;
        } else {
            ranges.push((lo, hi));
        }
    }
    None
}

/// What the escape after a `\\` matches, as one range (`\d`, `\w` as their most special
/// member), and its length; `None` for escapes matching blanks or anything (`\s`, `\W`, `\p`).
fn escape_range(rest: &[char]) -> Option<((u32, u32), usize)> {
    // code units, surrogate halves included (`\\uD800`)
    let hex = |digits: &[char]| -> Option<u32> {
        let text: String = digits.iter().collect();
        u32::from_str_radix(&text, 16).ok()
    };
    match rest.first()? {
        'd' => Some(((u32::from('0'), u32::from('9')), 1)),
        // letters, digits and `_`: none special
        'w' => Some(((u32::from('_'), u32::from('_')), 1)),
        'x' => Some(((hex(rest.get(1..3)?)?, hex(rest.get(1..3)?)?), 3)),
        'u' if rest.get(1) != Some(&'{') => {
            let c = hex(rest.get(1..5)?)?;
            Some(((c, c), 5))
        }
        // `\b` is an assertion outside a class, a backspace inside: either way no special
        // character is accepted through it outside, and a control character inside
        'b' | 'B' | 's' | 'S' | 'W' | 'D' | 'p' | 'P' | 'u' | 'c' | 'n' | 'r' | 't' | 'v' | 'f'
        | '0' => None,
        c if c.is_ascii_alphanumeric() => None,
        c => Some(((*c as u32, *c as u32), 1)),
    }
}

/// Containment checks that compare the text of two paths without resolving them first
/// (`path-is-inside`): `safe/../../etc` passes, so they prove containment of a normalised
/// path only.
fn compares_text_only(path: &[String]) -> bool {
    path.last().is_some_and(|m| m == "pathIsInside")
}

/// A constant that names the parent folder as a prefix: `".."`, `"../"`, `".." + path.sep`, `"."`.
fn dotdot_text(text: &str, n: Node<'_>) -> bool {
    let n = strip(n);
    match n.kind() {
        "string" => string_value(text, n)
            .is_some_and(|v| matches!(v, "." | ".." | "../" | "..\\\\" | "..\\")),
        // `".." + path.sep`
        "binary_expression" => n
            .child_field("left")
            .and_then(|l| string_value(text, strip(l)))
            .is_some_and(|v| v == ".."),
        _ => false,
    }
}

impl<'t> Walker<'_, 't> {
    /// Records `rel` -> `p` for `const rel = path.relative(root, p)` and `abs` -> `p` for
    /// `const abs = path.resolve(p)` (see `State::relative_of` and `State::resolved_of`).
    pub(super) fn note_relative(&mut self, name: Node<'t>, value: Option<Node<'t>>) {
        if name.kind() != "identifier" {
            return;
        }
        let call = value.map(strip).filter(|v| v.kind() == "call_expression");
        let method = call
            .and_then(|v| v.child_field("function"))
            .and_then(|c| self.path_of(c).last().cloned());
        let args = call.map(Self::args).unwrap_or_default();
        let ident = |i: usize| {
            args.get(i)
                .copied()
                .map(strip)
                .filter(|p| p.kind() == "identifier")
                .map(|p| self.text(p).to_string())
        };
        let relative = (method.as_deref() == Some("relative"))
            .then(|| ident(1))
            .flatten();
        let resolved = (method.as_deref() == Some("resolve") && args.len() == 1)
            .then(|| ident(0))
            .flatten();
        let name = self.text(name).to_string();
        for (map, target) in [
            (&mut self.state.relative_of, relative),
            (&mut self.state.resolved_of, resolved),
        ] {
            match target {
                Some(p) => map.insert(name.clone(), p),
                None => map.remove(&name),
            };
        }
    }

    /// Facts a failed `..` check proves about the path named `var`: it holds no `..` when it
    /// is normalised (or the check looked anywhere in it); a `path.relative` result that does
    /// not climb proves its target stays under the root.
    fn no_dotdot(&self, var: Node<'t>, anywhere: bool) -> Safe {
        // `path.normalize(rel).startsWith("..")`: normalising keeps a leading `..` where it is
        if var.kind() == "call_expression"
            && var
                .child_field("function")
                .is_some_and(|c| self.path_of(c).last().is_some_and(|m| m == "normalize"))
            && let [only] = Self::args(var).as_slice()
        {
            return self.no_dotdot(strip(*only), anywhere);
        }
        if var.kind() != "identifier" {
            return Vec::new();
        }
        let name = self.text(var);
        let mask = self.shared.cfg.dot_free;
        if let Some(target) = self.state.relative_of.get(name) {
            return vec![(target.clone(), mask)];
        }
        if anywhere || self.is_normalized(var) {
            vec![(format!("{FACT_NO_DOTDOT}{name}"), mask)]
        } else {
            Vec::new()
        }
    }

    /// Facts a failed `/` check (`name.includes("/")`, `name.indexOf("/") !== -1`) proves about
    /// the name: one path segment, so neither absolute nor able to climb; the one name that
    /// still climbs, `..` itself, names the folder's parent as a directory, not a file in it
    /// (the guard form of the `dot free` sanitizer's slash-removing `replace`).
    fn slash_free(&self, var: Node<'t>) -> Safe {
        let mut safe = self.no_dotdot(var, true);
        if var.kind() == "identifier" && !safe.is_empty() {
            safe.push((
                format!("{FACT_RELATIVE}{}", self.text(var)),
                self.shared.cfg.dot_free,
            ));
        }
        safe
    }

    /// A search for the characters HTML needs escaped (`/[<>"'&]/.test(x)`, `RE.exec(x)`,
    /// `x.match(RE)`, `RE.exec(x) == null`): where it finds none, `x` is safe to print as HTML;
    /// where it finds one, nothing is proven.
    fn special_chars_guard(&self, cond: Node<'t>) -> Option<(Safe, Safe)> {
        let mut n = strip(cond);
        // `if ((m = RE.exec(v)))`
        if n.kind() == "assignment_expression" {
            n = strip(n.child_field("right")?);
        }
        let (call, null_is_then) = match n.kind() {
            "call_expression" => (n, None),
            "binary_expression" => {
                let r = strip(n.child_field("right")?);
                if !matches!(r.kind(), "null" | "undefined") {
                    return None;
                }
                let op = self.op(n);
                let eq = matches!(op, "==" | "===");
                (eq || matches!(op, "!=" | "!==")).then_some(())?;
                (strip(n.child_field("left")?), Some(eq))
            }
            _ => return None,
        };
        if call.kind() != "call_expression" {
            return None;
        }
        let callee = call.child_field("function")?;
        let method = self.path_of(callee).last()?.clone();
        let recv = strip(callee.child_field("object")?);
        let first = strip(*Self::args(call).first()?);
        let (re, value) = match method.as_str() {
            "test" | "exec" => (recv, first),
            "match" => (first, recv),
            _ => return None,
        };
        let value = self.untrimmed(value);
        if !is_name_or_member(value) {
            return None;
        }
        let pattern = self.regex_source(re)?;
        let name = self.path_of(value).join(".");
        // an anchored allow-list of characters neither a shell nor HTML treats specially
        // (`/^[\w./\\-]+$/`, wider alphabets of letters included): a value it accepts is
        // safe as one shell word or in markup, not as a path
        if !strict_pattern(&pattern) && inert_pattern(&pattern) {
            let safe = vec![(name, self.shell_escape_mask() | self.html_escape_mask())];
            return Some(match null_is_then {
                Some(true) => (Vec::new(), safe),
                _ => (safe, Vec::new()),
            });
        }
        // a whole-value match of a narrow alphabet (`/^\d+$/`): a value it accepts is safe
        if strict_pattern(&pattern) {
            let safe = vec![(name, u64::MAX)];
            return Some(match null_is_then {
                Some(true) => (Vec::new(), safe),
                _ => (safe, Vec::new()),
            });
        }
        if !finds_html_specials(&pattern) {
            return None;
        }
        let safe = vec![(name, self.html_escape_mask())];
        Some(match null_is_then {
            Some(true) => (safe, Vec::new()),
            _ => (Vec::new(), safe),
        })
    }

    /// `x` of `x.trim()` (`toLowerCase()` and the like): a test of the trimmed value speaks of
    /// the characters of `x` that matter; else `n` itself.
    fn untrimmed(&self, n: Node<'t>) -> Node<'t> {
        const KEEP_CHARACTERS: &[&str] = &[
            "trim",
            "trimStart",
            "trimEnd",
            "toLowerCase",
            "toUpperCase",
            "toLocaleLowerCase",
            "toLocaleUpperCase",
        ];
        let n = strip(n);
        if n.kind() == "call_expression"
            && Self::args(n).is_empty()
            && let Some(callee) = n.child_field("function").map(strip)
            && callee.kind() == "member_expression"
            && callee
                .child_field("property")
                .is_some_and(|p| KEEP_CHARACTERS.contains(&self.text(p)))
            && let Some(object) = callee.child_field("object")
        {
            return strip(object);
        }
        n
    }

    /// Whether `n` compares the platform (`process.platform === "win32"`, `os.platform()`).
    fn is_platform_test(&self, n: Node<'t>) -> bool {
        let n = strip(n);
        if n.kind() != "binary_expression" || !matches!(self.op(n), "===" | "==" | "!==" | "!=") {
            return false;
        }
        let is_platform = |side: Option<Node<'t>>| {
            side.map(strip).is_some_and(|s| {
                let t = self.text(s);
                t == "process.platform" || t == "os.platform()" || t == "platform()"
            })
        };
        is_platform(n.child_field("left")) || is_platform(n.child_field("right"))
    }

    /// The source of a regular expression: a literal, a string (`"^\\d+$"`), or a name bound to
    /// a literal in an enclosing block.
    fn regex_source(&self, re: Node<'t>) -> Option<String> {
        if let Some(v) = string_value(self.shared.text, re) {
            return Some(v.replace("\\\\", "\\"));
        }
        let literal = if re.kind() == "regex" {
            Some(re)
        } else if re.kind() == "identifier" {
            let name = self.text(re);
            let mut found = None;
            let mut at = re.parent();
            while let (Some(block), None) = (at, found) {
                if matches!(block.kind(), "statement_block" | "program") {
                    found = crate::parse::named_children(block)
                        .into_iter()
                        .filter(|s| {
                            matches!(s.kind(), "lexical_declaration" | "variable_declaration")
                        })
                        .flat_map(crate::parse::named_children)
                        .find(|d| d.child_field("name").is_some_and(|x| self.text(x) == name))
                        .and_then(|d| d.child_field("value"))
                        .filter(|v| v.kind() == "regex");
                }
                at = block.parent();
            }
            found
        } else {
            None
        };
        // with `m`, `^` and `$` anchor lines: a second line escapes the test
        literal
            .filter(|r| {
                r.child_field("flags")
                    .is_none_or(|f| !self.text(f).contains('m'))
            })
            .and_then(|r| r.child_field("pattern"))
            .map(|p| self.text(p).to_string())
    }

    /// Whether the name `n` holds a normalised path (`path.join`, `resolve`, `normalize`).
    fn is_normalized(&self, n: Node<'t>) -> bool {
        n.kind() == "identifier"
            && self
                .state
                .vars
                .get(self.text(n))
                .is_some_and(|t| t.facts.has(Facts::NORMALIZED))
    }

    /// `p[0]` or `p.charAt(0)` compared with `"/"` or `"."`: what a path proves when its first
    /// character is not that one. Not `/`: relative; not `.`: a normalised path that does not
    /// start with `.` holds no `..` (normalising leaves `..` only at the start).
    fn first_char_guard(&self, access: Node<'t>, other: Node<'t>) -> Option<Safe> {
        let dot_free = self.shared.cfg.dot_free;
        if dot_free == 0 {
            return None;
        }
        let ch = string_value(self.shared.text, strip(other))?;
        let access = strip(access);
        let var = match access.kind() {
            "subscript_expression" => {
                let index = strip(access.child_field("index")?);
                (self.text(index) == "0").then(|| access.child_field("object"))??
            }
            "call_expression" => {
                let callee = strip(access.child_field("function")?);
                let is_char_at = callee.kind() == "member_expression"
                    && callee
                        .child_field("property")
                        .is_some_and(|p| self.text(p) == "charAt");
                let args = Self::args(access);
                (is_char_at && args.len() == 1 && self.text(strip(args[0])) == "0")
                    .then(|| callee.child_field("object"))??
            }
            _ => return None,
        };
        let var = strip(var);
        if var.kind() != "identifier" {
            return None;
        }
        match ch {
            "/" => Some(vec![(
                format!("{FACT_RELATIVE}{}", self.text(var)),
                dot_free,
            )]),
            "." => {
                let safe = self.no_dotdot(var, false);
                (!safe.is_empty()).then_some(safe)
            }
            _ => None,
        }
    }

    /// The test a `const` in an enclosing block binds `name` to (`const ok = RE.test(s)`,
    /// `const match = RE.exec(s)`, `const bad = s.includes("..")`): a call, comparison or
    /// negation, declared before the use. A `let` may be reassigned, so only `const` counts.
    fn stored_condition(&self, name: Node<'t>) -> Option<Node<'t>> {
        if name.kind() != "identifier" {
            return None;
        }
        let wanted = self.text(name);
        let mut at = name.parent();
        while let Some(block) = at {
            if matches!(block.kind(), "statement_block" | "program") {
                let found = crate::parse::named_children(block)
                    .into_iter()
                    .filter(|s| {
                        s.kind() == "lexical_declaration"
                            && s.end_byte() <= name.start_byte()
                            && self.text(*s).starts_with("const")
                    })
                    .flat_map(crate::parse::named_children)
                    .filter(|d| {
                        d.child_field("name")
                            .is_some_and(|x| self.text(x) == wanted)
                    })
                    .find_map(|d| d.child_field("value"));
                if let Some(value) = found {
                    let value = strip(value);
                    return matches!(
                        value.kind(),
                        "call_expression" | "binary_expression" | "unary_expression"
                    )
                    .then_some(value);
                }
            }
            if super::is_function(block) {
                // the values an outer function tested may have changed by the time this runs
                return None;
            }
            at = block.parent();
        }
        None
    }

    /// Path checks: `isAbsolute(p)`, `p.startsWith("..")`, `p.includes("..")`, and
    /// `p.indexOf("..")` compared with `-1` or `0`; `None` when `cond` is none of them.
    fn path_guard(&self, cond: Node<'t>) -> Option<(Safe, Safe)> {
        if self.shared.cfg.dot_free == 0 {
            return None;
        }
        let text = self.shared.text;
        let call = strip(cond);
        if call.kind() == "call_expression" {
            let callee = call.child_field("function")?;
            let path = self.path_of(callee);
            let method = path.last()?.as_str();
            let args = Self::args(call);
            let first = strip(*args.first()?);
            if method == "isAbsolute" && first.kind() == "identifier" {
                let fact = format!("{FACT_RELATIVE}{}", self.text(first));
                return Some((Vec::new(), vec![(fact, self.shared.cfg.dot_free)]));
            }
            let recv = strip(callee.child_field("object")?);
            return match method {
                "startsWith" if dotdot_text(text, first) => {
                    Some((Vec::new(), self.no_dotdot(recv, false)))
                }
                "includes" if string_value(text, first) == Some("..") => {
                    Some((Vec::new(), self.no_dotdot(recv, true)))
                }
                "includes" if string_value(text, first) == Some("/") => {
                    Some((Vec::new(), self.slash_free(recv)))
                }
                // `if (p.indexOf("../"))`: true when it does not start with it
                "indexOf" if dotdot_text(text, first) => {
                    Some((self.no_dotdot(recv, false), Vec::new()))
                }
                _ => None,
            };
        }
        if call.kind() != "binary_expression" {
            return None;
        }
        let (l, r) = (
            strip(call.child_field("left")?),
            strip(call.child_field("right")?),
        );
        let bound = self.text(r);
        let op = self.op(call);
        if l.kind() != "call_expression" {
            return None;
        }
        let callee = l.child_field("function")?;
        if self.path_of(callee).last().map(String::as_str) != Some("indexOf") {
            return None;
        }
        let arg = strip(*Self::args(l).first()?);
        let recv = strip(callee.child_field("object")?);
        let anywhere = string_value(text, arg) == Some("..");
        if string_value(text, arg) == Some("/") {
            return match (op, bound) {
                ("===" | "==", "-1") | ("<", "0") => Some((self.slash_free(recv), Vec::new())),
                ("!==" | "!=" | ">", "-1") | (">=", "0") => {
                    Some((Vec::new(), self.slash_free(recv)))
                }
                _ => None,
            };
        }
        match (op, bound) {
            // absent anywhere
            ("===" | "==", "-1") | ("<", "0") if anywhere => {
                Some((self.no_dotdot(recv, true), Vec::new()))
            }
            ("!==" | "!=" | ">", "-1") | (">=", "0") if anywhere => {
                Some((Vec::new(), self.no_dotdot(recv, true)))
            }
            // at the start
            ("===" | "==", "0") if dotdot_text(text, arg) => {
                Some((Vec::new(), self.no_dotdot(recv, false)))
            }
            ("!==" | "!=", "0") if dotdot_text(text, arg) => {
                Some((self.no_dotdot(recv, false), Vec::new()))
            }
            _ => None,
        }
    }

    /// `typeof x === "number"` (or `"boolean"`) makes `x` safe for every rule; `"string"` only
    /// for rules that declare the `typeof string` guard (operator injection needs an object).
    fn typeof_guard(&self, l: Node<'t>, r: Node<'t>) -> Option<Safe> {
        let (unary, constant) = match string_value(self.shared.text, r) {
            Some(c) => (strip(l), c),
            None => (strip(r), string_value(self.shared.text, l)?),
        };
        if unary.kind() != "unary_expression" || self.op(unary) != "typeof" {
            return None;
        }
        let var = strip(unary.child_field("argument")?);
        if !is_name_or_member(var) {
            return None;
        }
        let mask = match constant {
            // a number is still any size
            "number" | "boolean" | "bigint" => !self.shared.cfg.bounded,
            "string" => self.shared.cfg.typeof_string,
            _ => return None,
        };
        (mask != 0).then(|| vec![(self.path_of(var).join("."), mask)])
    }

    /// A string literal, or a name the file declares at its top as `const NAME = "literal"`.
    fn constant_string(&self, n: Node<'t>) -> bool {
        let n = strip(n);
        string_value(self.shared.text, n).is_some()
            || (n.kind() == "identifier"
                && !self.state.locals.contains(self.text(n))
                && self.shared.constants.contains_key(self.text(n)))
    }

    /// Names a condition proves safe when true (then) and when false (else), with rule masks.
    pub(super) fn guards(&self, cond: Node<'t>) -> (Safe, Safe) {
        let depth = self.helper_nesting.get();
        if depth >= MAX_NESTING || crate::engine::stack::exhausted() {
            return (Safe::default(), Safe::default());
        }
        self.helper_nesting.set(depth + 1);
        let safe = self.guards_node(cond);
        self.helper_nesting.set(depth);
        safe
    }

    pub(super) fn guards_node(&self, cond: Node<'t>) -> (Safe, Safe) {
        if let Some(safe) = self
            .path_guard(cond)
            .or_else(|| self.special_chars_guard(cond))
        {
            return safe;
        }
        match cond.kind() {
            "parenthesized_expression" => cond
                .named_child(0)
                .map(|c| self.guards(c))
                .unwrap_or_default(),
            "unary_expression" if self.op(cond) == "!" => {
                let (t, e) = cond
                    .child_field("argument")
                    .map(|c| self.guards(c))
                    .unwrap_or_default();
                (e, t)
            }
            "binary_expression" => {
                let (Some(l), Some(r)) = (cond.child_field("left"), cond.child_field("right"))
                else {
                    return Default::default();
                };
                match self.op(cond) {
                    "&&" => {
                        let (mut t, le) = self.guards(l);
                        let (rt, re) = self.guards(r);
                        t.extend(rt);
                        // `u.startsWith("/") && !u.startsWith("//")`: a path on this site
                        if let Some(name) = self.same_site_paths(cond, "&&", false) {
                            t.push((name, self.shared.cfg.host_rules));
                        }
                        // `process.platform === "win32" && !ALLOWED.test(f)`: the check the
                        // author wrote for the platform whose shell needs it; past it, `f`
                        // passed on that platform, and the other takes no shell
                        let other = if self.is_platform_test(l) {
                            re
                        } else if self.is_platform_test(r) {
                            le
                        } else {
                            Vec::new()
                        };
                        (t, other)
                    }
                    "||" => {
                        let (lt, mut e) = self.guards(l);
                        let (rt, re) = self.guards(r);
                        e.extend(re);
                        // `!u.startsWith("/") || u.startsWith("//")`: past it, a path on this site
                        if let Some(name) = self.same_site_paths(cond, "||", true) {
                            e.push((name, self.shared.cfg.host_rules));
                        }
                        // `x === "a" || x === "b"`: what both sides prove holds in the branch
                        let both = lt
                            .iter()
                            .filter_map(|(name, m)| {
                                let m = m & rt
                                    .iter()
                                    .filter(|(n, _)| n == name)
                                    .fold(0, |acc, (_, rm)| acc | rm);
                                (m != 0).then(|| (name.clone(), m))
                            })
                            .collect();
                        (both, e)
                    }
                    op @ ("===" | "==" | "!==" | "!=") => {
                        // `p[0] !== "/"`: proves something when the first character differs
                        if let Some(safe) = self
                            .first_char_guard(l, r)
                            .or_else(|| self.first_char_guard(r, l))
                        {
                            return if op.starts_with('!') {
                                (safe, Vec::new())
                            } else {
                                (Vec::new(), safe)
                            };
                        }
                        if let Some(safe) = self
                            .prefix_comparison(l, r)
                            .or_else(|| self.prefix_comparison(r, l))
                        {
                            return if op.starts_with('!') {
                                (Vec::new(), safe)
                            } else {
                                (safe, Vec::new())
                            };
                        }
                        if let Some(safe) = self.typeof_guard(l, r) {
                            return if op.starts_with('!') {
                                (Vec::new(), safe)
                            } else {
                                (safe, Vec::new())
                            };
                        }
                        // comparing with a constant string is the smallest allowlist
                        let (var, constant) = if self.constant_string(r) {
                            (strip(l), true)
                        } else {
                            (strip(r), self.constant_string(l))
                        };
                        if !constant || !is_name_or_member(var) {
                            return Default::default();
                        }
                        let mut safe = vec![(self.path_of(var).join("."), u64::MAX)];
                        // `new URL(target).hostname === "api.example.com"` fixes `target`'s host
                        if let Some(url) = self.host_of(var)
                            && self.shared.cfg.host_rules != 0
                        {
                            safe.push((url, self.shared.cfg.host_rules));
                        }
                        if op.starts_with('!') {
                            (Vec::new(), safe)
                        } else {
                            (safe, Vec::new())
                        }
                    }
                    op @ ("<" | "<=" | ">" | ">=") => self.upper_bound_guard(l, op, r),
                    _ => Default::default(),
                }
            }
            // `if (x) {} else { ... }`: a falsy value ("", 0, null, undefined) carries nothing
            "identifier" | "member_expression" => {
                let falsy = (self.path_of(cond).join("."), u64::MAX);
                // `const match = RE.exec(s); if (!match)`: the test stored in a name proves
                // what the test itself does
                let (then, mut other) = self
                    .stored_condition(cond)
                    .map(|c| self.guards(c))
                    .unwrap_or_default();
                other.push(falsy);
                (then, other)
            }
            "call_expression" => {
                let Some(callee) = cond.child_field("function") else {
                    return Default::default();
                };
                let args = Self::args(cond);
                if let Some(safe) = self.helper_guard(callee, &args) {
                    return safe;
                }
                let path = self.path_of(callee);
                (self.call_guards(&path, &args), Vec::new())
            }
            _ => Default::default(),
        }
    }

    /// `w > 2000` (`w >= MAX_WIDTH`, `2000 < w`): false, it bounds `w` from above; `w <= 2000`
    /// true does too. Only for the rules where the number is the danger (see
    /// [`crate::taint::spec::UPPER_BOUND`]); the bound is a number or a constant's name
    /// (`MAX_WIDTH`, `limits.MAX`, `maxWidth`).
    fn upper_bound_guard(&self, l: Node<'t>, op: &str, r: Node<'t>) -> (Safe, Safe) {
        let mask = self.shared.cfg.bounded;
        if mask == 0 {
            return Default::default();
        }
        let is_bound = |n: Node<'t>| {
            let n = strip(n);
            n.kind() == "number"
                || (is_name_or_member(n)
                    && self.path_of(n).last().is_some_and(|last| {
                        last.starts_with("max")
                            || last.starts_with("MAX")
                            || (last.chars().any(|c| c.is_ascii_uppercase())
                                && last.chars().all(|c| {
                                    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
                                }))
                    }))
        };
        // `var < bound` or `bound > var`: true bounds `var` from above
        let (var, below_is_true) = if is_bound(r) && !is_bound(l) {
            (strip(l), op.starts_with('<'))
        } else if is_bound(l) && !is_bound(r) {
            (strip(r), op.starts_with('>'))
        } else {
            return Default::default();
        };
        if !is_name_or_member(var) {
            return Default::default();
        }
        let safe = vec![(self.path_of(var).join("."), mask)];
        if below_is_true {
            (safe, Vec::new())
        } else {
            (Vec::new(), safe)
        }
    }

    /// A prefix test spelled without `startsWith`: `x.indexOf(p) === 0` or
    /// `x.slice(0, n) === p` (`substring`, `substr` too) proves what `x.startsWith(p)` does.
    fn prefix_comparison(&self, call: Node<'t>, other: Node<'t>) -> Option<Safe> {
        let call = strip(call);
        let other = strip(other);
        if call.kind() != "call_expression" {
            return None;
        }
        let callee = strip(call.child_field("function")?);
        let method = self.path_of(callee).last()?.clone();
        let recv = strip(callee.child_field("object")?);
        if !is_name_or_member(recv) {
            return None;
        }
        let args = Self::args(call);
        let prefix = match method.as_str() {
            "indexOf" if self.text(other) == "0" && args.len() == 1 => args[0],
            "slice" | "substring" | "substr"
                if args.len() == 2 && self.text(strip(args[0])) == "0" =>
            {
                other
            }
            _ => return None,
        };
        let mut path = self.path_of(recv);
        path.push("startsWith".to_string());
        let safe = self.call_guards(&path, &[prefix]);
        (!safe.is_empty()).then_some(safe)
    }

    /// The operand of `!x`.
    fn negated(&self, n: Node<'t>) -> Option<Node<'t>> {
        let n = strip(n);
        (n.kind() == "unary_expression" && self.op(n) == "!")
            .then(|| n.child_by_field_name("argument"))
            .flatten()
    }

    /// The code-chosen text an expression starts with: a string, the left end of a `+` chain or
    /// a template's text before its first `${}`; `None` when that is not written out.
    fn leading_text(&self, n: Node<'t>) -> Option<String> {
        let n = strip(n);
        match n.kind() {
            "string" => string_value(self.shared.text, n).map(String::from),
            "binary_expression" if self.op(n) == "+" => {
                self.leading_text(n.child_by_field_name("left")?)
            }
            "template_string" => {
                let mut c = n.walk();
                let first = n.named_children(&mut c).next();
                let end = first.map_or(n.end_byte() - 1, |f| f.start_byte());
                self.shared
                    .text
                    .get(n.start_byte() + 1..end)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
            }
            _ => None,
        }
    }

    /// In a chain of `op` (`a && b && c`): a `u.startsWith("/")` and a `u.startsWith("//")`
    /// that, read as negated when `flip` (the false branch of `||`), prove `u` a path on this site.
    fn same_site_paths(&self, chain: Node<'t>, op: &str, flip: bool) -> Option<String> {
        let mut parts = Vec::new();
        let mut stack = vec![chain];
        while let Some(n) = stack.pop() {
            let n = strip(n);
            if n.kind() == "binary_expression" && self.op(n) == op && parts.len() < 16 {
                stack.extend(n.child_by_field_name("right"));
                stack.extend(n.child_by_field_name("left"));
            } else {
                parts.push(n);
            }
        }
        // (true parts, parts that are false) of the branch the chain guards
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        for p in parts {
            match self.negated(p) {
                Some(inner) if flip => yes.push(inner),
                Some(inner) => no.push(inner),
                None if flip => no.push(p),
                None => yes.push(p),
            }
        }
        yes.iter()
            .find_map(|y| no.iter().find_map(|n| self.same_site_path(*y, *n)))
    }

    /// `u.startsWith("/")` true and `u.startsWith("//")` (or `"/\\"`) false: the name of `u`.
    fn same_site_path(&self, slash: Node<'t>, double: Node<'t>) -> Option<String> {
        let starts = |call: Node<'t>| -> Option<(String, &'t str)> {
            let call = strip(call);
            let callee = call.child_by_field_name("function")?;
            if call.kind() != "call_expression"
                || callee.kind() != "member_expression"
                || self.text(callee.child_by_field_name("property")?) != "startsWith"
            {
                return None;
            }
            let arg = *Self::args(call).first()?;
            let value = string_value(self.shared.text, strip(arg))?;
            let name = self
                .path_of(callee.child_by_field_name("object")?)
                .join(".");
            Some((name, value))
        };
        let (name, first) = starts(slash)?;
        let (other, second) = starts(double)?;
        (first == "/" && other == name && matches!(second, "//" | "/\\\\")).then_some(name)
    }

    /// What the guard calls of the rules prove when `path(args)` is true.
    fn call_guards(&self, path: &[String], args: &[Node<'t>]) -> Safe {
        let mut safe = Vec::new();
        for (g, mask) in &self.shared.cfg.guards {
            let mut mask = *mask;
            if g.is_new || !g.matches_path(path) {
                continue;
            }
            let guarded = if let Some(hole) = g.path.iter().position(|s| *s == Seg::Hole) {
                // `#.startsWith(...)`: the value is the receiver path up to the hole; a
                // prefix of dots and slashes (`"/"`, `"./"`) names no folder, so it
                // proves nothing about a file path (a same-site URL path it is)
                if args.first().is_some_and(|a| {
                    string_value(self.shared.text, strip(*a))
                        .is_some_and(|v| v.chars().all(|c| matches!(c, '.' | '/' | '\\')))
                }) {
                    mask &= !self.shared.cfg.dot_free;
                }
                // for a redirect the prefix must fix the host: `https://`, `/` (`//evil.com`)
                // and `https://site.com` (`https://site.com.evil.com`) do not
                if args
                    .first()
                    .and_then(|a| self.leading_text(*a))
                    .is_some_and(|v| !fixes_host(&v))
                {
                    mask &= !self.shared.cfg.host_rules;
                }
                (hole + 1 == path.len() - 1).then(|| path[..=hole].join("."))
            } else {
                g.args
                    .as_ref()
                    .and_then(|a| a.first())
                    .and_then(|i| args.get(*i))
                    .map(|a| strip(*a))
                    .filter(|a| is_name_or_member(*a))
                    .filter(|a| !compares_text_only(path) || self.is_normalized(*a))
                    .map(|a| self.path_of(a).join("."))
            };
            if let Some(name) = guarded
                && mask != 0
            {
                safe.push((name, mask));
            }
            // `ALLOWED.includes(new URL(target).hostname)`: an allow-list of hosts fixes where
            // `target` goes, for the sinks where only the host matters
            let host_mask = mask & self.shared.cfg.host_rules;
            if host_mask != 0
                && g.path.iter().all(|s| *s != Seg::Hole)
                && let Some(url) = g
                    .args
                    .as_ref()
                    .and_then(|a| a.first())
                    .and_then(|i| args.get(*i))
                    .and_then(|a| self.host_of(*a))
            {
                safe.push((url, host_mask));
            }
        }
        safe
    }

    /// The URL string whose host `n` reads: `target` of `new URL(target).hostname`,
    /// `url.parse(target).host`, `u.hostname` after `const u = new URL(target)`, `host` after
    /// `const host = new URL(target).host` or `const { hostname } = new URL(target)`.
    fn host_of(&self, n: Node<'t>) -> Option<String> {
        const HOST_FIELDS: &[&str] = &["hostname", "host", "origin"];
        let n = strip(n);
        match n.kind() {
            "member_expression" => {
                let field = n.child_field("property")?;
                if !HOST_FIELDS.contains(&self.text(field)) {
                    return None;
                }
                let object = strip(n.child_field("object")?);
                let parsed = if object.kind() == "identifier" {
                    match self.declared(object)? {
                        (name, value) if name.kind() == "identifier" => value,
                        _ => return None,
                    }
                } else {
                    object
                };
                self.parsed_url(parsed)
            }
            "identifier" => {
                let (name, value) = self.declared(n)?;
                match name.kind() {
                    "identifier" => {
                        let value = strip(value);
                        (value.kind() == "member_expression")
                            .then(|| self.host_of(value))
                            .flatten()
                    }
                    // `const { hostname } = new URL(target)`
                    "object_pattern" if HOST_FIELDS.contains(&self.text(n)) => {
                        self.parsed_url(value)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `target` of `new URL(target)`, `URL.parse(target)`, `url.parse(target, ...)`.
    fn parsed_url(&self, n: Node<'t>) -> Option<String> {
        let n = strip(n);
        let callee = match n.kind() {
            "new_expression" => n.child_field("constructor")?,
            "call_expression" => n.child_field("function")?,
            _ => return None,
        };
        let path = self.path_of(callee);
        let is_parser = match path
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["URL"] => n.kind() == "new_expression",
            ["URL" | "url" | "urlLib" | "urlUtil" | "nodeUrl", "parse"]
            | ["parseUrl" | "urlParse"] => n.kind() == "call_expression",
            _ => false,
        };
        if !is_parser {
            return None;
        }
        let first = strip(*Self::args(n).first()?);
        is_name_or_member(first).then(|| self.path_of(first).join("."))
    }

    /// The declarator of `n`'s name in an enclosing block (`const n = value`, or a pattern
    /// binding it: `const { n } = value`): its name node and value.
    fn declared(&self, n: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
        let name = self.text(n);
        let mut at = n.parent();
        while let Some(block) = at {
            if matches!(block.kind(), "statement_block" | "program") {
                let found = crate::parse::named_children(block)
                    .into_iter()
                    .filter(|s| matches!(s.kind(), "lexical_declaration" | "variable_declaration"))
                    .flat_map(crate::parse::named_children)
                    .find_map(|d| {
                        let target = d.child_field("name")?;
                        let binds = match target.kind() {
                            "identifier" => self.text(target) == name,
                            "object_pattern" => {
                                crate::parse::named_children(target).into_iter().any(|p| {
                                    p.kind() == "shorthand_property_identifier_pattern"
                                        && self.text(p) == name
                                })
                            }
                            _ => false,
                        };
                        binds
                            .then(|| d.child_field("value"))
                            .flatten()
                            .map(|v| (target, v))
                    });
                if found.is_some() {
                    return found;
                }
            }
            at = block.parent();
        }
        None
    }

    /// A call of a same-file helper whose body only returns a condition on its parameters
    /// (`function isInside(p, root) { return p.startsWith(root + path.sep) }`): the call
    /// proves what that condition proves, of the arguments passed.
    fn helper_guard(&self, callee: Node<'t>, args: &[Node<'t>]) -> Option<(Safe, Safe)> {
        let (f, returned) = self.single_return(strip(callee))?;
        let params = crate::parse::function_params(f)
            .into_iter()
            .map(|p| self.text(p))
            .collect::<Vec<_>>();
        let (then, other) = self.guards(returned);
        // a name the condition proves safe, said of the caller's argument in its place
        let rename = |safe: Safe| -> Safe {
            safe.into_iter()
                .filter_map(|(name, mask)| {
                    let (fact, rest) = [FACT_NO_DOTDOT, FACT_RELATIVE]
                        .into_iter()
                        .find_map(|f| name.strip_prefix(f).map(|r| (f, r)))
                        .unwrap_or(("", name.as_str()));
                    let (root, tail) = rest.split_once('.').map_or((rest, ""), |(r, t)| (r, t));
                    let i = params.iter().position(|p| *p == root)?;
                    let arg = strip(*args.get(i)?);
                    if !is_name_or_member(arg) {
                        return None;
                    }
                    let mut out = format!("{fact}{}", self.path_of(arg).join("."));
                    if !tail.is_empty() {
                        out.push('.');
                        out.push_str(tail);
                    }
                    Some((out, mask))
                })
                .collect()
        };
        Some((rename(then), rename(other)))
    }

    /// Evaluates `n` with the names in `safe` cleaned, then restores the state.
    pub(super) fn guarded(&mut self, n: Option<Node<'t>>, safe: &[(String, u64)]) -> Option<Taint> {
        let n = n?;
        if safe.is_empty() {
            return self.eval(n);
        }
        let saved = self.state.clone();
        for (name, mask) in safe {
            self.state.clean(name, *mask);
        }
        let t = self.eval(n);
        self.state = saved;
        t
    }
}

/// Whether a statement always leaves the enclosing block (return, throw, break, continue).
/// `memo` holds earlier answers by node id, so each node is asked about once per file; code
/// nested deeper than [`MAX_NESTING`] below `n` counts as not leaving.
pub(super) fn exits(n: Node<'_>, memo: &RefCell<BTreeMap<usize, bool>>) -> bool {
    exits_within(n, memo, 0)
}

fn exits_within(n: Node<'_>, memo: &RefCell<BTreeMap<usize, bool>>, depth: usize) -> bool {
    if depth >= MAX_NESTING || crate::engine::stack::exhausted() {
        return false;
    }
    if let Some(known) = memo.borrow().get(&n.id()) {
        return *known;
    }
    let deeper = |c: Node<'_>| exits_within(c, memo, depth + 1);
    let answer = match n.kind() {
        "return_statement" | "throw_statement" | "break_statement" | "continue_statement" => true,
        "statement_block" => crate::parse::named_children(n)
            .last()
            .copied()
            .is_some_and(deeper),
        "if_statement" => {
            n.child_field("consequence").is_some_and(deeper)
                && n.child_field("alternative").is_some_and(deeper)
        }
        "else_clause" => n.named_child(0).is_some_and(deeper),
        _ => false,
    };
    memo.borrow_mut().insert(n.id(), answer);
    answer
}

#[cfg(test)]
mod tests {
    use super::inert_pattern;

    #[test]
    fn regex_structure_skips_escapes_and_classes() {
        let chars: Vec<char> = r"(a\)[()|]|(b(c)))|d".chars().collect();
        assert_eq!(super::group_end(&chars, 0), Some(16));
        assert_eq!(super::group_end(&chars, 10), Some(15));
        let alternatives: Vec<&str> = super::super::calls::branches(r"a\||[|]b|(c|d)").collect();
        assert_eq!(alternatives, [r"a\|", "[|]b", "(c|d)"]);
    }

    #[test]
    fn allow_lists_of_inert_characters() {
        assert!(!inert_pattern(r"[\w./\\-]+"));
        assert!(!inert_pattern(r"^[\w./\\-]+"));
        assert!(inert_pattern(r"^[\w./\\-]+$"));
        assert!(inert_pattern(
            r"^([A-Za-z]:[/\\])?(?:[\x2D-9A-Z\\_a-z\xAA]|\uD800[\uDC00-\uDC0B])+$"
        ));
        assert!(inert_pattern(r"^(?!\.)[a-z0-9._-]{1,64}$"));
        // specials through a range, a class, an escape or the wildcard
        assert!(!inert_pattern(r"^[\x20-\x7E]+$"));
        assert!(!inert_pattern(r"^[\w&;|]+$"));
        assert!(!inert_pattern(r"^[\w\s]+$"));
        assert!(!inert_pattern(r"^[^<>]+$"));
        assert!(!inert_pattern(r"^.+$"));
        assert!(!inert_pattern(r"^a$|b"));
        assert!(!inert_pattern(r"^[a-z]+\n$"));
    }
}

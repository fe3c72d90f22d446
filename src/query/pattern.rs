//! A native matcher for the part of the tree-sitter query language that rules use.
//!
//! A tree-sitter `QueryCursor` pays a fixed price on every node of the tree, whatever the
//! patterns: on real code one combined query cost 80% of the parse of the same file. Patterns
//! compiled here are instead tried only at nodes of their root kind, during one walk of the tree
//! shared by every rule ([`Dispatch`]), which is how oxc hands each node to the rules that care
//! about its type.
//!
//! Supported: node patterns `(kind ...)`, `(_)` and `_`, anonymous nodes `"+"`, fields
//! `name: pattern`, negated fields `!name`, anchors `.`, alternations `[...]` and captures
//! `@name`. Anything else (quantifiers, groups, predicates, supertypes, `ERROR`/`MISSING`)
//! returns [`Unsupported`] and the rule runs on a tree-sitter query instead. Matches follow
//! tree-sitter's semantics (child patterns in order, anchors ignore anonymous nodes, wildcards
//! never match `ERROR` nodes, one match per distinct set of captures); `tests/fixtures.rs`
//! proves both paths give the same findings on every fixture.

use std::num::NonZeroU16;

use tree_sitter::{Language, Node};

/// A query this matcher does not handle; the caller falls back to tree-sitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// The captures of one match: (capture id, node), in pre-order.
pub type Captures<'t> = Vec<(u32, Node<'t>)>;

/// The kinds of node a pattern accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A named node of this kind id.
    Named(u16),
    /// An anonymous node of this kind id.
    Anonymous(u16),
    /// `(_)`: any named node.
    AnyNamed,
    /// `_`: any node.
    Any,
}

impl Kind {
    fn accepts(self, node: Node<'_>) -> bool {
        match self {
            Kind::Named(id) | Kind::Anonymous(id) => node.kind_id() == id,
            Kind::AnyNamed => node.is_named() && !node.is_error(),
            Kind::Any => !node.is_error(),
        }
    }
}

#[derive(Debug)]
struct NodePattern {
    kind: Kind,
    children: Vec<Child>,
    /// A `.` after the last child: it must be the last named child.
    last_anchored: bool,
    negated_fields: Vec<NonZeroU16>,
}

#[derive(Debug)]
struct Child {
    field: Option<NonZeroU16>,
    /// A `.` before this child: no named sibling may come between it and the previous one.
    anchored: bool,
    pattern: Pattern,
}

#[derive(Debug)]
enum Shape {
    Node(NodePattern),
    Alternation(Vec<Pattern>),
}

#[derive(Debug)]
struct Pattern {
    shape: Shape,
    captures: Vec<u32>,
}

/// The root kinds a pattern can start at, for dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// Only nodes of these kind ids.
    Kinds(Vec<u16>),
    /// Any node (a wildcard root).
    Any,
}

/// The compiled patterns of one query, in source order (pattern index = position).
#[derive(Debug)]
pub struct Patterns {
    patterns: Vec<Pattern>,
    names: Vec<String>,
}

impl Patterns {
    /// Compiles `source` for `language`, or says why this matcher cannot run it.
    pub fn compile(source: &str, language: &Language) -> Result<Self, Unsupported> {
        let mut parser = Parser {
            src: source,
            pos: 0,
            language,
            names: Vec::new(),
        };
        let mut patterns = Vec::new();
        loop {
            parser.skip_trivia();
            if parser.pos >= source.len() {
                break;
            }
            patterns.push(parser.pattern()?);
        }
        if patterns.is_empty() {
            return Err(Unsupported("empty query".into()));
        }
        Ok(Patterns {
            patterns,
            names: parser.names,
        })
    }

    /// The number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are no patterns (never true for a compiled query).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The name of capture `id`.
    pub fn capture_name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// The kinds pattern `index` can start at.
    pub fn roots(&self, index: usize) -> Roots {
        let mut kinds = Vec::new();
        if collect_roots(&self.patterns[index], &mut kinds) {
            kinds.sort_unstable();
            kinds.dedup();
            Roots::Kinds(kinds)
        } else {
            Roots::Any
        }
    }

    /// Whether every match of every pattern reports its root node: the capture named `wanted`
    /// (or, when no pattern defines it and `fallback_widest`, the widest capture) sits on the
    /// root. Then the nodes a match reports are exactly the nodes it is tried at.
    pub fn reports_root(&self, wanted: &str, fallback_widest: bool) -> bool {
        let Some(id) = self.names.iter().position(|n| n == wanted) else {
            return fallback_widest
                && self
                    .patterns
                    .iter()
                    .all(|p| root_captures(p).iter().all(|c| !c.is_empty()));
        };
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        self.patterns
            .iter()
            .all(|p| root_captures(p).iter().all(|c| c.contains(&id)))
    }

    /// Every distinct match of pattern `index` rooted at `node`, appended to `out`.
    pub fn matches_at<'t>(&self, index: usize, node: Node<'t>, out: &mut Vec<Captures<'t>>) {
        let first = out.len();
        let mut captures = Vec::new();
        match_pattern(&self.patterns[index], node, &mut captures, &mut |c| {
            out.push(c.clone());
        });
        // tree-sitter reports one match per distinct set of captures
        let mut k = first;
        while k < out.len() {
            if out[first..k].iter().any(|seen| same(seen, &out[k])) {
                out.remove(k);
            } else {
                k += 1;
            }
        }
    }
}

fn same(a: &Captures<'_>, b: &Captures<'_>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ia, na), (ib, nb))| ia == ib && na.id() == nb.id())
}

/// The captures on the root node, one set per way the root can match (alternatives).
fn root_captures(pattern: &Pattern) -> Vec<Vec<u32>> {
    match &pattern.shape {
        Shape::Node(_) => vec![pattern.captures.clone()],
        Shape::Alternation(options) => options
            .iter()
            .flat_map(root_captures)
            .map(|mut c| {
                c.extend(&pattern.captures);
                c
            })
            .collect(),
    }
}

/// Adds the root kinds of `pattern`; false when it can start at any node.
fn collect_roots(pattern: &Pattern, kinds: &mut Vec<u16>) -> bool {
    match &pattern.shape {
        Shape::Node(n) => match n.kind {
            Kind::Named(id) | Kind::Anonymous(id) => {
                kinds.push(id);
                true
            }
            Kind::AnyNamed | Kind::Any => false,
        },
        Shape::Alternation(options) => options.iter().all(|o| collect_roots(o, kinds)),
    }
}

type Continue<'k, 't> = &'k mut dyn FnMut(&mut Captures<'t>);

/// Matches `pattern` at `node`, calling `k` once per way it matches.
fn match_pattern<'t>(
    pattern: &Pattern,
    node: Node<'t>,
    caps: &mut Captures<'t>,
    k: Continue<'_, 't>,
) {
    if crate::engine::stack::exhausted() {
        return;
    }
    let mark = caps.len();
    match &pattern.shape {
        Shape::Alternation(options) => {
            for option in options {
                match_pattern(option, node, caps, &mut |caps| {
                    let inner = caps.len();
                    caps.extend(pattern.captures.iter().map(|&c| (c, node)));
                    k(caps);
                    caps.truncate(inner);
                });
            }
        }
        Shape::Node(n) => {
            if !n.kind.accepts(node)
                || n.negated_fields
                    .iter()
                    .any(|&f| node.child_by_field_id(f.get()).is_some())
            {
                return;
            }
            caps.extend(pattern.captures.iter().map(|&c| (c, node)));
            if n.children.is_empty() {
                k(caps);
            } else {
                let mut children = Vec::new();
                let mut cursor = node.walk();
                if cursor.goto_first_child() {
                    loop {
                        children.push((cursor.node(), cursor.field_id()));
                        if !cursor.goto_next_sibling() {
                            break;
                        }
                    }
                }
                match_children(n, &children, 0, None, caps, k);
            }
        }
    }
    caps.truncate(mark);
}

/// Matches child patterns `i..` of `n` against `children` after the one matched at `prev`.
fn match_children<'t>(
    n: &NodePattern,
    children: &[(Node<'t>, Option<NonZeroU16>)],
    i: usize,
    prev: Option<usize>,
    caps: &mut Captures<'t>,
    k: Continue<'_, 't>,
) {
    if crate::engine::stack::exhausted() {
        return;
    }
    let start = prev.map_or(0, |p| p + 1);
    let Some(child) = n.children.get(i) else {
        if n.last_anchored && children[start..].iter().any(|(c, _)| c.is_named()) {
            return;
        }
        k(caps);
        return;
    };
    for j in start..children.len() {
        if child.anchored && children[start..j].iter().any(|(c, _)| c.is_named()) {
            break;
        }
        let (node, field) = children[j];
        if child.field.is_some() && field != child.field {
            continue;
        }
        match_pattern(&child.pattern, node, caps, &mut |caps| {
            match_children(n, children, i + 1, Some(j), caps, k);
        });
    }
}

/// One match site handed to a rule: which rule's pattern matched where.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The owner's index (a rule index for the query analyzer).
    pub owner: usize,
    /// The pattern index within the owner's [`Patterns`].
    pub pattern: usize,
}

/// Patterns of many owners, indexed by root kind for one walk of the tree.
#[derive(Debug, Default)]
pub struct Dispatch {
    by_kind: Vec<Vec<Entry>>,
    any: Vec<Entry>,
}

impl Dispatch {
    /// Registers every pattern of `owner`.
    pub fn add(&mut self, owner: usize, patterns: &Patterns) {
        for pattern in 0..patterns.len() {
            let entry = Entry { owner, pattern };
            match patterns.roots(pattern) {
                Roots::Any => self.any.push(entry),
                Roots::Kinds(kinds) => {
                    for kind in kinds {
                        let kind = usize::from(kind);
                        if self.by_kind.len() <= kind {
                            self.by_kind.resize_with(kind + 1, Vec::new);
                        }
                        self.by_kind[kind].push(entry);
                    }
                }
            }
        }
    }

    /// Whether nothing was registered.
    pub fn is_empty(&self) -> bool {
        self.any.is_empty() && self.by_kind.iter().all(Vec::is_empty)
    }

    /// Walks the tree under `root` in pre-order and calls `visit` with every node and the
    /// entries whose pattern may start there.
    pub fn walk<'t>(&self, root: Node<'t>, mut visit: impl FnMut(Node<'t>, &[Entry])) {
        let mut cursor = root.walk();
        loop {
            let node = cursor.node();
            if !self.any.is_empty() {
                visit(node, &self.any);
            }
            if let Some(entries) = self.by_kind.get(usize::from(node.kind_id()))
                && !entries.is_empty()
            {
                visit(node, entries);
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }
}

/// A recursive-descent reader of query text.
struct Parser<'s, 'l> {
    src: &'s str,
    pos: usize,
    language: &'l Language,
    names: Vec<String>,
}

impl Parser<'_, '_> {
    fn unsupported<T>(&self, what: &str) -> Result<T, Unsupported> {
        Err(Unsupported(format!("{what} at byte {}", self.pos)))
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_trivia(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if c == ';' {
                self.pos = self.src[self.pos..]
                    .find('\n')
                    .map_or(self.src.len(), |n| self.pos + n);
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_trivia();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn identifier(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        &self.src[start..self.pos]
    }

    /// A pattern with its captures; quantifiers are not supported.
    fn pattern(&mut self) -> Result<Pattern, Unsupported> {
        self.skip_trivia();
        let shape = match self.peek() {
            Some('(') => {
                self.pos += 1;
                self.node_pattern()?
            }
            Some('[') => {
                self.pos += 1;
                let mut options = Vec::new();
                while !self.eat(']') {
                    if self.pos >= self.src.len() {
                        return self.unsupported("unclosed `[`");
                    }
                    options.push(self.pattern()?);
                }
                if options.is_empty() {
                    return self.unsupported("empty alternation");
                }
                Shape::Alternation(options)
            }
            Some('"') => {
                let literal = self.string()?;
                let id = self.language.id_for_node_kind(&literal, false);
                if id == 0 {
                    return self.unsupported("unknown anonymous node");
                }
                Shape::Node(NodePattern {
                    kind: Kind::Anonymous(id),
                    children: Vec::new(),
                    last_anchored: false,
                    negated_fields: Vec::new(),
                })
            }
            Some('_') => {
                self.pos += 1;
                Shape::Node(NodePattern {
                    kind: Kind::Any,
                    children: Vec::new(),
                    last_anchored: false,
                    negated_fields: Vec::new(),
                })
            }
            _ => return self.unsupported("unexpected token"),
        };
        self.skip_trivia();
        if matches!(self.peek(), Some('?' | '*' | '+')) {
            return self.unsupported("quantifier");
        }
        let mut captures = Vec::new();
        while self.eat('@') {
            let name = self.identifier().to_string();
            if name.is_empty() {
                return self.unsupported("empty capture name");
            }
            let id = if let Some(id) = self.names.iter().position(|n| *n == name) {
                id
            } else {
                self.names.push(name);
                self.names.len() - 1
            };
            captures.push(u32::try_from(id).map_err(|_| Unsupported("too many captures".into()))?);
            self.skip_trivia();
        }
        if matches!(self.peek(), Some('?' | '*' | '+')) {
            return self.unsupported("quantifier");
        }
        Ok(Pattern { shape, captures })
    }

    /// The rest of `(kind children...)` after the `(`.
    fn node_pattern(&mut self) -> Result<Shape, Unsupported> {
        self.skip_trivia();
        let kind = match self.peek() {
            Some('_')
                if !self.src[self.pos + 1..]
                    .starts_with(|c: char| c.is_alphanumeric() || c == '_') =>
            {
                self.pos += 1;
                Kind::AnyNamed
            }
            Some(c) if c.is_alphanumeric() || c == '_' => {
                let name = self.identifier().to_string();
                if matches!(name.as_str(), "ERROR" | "MISSING") {
                    return self.unsupported("ERROR/MISSING patterns");
                }
                let id = self.language.id_for_node_kind(&name, true);
                if id == 0 {
                    return self.unsupported("unknown node kind");
                }
                if self.language.node_kind_is_supertype(id) {
                    return self.unsupported("supertype");
                }
                Kind::Named(id)
            }
            _ => return self.unsupported("group, predicate or anonymous node in parentheses"),
        };
        self.skip_trivia();
        if self.peek() == Some('/') {
            return self.unsupported("supertype path");
        }
        let mut children = Vec::new();
        let mut negated_fields = Vec::new();
        let mut anchored = false;
        let mut last_anchored = false;
        loop {
            self.skip_trivia();
            match self.peek() {
                None => return self.unsupported("unclosed `(`"),
                Some(')') => {
                    self.pos += 1;
                    last_anchored = last_anchored || anchored;
                    break;
                }
                Some('.') => {
                    self.pos += 1;
                    anchored = true;
                }
                Some('!') => {
                    self.pos += 1;
                    let name = self.identifier().to_string();
                    let Some(field) = self.language.field_id_for_name(&name) else {
                        return self.unsupported("unknown field");
                    };
                    negated_fields.push(field);
                }
                Some('#') => return self.unsupported("predicate"),
                Some(c) if c.is_alphanumeric() || c == '_' => {
                    let save = self.pos;
                    let name = self.identifier().to_string();
                    self.skip_trivia();
                    let field = if self.peek() == Some(':') {
                        self.pos += 1;
                        let Some(field) = self.language.field_id_for_name(&name) else {
                            return self.unsupported("unknown field");
                        };
                        Some(field)
                    } else {
                        // a bare `_` child
                        self.pos = save;
                        None
                    };
                    let pattern = self.pattern()?;
                    children.push(Child {
                        field,
                        anchored: std::mem::take(&mut anchored),
                        pattern,
                    });
                }
                Some(_) => {
                    let pattern = self.pattern()?;
                    children.push(Child {
                        field: None,
                        anchored: std::mem::take(&mut anchored),
                        pattern,
                    });
                }
            }
        }
        Ok(Shape::Node(NodePattern {
            kind,
            children,
            last_anchored,
            negated_fields,
        }))
    }

    fn string(&mut self) -> Result<String, Unsupported> {
        // at the opening quote
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, '0')) => out.push('\0'),
                    Some((_, c)) => out.push(c),
                    None => break,
                },
                c => out.push(c),
            }
        }
        self.unsupported("unclosed string")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{self, Grammar};

    fn matches(query: &str, code: &str) -> Vec<String> {
        let language = Grammar::JavaScript.language();
        let patterns = Patterns::compile(query, &language).expect("supported");
        let tree = parse::parse(Grammar::JavaScript, code).expect("parses");
        let mut dispatch = Dispatch::default();
        dispatch.add(0, &patterns);
        let mut out = Vec::new();
        dispatch.walk(tree.root_node(), |node, entries| {
            for e in entries {
                let mut found = Vec::new();
                patterns.matches_at(e.pattern, node, &mut found);
                for caps in found {
                    let text: Vec<String> = caps
                        .iter()
                        .map(|(id, n)| {
                            format!("{}={}", patterns.capture_name(*id), &code[n.byte_range()])
                        })
                        .collect();
                    out.push(text.join(" "));
                }
            }
        });
        out
    }

    #[test]
    fn matches_fields_anchors_and_alternations() {
        let q = "(call_expression function: (identifier) @fn \
                 arguments: (arguments . [(string) (template_string)] @first)) @hit";
        assert_eq!(
            matches(q, "f('a', 'b'); g(x, 'c');"),
            vec!["hit=f('a', 'b') fn=f first='a'"]
        );
        let q = r"(arguments (string) @s)";
        assert_eq!(matches(q, "f('a', x, 'b')"), vec!["s='a'", "s='b'"]);
        let q = r"(arguments (_) @last .)";
        assert_eq!(matches(q, "f(a, b)"), vec!["last=b"]);
        let q = r#"(binary_expression operator: ["===" "=="] right: (_) @r)"#;
        assert_eq!(matches(q, "a === b; c + d; e == f"), vec!["r=b", "r=f"]);
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        let language = Grammar::JavaScript.language();
        for q in [
            "(identifier)* @x",
            "((identifier) @a (#eq? @a \"x\"))",
            "(expression) @e",
            "(ERROR) @e",
            "(identifier @x",
        ] {
            assert!(Patterns::compile(q, &language).is_err(), "{q}");
        }
    }
}

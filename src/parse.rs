//! Tree-sitter languages and per-thread parsers for JavaScript, TypeScript and TSX.
//!
//! Each worker thread keeps one parser per grammar (built on first use), so the hot path shares
//! nothing. A parser is reset after every parse, so a failed or cancelled parse cannot leak state
//! into the next file.

use std::cell::RefCell;
use std::num::NonZeroU16;

use tree_sitter::{Language, Node, Parser, Tree};

use crate::discover::FileKind;

/// The three grammars vibeward parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grammar {
    /// tree-sitter-javascript (includes JSX).
    JavaScript,
    /// tree-sitter-typescript's `typescript`.
    TypeScript,
    /// tree-sitter-typescript's `tsx`.
    Tsx,
}

impl Grammar {
    /// Every grammar, in a fixed order (index = `as usize`).
    pub const ALL: [Grammar; 3] = [Grammar::JavaScript, Grammar::TypeScript, Grammar::Tsx];

    /// The grammar for a file kind, if it is code.
    pub fn for_kind(kind: FileKind) -> Option<Grammar> {
        match kind {
            FileKind::Js => Some(Grammar::JavaScript),
            FileKind::Ts => Some(Grammar::TypeScript),
            FileKind::Tsx => Some(Grammar::Tsx),
            _ => None,
        }
    }

    /// The grammars a rule targeting `kind` needs queries compiled for.
    pub fn for_rule_kind(kind: FileKind) -> &'static [Grammar] {
        match kind {
            FileKind::Js => &[Grammar::JavaScript],
            FileKind::Ts => &[Grammar::TypeScript, Grammar::Tsx],
            FileKind::Tsx => &[Grammar::Tsx],
            FileKind::Any => &Grammar::ALL,
            _ => &[],
        }
    }

    /// The tree-sitter language.
    pub fn language(self) -> Language {
        match self {
            Grammar::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Grammar::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Grammar::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }

    /// Index into per-grammar arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

thread_local! {
    static PARSERS: RefCell<[Option<Parser>; 3]> = const { RefCell::new([None, None, None]) };
}

/// Parses `text` with this thread's parser for `grammar`. `None` only if tree-sitter gives up
/// (it returns a tree with error nodes for ordinary syntax errors).
pub fn parse(grammar: Grammar, text: &str) -> Option<Tree> {
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let slot = &mut parsers[grammar.index()];
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&grammar.language()).ok()?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut()?;
        let tree = parser.parse(text, None);
        parser.reset();
        tree
    })
}

/// The field ids of one grammar by field name, as looked up so far.
type FieldIds = Vec<(Box<str>, Option<NonZeroU16>)>;

thread_local! {
    /// Field ids by grammar and field name, for [`ChildField::child_field`].
    static FIELD_IDS: RefCell<Vec<(Language, FieldIds)>> =
        const { RefCell::new(Vec::new()) };
}

/// `child_field(name)`: what tree-sitter's `child_by_field_name(name)` returns, with the field's
/// id looked up once per thread and grammar. Tree-sitter finds the id by comparing `name` with
/// each of the grammar's field names on every call, 2% of a scan of parse-server's package, most
/// of it in the taint walk (issue 22).
pub trait ChildField<'t> {
    /// The first child in the field `name`, if any.
    fn child_field(&self, name: &str) -> Option<Node<'t>>;
}

impl<'t> ChildField<'t> for Node<'t> {
    fn child_field(&self, name: &str) -> Option<Node<'t>> {
        let language = self.language();
        let id = FIELD_IDS.with(|ids| {
            let mut ids = ids.borrow_mut();
            let at = if let Some(at) = ids.iter().position(|(l, _)| *l == *language) {
                at
            } else {
                ids.push(((*language).clone(), Vec::new()));
                ids.len() - 1
            };
            let names = &mut ids[at].1;
            if let Some((_, id)) = names.iter().find(|(n, _)| **n == *name) {
                return *id;
            }
            let id = language.field_id_for_name(name);
            names.push((name.into(), id));
            id
        })?;
        self.child_by_field_id(id.get())
    }
}

/// The text of `node` (from the file's `text`) with every byte of every comment inside it
/// replaced by a space, line breaks kept: byte offsets stay valid, and a regex or a word search
/// sees only code (`// app.use(csrf())` does not count as a defence).
pub fn code_text(node: Node<'_>, text: &str) -> String {
    let range = node.byte_range();
    let Some(mut code) = text.get(range.clone()).map(|t| t.as_bytes().to_vec()) else {
        return String::new();
    };
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind().ends_with("comment") {
            let span = n.start_byte().saturating_sub(range.start)..n.end_byte() - range.start;
            for b in code.get_mut(span).into_iter().flatten() {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
            continue;
        }
        let mut cursor = n.walk();
        stack.extend(n.children(&mut cursor));
    }
    // every byte of a comment became a space, so multi-byte characters went whole
    String::from_utf8(code).unwrap_or_default()
}

/// The named children of `node` without comments (which tree-sitter places anywhere as extras).
pub fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .collect()
}

/// The parameter nodes of a function: `x => ...` has one `parameter`, others a `parameters` list.
pub fn function_params(function: Node<'_>) -> Vec<Node<'_>> {
    if let Some(p) = function.child_field("parameter") {
        return vec![p];
    }
    function
        .child_field("parameters")
        .map(named_children)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_grammar() {
        for (grammar, code) in [
            (Grammar::JavaScript, "const a = <div>{x}</div>;"),
            (Grammar::TypeScript, "const a: number = 1;"),
            (Grammar::Tsx, "const a = <A<string>> prop={1} />;"),
        ] {
            let tree = parse(grammar, code).expect("parses");
            assert_eq!(tree.root_node().kind(), "program");
        }
    }
}

//! Small helpers over JavaScript/TypeScript syntax trees shared by the platform checks.

use crate::parse::ChildField;
use tree_sitter::Node;

/// The text of `node` in `text`.
pub fn text<'t>(node: Node<'_>, text: &'t str) -> &'t str {
    text.get(node.byte_range()).unwrap_or("")
}

/// Calls `f` on every node under `root` (pre-order, iterative).
pub fn walk<'t>(root: Node<'t>, mut f: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        f(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node() == root {
                return;
            }
        }
    }
}

/// Every named node of a file's tree in pre-order, collected by one walk: checks that look for
/// nodes of some kinds across the whole file filter this list instead of walking the tree again
/// (several whole-tree walks per file were a tenth of a scan's time on Parse-heavy code). Only
/// named nodes: every check looks for named kinds, and the punctuation and keywords were half the
/// list (32 bytes a node: 33 MiB for a 2 MB bundle, issue 22).
#[derive(Debug)]
pub struct Index<'t> {
    root: Node<'t>,
    nodes: Vec<Node<'t>>,
}

impl<'t> Index<'t> {
    /// Walks the tree under `root` once.
    pub fn new(root: Node<'t>) -> Self {
        let mut nodes = Vec::new();
        walk(root, |n| {
            if n.is_named() {
                nodes.push(n);
            }
        });
        Index { root, nodes }
    }

    /// The root the index was built from.
    pub fn root(&self) -> Node<'t> {
        self.root
    }

    /// Every named node, in pre-order.
    pub fn nodes(&self) -> &[Node<'t>] {
        &self.nodes
    }

    /// Calls `f` on every named node, in pre-order (what [`walk`] does from the root, without
    /// the anonymous nodes).
    pub fn walk(&self, mut f: impl FnMut(Node<'t>)) {
        for &n in &self.nodes {
            f(n);
        }
    }

    /// Every node of one of `kinds`, in pre-order (what [`nodes_of`] gives for the root).
    pub fn of(&self, kinds: &[&str]) -> Vec<Node<'t>> {
        // kind ids, not names: `Node::kind` looks the name up for every node
        let language = self.root.language();
        let ids: Vec<u16> = kinds
            .iter()
            .map(|k| language.id_for_node_kind(k, true))
            .collect();
        self.nodes
            .iter()
            .copied()
            .filter(|n| ids.contains(&n.kind_id()))
            .collect()
    }

    /// [`declarations`] of the whole file.
    pub fn declarations(&self, src: &str) -> Vec<(String, Node<'t>)> {
        declarations_among(self.of(&["variable_declarator"]), src)
    }
}

/// Every node of `kind` under `root`.
pub fn nodes_of<'t>(root: Node<'t>, kinds: &[&str]) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    walk(root, |n| {
        if kinds.contains(&n.kind()) {
            found.push(n);
        }
    });
    found
}

/// The value of a string literal node (`'x'`, `"x"`, or a template without substitutions).
pub fn string_value<'t>(node: Node<'_>, src: &'t str) -> Option<&'t str> {
    match node.kind() {
        "string" => {
            let t = text(node, src);
            t.get(1..t.len().saturating_sub(1))
        }
        "template_string" if node.named_child_count() == 0 || !text(node, src).contains("${") => {
            let t = text(node, src);
            t.get(1..t.len().saturating_sub(1))
        }
        _ => None,
    }
}

/// The callee text of a call or `new` expression.
pub fn callee<'t>(call: Node<'_>, src: &'t str) -> &'t str {
    call.child_field("function")
        .or_else(|| call.child_field("constructor"))
        .map_or("", |c| text(c, src))
}

/// The argument nodes of a call or `new` expression.
pub fn arguments(call: Node<'_>) -> Vec<Node<'_>> {
    call.child_field("arguments")
        .map(crate::parse::named_children)
        .unwrap_or_default()
}

/// The method name of a call `x.name(...)`.
pub fn method_name<'t>(call: Node<'_>, src: &'t str) -> Option<&'t str> {
    let f = call.child_field("function")?;
    (f.kind() == "member_expression")
        .then(|| f.child_field("property"))
        .flatten()
        .map(|p| text(p, src))
}

/// The receiver text of a call `receiver.name(...)`.
pub fn receiver(call: Node<'_>) -> Option<Node<'_>> {
    let f = call.child_field("function")?;
    (f.kind() == "member_expression")
        .then(|| f.child_field("object"))
        .flatten()
}

/// The key of an object `pair` without quotes.
pub fn pair_key<'t>(pair: Node<'_>, src: &'t str) -> &'t str {
    pair.child_field("key")
        .map_or("", |k| string_value(k, src).unwrap_or_else(|| text(k, src)))
}

/// The `pair` of an object literal with this key.
pub fn property<'t>(object: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    let mut c = object.walk();
    object
        .named_children(&mut c)
        .find(|p| p.kind() == "pair" && pair_key(*p, src) == key)
}

/// Whether an object literal has a property or shorthand property `key`.
pub fn has_property(object: Node<'_>, key: &str, src: &str) -> bool {
    let mut c = object.walk();
    object.named_children(&mut c).any(|p| match p.kind() {
        "pair" => pair_key(p, src) == key,
        "shorthand_property_identifier" => text(p, src) == key,
        _ => false,
    })
}

/// The nearest ancestor (or self) of one of `kinds`.
pub fn ancestor<'t>(node: Node<'t>, kinds: &[&str]) -> Option<Node<'t>> {
    let mut cur = Some(node);
    while let Some(n) = cur {
        if kinds.contains(&n.kind()) {
            return Some(n);
        }
        cur = n.parent();
    }
    None
}

/// Function-like node kinds.
pub const FUNCTIONS: [&str; 5] = [
    "function_declaration",
    "function_expression",
    "arrow_function",
    "method_definition",
    "generator_function_declaration",
];

/// The binding of `const name = <init>` for every `name` in the subtree, as (name, init).
pub fn declarations<'t>(root: Node<'t>, src: &str) -> Vec<(String, Node<'t>)> {
    declarations_among(nodes_of(root, &["variable_declarator"]), src)
}

fn declarations_among<'t>(declarators: Vec<Node<'t>>, src: &str) -> Vec<(String, Node<'t>)> {
    declarators
        .into_iter()
        .filter_map(|d| {
            let name = d.child_field("name")?;
            let value = d.child_field("value")?;
            (name.kind() == "identifier").then(|| (text(name, src).to_string(), value))
        })
        .collect()
}

/// Strips `await` and parentheses around an expression.
pub fn unwrap_expr(mut node: Node<'_>) -> Node<'_> {
    while matches!(
        node.kind(),
        "await_expression" | "parenthesized_expression" | "as_expression" | "non_null_expression"
    ) {
        let Some(inner) = node.named_child(0) else {
            break;
        };
        node = inner;
    }
    node
}

//! The native pattern matcher gives exactly tree-sitter's matches: every builtin query, over every
//! JS/TS fixture, compared capture by capture (before `where` constraints, so far more matches
//! are compared than findings reported).

use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCursor, Tree};
use vibeward::parse::{self, Grammar};
use vibeward::query::pattern::{Dispatch, Patterns};
use vibeward::rules::{Matcher, load_builtin_rules};

fn fixture_trees() -> Vec<(Grammar, Tree, String)> {
    let mut trees = Vec::new();
    for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        let grammar = match entry.path().extension().and_then(|e| e.to_str()) {
            Some("js" | "mjs" | "cjs" | "jsx") => Grammar::JavaScript,
            Some("ts" | "mts" | "cts") => Grammar::TypeScript,
            Some("tsx") => Grammar::Tsx,
            _ => continue,
        };
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some(tree) = parse::parse(grammar, &text) {
            trees.push((grammar, tree, text));
        }
    }
    trees
}

fn tree_sitter_matches(query: &Query, tree: &Tree, text: &str) -> Vec<String> {
    let mut cursor = QueryCursor::new();
    let mut out = Vec::new();
    let mut matches = cursor.matches(query, tree.root_node(), text.as_bytes());
    while let Some(m) = matches.next() {
        let mut caps: Vec<String> = m
            .captures()
            .iter()
            .map(|c| {
                let name = query.capture_names()[c.index as usize];
                format!("{name}={:?}", c.node.byte_range())
            })
            .collect();
        caps.sort();
        out.push(format!("{} {}", m.pattern_index, caps.join(",")));
    }
    out.sort();
    out
}

fn native_matches(patterns: &Patterns, tree: &Tree) -> Vec<String> {
    let mut dispatch = Dispatch::default();
    dispatch.add(0, patterns);
    let mut out = Vec::new();
    let mut found = Vec::new();
    dispatch.walk(tree.root_node(), |node, entries| {
        for entry in entries {
            found.clear();
            patterns.matches_at(entry.pattern, node, &mut found);
            for captures in &found {
                let mut caps: Vec<String> = captures
                    .iter()
                    .map(|(id, n)| format!("{}={:?}", patterns.capture_name(*id), n.byte_range()))
                    .collect();
                caps.sort();
                out.push(format!("{} {}", entry.pattern, caps.join(",")));
            }
        }
    });
    out.sort();
    out
}

#[test]
fn native_matches_equal_tree_sitter_matches_on_every_fixture() {
    let trees = fixture_trees();
    assert!(trees.len() > 50, "fixtures found: {}", trees.len());
    let mut compared = 0;
    let mut differences = Vec::new();
    for rule in load_builtin_rules().expect("rules load") {
        let Matcher::Query(matcher) = &rule.matcher else {
            continue;
        };
        for grammar in Grammar::ALL {
            let language = grammar.language();
            let Ok(query) = Query::new(&language, &matcher.source) else {
                continue;
            };
            let patterns =
                Patterns::compile(&matcher.source, &language).expect("builtin queries are native");
            for (_, tree, text) in trees.iter().filter(|t| t.0 == grammar) {
                let expected = tree_sitter_matches(&query, tree, text);
                compared += expected.len();
                let actual = native_matches(&patterns, tree);
                if actual != expected {
                    differences.push(format!(
                        "{} on {grammar:?}: tree-sitter {expected:?}, native {actual:?}",
                        rule.id
                    ));
                }
            }
        }
    }
    assert!(compared > 1000, "only {compared} matches compared");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn handles_anchors_comments_and_errors_like_tree_sitter() {
    let language = Grammar::JavaScript.language();
    let code = "f(/* c */ a, b /* d */); g(a,, b); obj = { k: 1, /* x */ m: 2 }; x === (y ==";
    let tree = parse::parse(Grammar::JavaScript, code).expect("parses");
    for source in [
        "(arguments . (_) @first)",
        "(arguments (_) @last .)",
        "(arguments . (identifier) @a . (identifier) @b)",
        "(object (pair) @a . (pair) @b)",
        "(_ (identifier) @id)",
        "(binary_expression operator: _ @op) @b",
        "[(identifier) (number)] @leaf",
        "(call_expression !arguments) @c",
    ] {
        let query = Query::new(&language, source).expect("compiles");
        let patterns = Patterns::compile(source, &language).expect("native");
        assert_eq!(
            native_matches(&patterns, &tree),
            tree_sitter_matches(&query, &tree, code),
            "{source}"
        );
    }
}

//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and every crash or hang input
//! found so far (`fuzz/regressions/<target>/`) through the same harness the cargo-fuzz targets use
//! (`fuzz/harness.rs`), on stable, in `cargo test`. A crash input is added as a file under
//! `fuzz/regressions/<target>/`; this test then keeps it fixed.

#![allow(dead_code, clippy::print_stderr)]

use std::path::Path;
use std::time::{Duration, Instant};

include!("../fuzz/harness.rs");

/// A single input may not take longer than this (debug build, loaded machine): a hang is a bug.
const PER_INPUT: Duration = Duration::from_secs(20);

/// The stack each input is replayed on (bytes).
const REPLAY_STACK: usize = 2 << 20;

/// A fuzz target: one input, panics on failure.
type Target = fn(&[u8]);

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).expect("corpus file readable");
            let started = Instant::now();
            // on a 2 MB stack, Rust's default for spawned threads and far below the engine's
            // worker stack: every walk over a syntax tree is bounded, so a library caller's own
            // thread scans deep inputs too (fuzz/regressions/scan_js/, debug build)
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .stack_size(REPLAY_STACK)
                    .spawn_scoped(scope, || run(&data))
                    .expect("spawn")
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            });
            let took = started.elapsed();
            assert!(took < PER_INPUT, "{}: took {took:?}", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn scan_js_corpus_replays() {
    assert!(
        replay("scan_js", fuzz_scan_js) > 0,
        "scan_js corpus present"
    );
}

#[test]
fn scan_content_corpus_replays() {
    assert!(
        replay("scan_content", fuzz_scan_content) > 0,
        "scan_content corpus present"
    );
}

#[test]
fn lockfiles_corpus_replays() {
    assert!(
        replay("lockfiles", fuzz_lockfiles) > 0,
        "lockfiles corpus present"
    );
}

#[test]
fn rule_yaml_corpus_replays() {
    assert!(
        replay("rule_yaml", fuzz_rule_yaml) > 0,
        "rule_yaml corpus present"
    );
}

/// A small xorshift generator: the stable mutation loop needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

/// Tokens worth splicing into inputs: delimiters that nest, quotes, and words that trigger rules.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"(",
    b")",
    b"[",
    b"]",
    b"`${",
    b"'",
    b"\"",
    b"/*",
    b"*/",
    b"//",
    b"\n",
    b"\\",
    b"req.query.a",
    b"db.query(",
    b"+",
    b"if (x) {",
    b"=>",
    b"allow read: if ",
    b"match /a/{b} {",
    b"\".read\": true",
    b"CREATE TABLE t (",
    b"ENABLE ROW LEVEL SECURITY",
    b"KEY=",
    b"\xff",
    b"\0",
    b"\xe2\x80\xae",
    b"version",
    b": ",
    b"- ",
    b"[[package]]",
    b"sk_live_",
    b"Parse.Cloud.define(",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
            1 if !input.is_empty() => {
                let end = (at + rng.below(64)).min(input.len());
                input.drain(at.min(end)..end);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                let most = if rng.below(8) == 0 { 2_000 } else { 4 };
                let times = 1 + rng.below(most);
                let splice: Vec<u8> = token.repeat(times);
                input.splice(at..at, splice);
            }
            3 if !input.is_empty() => {
                let start = rng.below(input.len());
                let end = (start + rng.below(256)).min(input.len());
                let copy = input[start..end].to_vec();
                input.splice(at..at, copy);
            }
            _ => input.insert(at, TOKENS[rng.below(TOKENS.len())][0]),
        }
    }
    input.truncate(64 * 1024);
}

/// A time-boxed random mutation of the committed corpora, on stable: not coverage-guided like
/// cargo-fuzz, but it runs anywhere. `VIBEWARD_MUTATE_SECS` (default 10) per target, the seed in
/// `VIBEWARD_MUTATE_SEED`. A failing input is printed by the harness's assertion; save it under
/// `fuzz/regressions/<target>/`.
#[test]
#[ignore = "time-boxed random mutation; run with --ignored"]
fn mutated_corpora_do_not_fail() {
    let secs = std::env::var("VIBEWARD_MUTATE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed = std::env::var("VIBEWARD_MUTATE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64);
    let targets: [(&str, Target); 4] = [
        ("scan_js", fuzz_scan_js),
        ("scan_content", fuzz_scan_content),
        ("lockfiles", fuzz_lockfiles),
        ("rule_yaml", fuzz_rule_yaml),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    // the engine's worker stack; `VIBEWARD_MUTATE_STACK` (bytes) to try a caller's smaller one
    let stack = std::env::var("VIBEWARD_MUTATE_STACK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64 << 20);
    let last = std::env::temp_dir().join("vibeward-mutate-last.bin");
    for (target, run) in targets {
        eprintln!(
            "{target}: mutating (the input being run is kept in {})",
            last.display()
        );
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(root.join(target))
            .expect("corpus folder")
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .collect();
        seeds.sort();
        let mut rng = Rng(seed ^ target.len() as u64);
        let started = Instant::now();
        let mut runs = 0u64;
        let mut slowest = Duration::ZERO;
        while started.elapsed() < Duration::from_secs(secs) {
            let mut input = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &mut input);
            // a stack overflow aborts the process: keep the input that caused it
            let _ = std::fs::write(&last, &input);
            let one = Instant::now();
            // on the engine's worker stack, as in a real scan
            let took = std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .stack_size(stack)
                    .spawn_scoped(scope, || {
                        run(&input);
                        one.elapsed()
                    })
                    .expect("spawn")
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            slowest = slowest.max(took);
            assert!(
                took < PER_INPUT,
                "{target}: input took {took:?}: {:?}",
                String::from_utf8_lossy(&input)
            );
            runs += 1;
        }
        eprintln!("{target}: {runs} mutated inputs in {secs} s, slowest {slowest:?}");
    }
}

/// `open` repeated `depth` times, then `inner`, then `close` repeated `depth` times.
fn nest(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let mut s = open.repeat(depth);
    s.push_str(inner);
    s.push_str(&close.repeat(depth));
    s
}

/// Every construct that nests in a syntax tree, thousands deep, through the JS/TS scan and the
/// content readers on a 2 MB stack (like the regression input, but one per construct): each
/// recursive walk stops at the engine's stack budget with a `too-deep` note instead of
/// overflowing the stack.
#[test]
fn deeply_nested_constructs_scan_on_a_2mb_stack() {
    const DEPTH: usize = 3_000;
    let leaf = "req.query.q";
    let js: Vec<(&str, String)> = vec![
        ("assignment", nest("a = ", leaf, "", DEPTH)),
        ("paren", nest("(", leaf, ")", DEPTH)),
        ("array", nest("[", leaf, "]", DEPTH)),
        ("object", nest("{a: ", leaf, "}", DEPTH)),
        ("call", nest("f(", leaf, ")", DEPTH)),
        ("method", nest("db.query(", leaf, ")", DEPTH)),
        ("member", format!("{leaf}{}", ".a".repeat(DEPTH))),
        ("subscript", format!("{leaf}{}", "[k]".repeat(DEPTH))),
        ("binary", format!("{leaf}{}", " + a".repeat(DEPTH))),
        ("binary-right", nest("a + (", leaf, ")", DEPTH)),
        ("ternary", nest("c ? ", leaf, " : d", DEPTH)),
        ("arrow", nest("() => ", leaf, "", DEPTH)),
        (
            "function",
            nest("function (req) { return ", leaf, "; }", DEPTH),
        ),
        ("await", nest("await ", leaf, "", DEPTH)),
        ("new", nest("new ", "X(req.query.q)", "", DEPTH)),
        ("unary", nest("!", leaf, "", DEPTH)),
        ("typeof", nest("typeof ", leaf, "", DEPTH)),
        ("template", nest("`${", leaf, "}`", DEPTH)),
        ("spread", nest("[...", leaf, "]", DEPTH)),
        ("jsx", nest("<div>{", leaf, "}</div>", DEPTH)),
        ("as", format!("{leaf}{}", " as any".repeat(DEPTH))),
        (
            "chain",
            format!("res{}.send({leaf})", ".status(200)".repeat(DEPTH)),
        ),
        ("sequence", nest("(a, ", leaf, ")", DEPTH)),
        (
            "statements",
            nest(
                "if (x) { while (y) { ",
                &format!("db.query({leaf});"),
                " } }",
                DEPTH,
            ),
        ),
        (
            "blocks",
            nest("{ ", &format!("db.query({leaf});"), " }", DEPTH),
        ),
        (
            "try",
            nest(
                "try { ",
                &format!("db.query({leaf});"),
                " } catch (e) {}",
                DEPTH,
            ),
        ),
        (
            "class",
            nest(
                "class A { m(req) { ",
                &format!("db.query({leaf});"),
                " } }",
                DEPTH,
            ),
        ),
        (
            "destructure",
            nest("{a: ", "b", "}", DEPTH) + " = req.query",
        ),
        (
            "generic",
            format!("let t: {} = {leaf}", nest("A<", "B", ">", DEPTH)),
        ),
    ];
    let mut inputs = Vec::new();
    for (name, expr) in &js {
        let file = format!(
            "const express = require(\"express\");\nconst app = express();\napp.get(\"/x\", async (req, res) => {{\n  const v = {expr};\n  db.query(v);\n  res.send(v);\n}});\nmodule.exports = {{ a: {expr} }};\n"
        );
        for dialect in 0..5u8 {
            let mut data = vec![dialect];
            data.extend_from_slice(file.as_bytes());
            inputs.push((format!("js {name} ({dialect})"), data));
        }
    }
    // the inputs are independent: one replay thread per core shares them out
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((what, data)) =
                    inputs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    on_replay_stack(what, || fuzz_scan_js(data));
                }
            });
        }
    });
    // the regression input: the taint walk stops at the budget and says so
    let data = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/scan_js/deep-assignment-chain-overflows-2mb-stack.bin"),
    )
    .expect("regression input");
    let mut reasons = Vec::new();
    on_replay_stack("regression", || {
        let file = vibeward::source::SourceFile::new(
            "src/server.js",
            vibeward::discover::FileKind::Js,
            String::from_utf8_lossy(&data[1..]).into_owned(),
        );
        let (_, notes) = fuzz_scanner().scan_file(file);
        reasons = notes.iter().map(|n| n.reason.as_str()).collect();
    });
    if cfg!(debug_assertions) {
        assert!(reasons.contains(&"too-deep"), "{reasons:?}");
    }
    let content: Vec<(u8, String)> = vec![
        (
            4,
            nest("match /a/{b} { ", "allow read: if true;", " }", DEPTH),
        ),
        (
            4,
            format!(
                "match /x {{ allow read: if {}; }}",
                nest("(", "true", ")", DEPTH)
            ),
        ),
        (6, nest("{\"a\": ", "{\".read\": true}", "}", DEPTH)),
        (2, format!("SELECT {};", nest("(", "1", ")", DEPTH))),
        (8, nest("[", "1", "]", DEPTH)),
        (8, format!("a = {}", nest("{b = ", "1", "}", DEPTH))),
        (10, nest("- ", "a", "", DEPTH)),
        (10, nest("[", "a", "]", DEPTH)),
        (12, nest("{\"a\": ", "1", "}", DEPTH)),
    ];
    for (selector, text) in &content {
        let mut data = vec![*selector];
        data.extend_from_slice(text.as_bytes());
        on_replay_stack(&format!("content {selector}"), || fuzz_scan_content(&data));
    }
}

/// Runs `f` on a thread with the replay stack.
fn on_replay_stack(what: &str, f: impl FnOnce() + Send) {
    let started = Instant::now();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(REPLAY_STACK)
            .spawn_scoped(scope, f)
            .expect("spawn")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
    let took = started.elapsed();
    assert!(took < PER_INPUT, "{what}: took {took:?}");
}

//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and every crash or hang input
//! found so far (`fuzz/regressions/<target>/`) through the same harness the cargo-fuzz targets use
//! (`fuzz/harness.rs`), on stable, in `cargo test`. A crash input is added as a file under
//! `fuzz/regressions/<target>/`; this test then keeps it fixed.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

include!("../fuzz/harness.rs");

/// A single input may not take longer than this (debug build, loaded machine): a hang is a bug.
const PER_INPUT: Duration = Duration::from_secs(20);

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
            run(&data);
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

//! Whole scans with the `deps` rules: explicit files, installed copies in `node_modules`, and
//! the parse time of a synthetic 50k-entry lockfile.

#![allow(
    clippy::print_stdout,
    reason = "the benchmark test prints its measurement"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use vibeward::discover::DiscoverOptions;
use vibeward::{Scanner, Settings};

fn settings(default_excludes: bool) -> Settings {
    Settings {
        enable: vec!["deps".into()],
        discover: DiscoverOptions {
            default_excludes,
            respect_ignore_files: false,
            ..DiscoverOptions::default()
        },
        jobs: 1,
        ..Settings::default()
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("dir");
    std::fs::write(path, text).expect("written");
}

const MALICIOUS_LOCK: &str = r#"{"lockfileVersion": 3, "packages": {"node_modules/event-stream": {"version": "3.3.6", "resolved": "https://registry.npmjs.org/event-stream/-/event-stream-3.3.6.tgz", "integrity": "sha512-AAAA"}}}"#;

#[test]
fn published_packages_in_node_modules_are_checked_only_through_shrinkwraps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "node_modules/lib/package.json",
        r#"{"name": "lib", "devDependencies": {"mocha": "*"}}"#,
    );
    write(root, "node_modules/lib/package-lock.json", MALICIOUS_LOCK);
    write(root, "node_modules/cli/npm-shrinkwrap.json", MALICIOUS_LOCK);
    let scanner = Scanner::new(&settings(false)).expect("rules load");
    let report = scanner.scan(&[root.to_path_buf()]).expect("scan");
    let found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.path.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "deps.malicious-version");
    assert!(found[0].1.ends_with("node_modules/cli/npm-shrinkwrap.json"));
}

#[test]
fn an_explicit_manifest_sees_the_lockfile_beside_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "package.json",
        r#"{"name": "app", "dependencies": {"ms": "^2.1.3"}}"#,
    );
    write(
        root,
        "package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"ms": "^2.1.3"}}, "node_modules/ms": {"version": "2.1.3", "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz", "integrity": "sha512-AAAA"}}}"#,
    );
    let scanner = Scanner::new(&settings(true)).expect("rules load");
    let report = scanner.scan(&[root.join("package.json")]).expect("scan");
    assert!(report.findings.is_empty(), "{:?}", report.findings);

    std::fs::remove_file(root.join("package-lock.json")).expect("removed");
    let report = scanner.scan(&[root.join("package.json")]).expect("scan");
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule_id, "deps.missing-lockfile");
}

/// A v3 lockfile with `n` entries, like `benches/gen-package-lock.py` writes.
fn synthetic_lock(n: usize) -> String {
    let mut out = String::from(
        "{\n  \"name\": \"bench\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"bench\"}",
    );
    for i in 0..n {
        let version = format!("{}.{}.{}", i % 7, i % 13, i % 17);
        let _ = write!(
            out,
            ",\n    \"node_modules/pkg-{i:06}\": {{\n      \"version\": \"{version}\",\n      \"resolved\": \"https://registry.npmjs.org/pkg-{i:06}/-/pkg-{i:06}-{version}.tgz\",\n      \"integrity\": \"sha512-{}==\",\n      \"dependencies\": {{\"pkg-{:06}\": \"^1.0.0\"}}\n    }}",
            "A".repeat(86),
            (i * 7 + 1) % n
        );
    }
    out.push_str("\n  }\n}\n");
    out
}

#[test]
fn parses_a_50k_entry_lockfile() {
    let text = synthetic_lock(50_000);
    let started = Instant::now();
    let entries =
        vibeward::deps::count_lockfile_entries("package-lock.json", &text).expect("parses");
    let elapsed = started.elapsed();
    println!(
        "parsed {entries} entries ({:.1} MB) in {:.0} ms",
        text.len() as f64 / 1e6,
        elapsed.as_secs_f64() * 1000.0
    );
    assert_eq!(entries, 50_000);
    // only guards against quadratic blow-ups: unoptimised builds on a busy CI machine are slow;
    // the release build parses this in well under a second (see the issue report)
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
}

/// Issue 19: a lockfile over the 4 MiB source limit is still read (its own limit is far higher).
#[test]
fn a_lockfile_over_the_source_size_limit_is_still_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let mut text = synthetic_lock(20_000);
    // one missing hash at the end, so the whole file must have been read to report it
    text.truncate(text.len() - "\n  }\n}\n".len());
    text.push_str(",\n    \"node_modules/late\": {\"version\": \"1.0.0\", \"resolved\": \"https://registry.npmjs.org/late/-/late-1.0.0.tgz\"}\n  }\n}\n");
    assert!(text.len() > 4 * 1024 * 1024, "{} bytes", text.len());
    write(root, "package-lock.json", &text);
    let scanner = Scanner::new(&settings(true)).expect("rules load");
    let report = scanner.scan(&[root.to_path_buf()]).expect("scan");
    assert!(
        report
            .notes
            .iter()
            .all(|n| n.reason.as_str() != "too-large"),
        "{:?}",
        report.notes
    );
    let hashes: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "deps.missing-integrity")
        .collect();
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0].properties["packages"], "late@1.0.0");
}

/// Issue 19: unreadable lockfiles and manifests are `parse-error` notes with the line, and a
/// lockfile with merge-conflict markers is also a finding.
#[test]
fn broken_dependency_files_become_parse_error_notes_with_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "truncated/package-lock.json",
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/ms\": {\"version\": \"2.1.3\"",
    );
    write(
        root,
        "conflict/package.json",
        "{\n  \"dependencies\": {\n<<<<<<< HEAD\n    \"ms\": \"^2.1.3\"\n=======\n    \"ms\": \"^2.1.2\"\n>>>>>>> main\n  }\n}\n",
    );
    write(
        root,
        "conflict/package-lock.json",
        "{\n<<<<<<< HEAD\n  \"lockfileVersion\": 3\n=======\n  \"lockfileVersion\": 2\n>>>>>>> main\n}\n",
    );
    write(
        root,
        "yaml/pnpm-lock.yaml",
        "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {resolution: {integrity: sha512-x}\n  b: [\n",
    );
    write(
        root,
        "toml/Cargo.toml",
        "[package]\nname = \"x\"\n\n[dependencies]\nserde = { version = \"1\"\n",
    );
    let scanner = Scanner::new(&settings(true)).expect("rules load");
    let report = scanner.scan(&[root.to_path_buf()]).expect("scan");
    let notes: Vec<(String, &str)> = report
        .notes
        .iter()
        .filter(|n| n.reason.as_str() == "parse-error")
        .map(|n| {
            let file = n.path.rsplit_once('/').map_or(n.path.as_str(), |(_, f)| f);
            let dir = n.path.rsplit('/').nth(1).unwrap_or_default();
            (format!("{dir}/{file}"), n.detail.as_str())
        })
        .collect();
    let detail = |name: &str| {
        notes
            .iter()
            .find(|(p, _)| p == name)
            .map_or_else(|| panic!("no note for {name}: {notes:?}"), |(_, d)| *d)
    };
    assert!(
        detail("truncated/package-lock.json").contains("line 4"),
        "{notes:?}"
    );
    assert!(detail("conflict/package.json").contains("merge-conflict markers at line 3"));
    assert!(detail("conflict/package-lock.json").contains("line 2"));
    assert!(
        detail("yaml/pnpm-lock.yaml").contains("not valid YAML"),
        "{notes:?}"
    );
    assert!(
        detail("toml/Cargo.toml").contains("not valid TOML"),
        "{notes:?}"
    );
    let conflicts: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "deps.lockfile-merge-conflict")
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        conflicts.len(),
        1,
        "only the lockfile is a finding: {conflicts:?}"
    );
    assert!(conflicts[0].ends_with("conflict/package-lock.json"));
}

//! Every rule over every fixture, as users run it, with all mismatches reported together.
//!
//! Fixtures annotate themselves: `expect: <id>[, <id>]` in a comment on the line(s) above a line
//! where a finding must start, `ok: <id>` above a safe look-alike (asserts silence; counts as the
//! rule's negative case), `todo-expect:` / `todo-ok:` for known misses and known false alarms
//! (printed, never hidden, flagged when they start passing). Files without comments get a sidecar
//! `<file>.expect` with `<line> expect|ok|todo-expect|todo-ok <id>` rows.
//!
//! Each file directly in `fixtures/<family>/` is scanned alone; each folder there is scanned as one
//! project (for cross-file rules such as migrations or manifest + lockfile).

#![allow(
    clippy::print_stdout,
    reason = "the harness lists every mismatch before failing"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use vibeward::discover::DiscoverOptions;
use vibeward::engine::EngineOptions;
use vibeward::{Scanner, Settings};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Expect,
    Ok,
    TodoExpect,
    TodoOk,
}

type Key = (String, usize, String); // display path, line, rule id

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The scan roots: every file directly in a family folder, and every folder there.
fn scan_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let mut families: Vec<_> = std::fs::read_dir(fixtures_root())
        .expect("fixtures/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    families.sort();
    for family in families {
        let mut entries: Vec<_> = std::fs::read_dir(&family)
            .expect("readable")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_none_or(|e| e != "expect"))
            .collect();
        entries.sort();
        roots.extend(entries);
    }
    roots
}

fn settings(combined: bool) -> Settings {
    Settings {
        discover: DiscoverOptions {
            // fixtures may contain folders such as node_modules or dist on purpose
            respect_ignore_files: false,
            default_excludes: true,
            ..DiscoverOptions::default()
        },
        engine: EngineOptions {
            combined_queries: combined,
            ..vibeward::engine::EngineOptions::default()
        },
        jobs: 2,
        // residency rules run only when allowed regions are configured
        regions: vec!["eu-*".into(), "europe-*".into()],
        ..Settings::default()
    }
}

fn parse_annotations(path: &Path, display: &str, marks: &mut BTreeMap<Key, Mark>) {
    // binary fixtures (key stores) carry only a sidecar
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut pending: Vec<(Mark, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let found = annotation(line);
        if found.is_empty() {
            if !pending.is_empty() {
                for (mark, id) in pending.drain(..) {
                    marks.insert((display.to_string(), i + 1, id), mark);
                }
            }
        } else {
            pending.extend(found);
        }
    }
    let sidecar = PathBuf::from(format!("{}.expect", path.display()));
    if let Ok(rows) = std::fs::read_to_string(&sidecar) {
        for row in rows
            .lines()
            .filter(|r| !r.trim().is_empty() && !r.starts_with('#'))
        {
            let parts: Vec<&str> = row.split_whitespace().collect();
            let [line, mark, id] = parts.as_slice() else {
                panic!("{}: bad row `{row}`", sidecar.display());
            };
            let mark = match *mark {
                "expect" => Mark::Expect,
                "ok" => Mark::Ok,
                "todo-expect" => Mark::TodoExpect,
                "todo-ok" => Mark::TodoOk,
                other => panic!("{}: unknown mark `{other}`", sidecar.display()),
            };
            let line: usize = line.parse().expect("line number");
            marks.insert((display.to_string(), line, (*id).to_string()), mark);
        }
    }
}

/// The annotations in one line: `<comment> expect: a, b` etc.
fn annotation(line: &str) -> Vec<(Mark, String)> {
    let t = line.trim_start();
    let body = ["//", "#", "--", "/*", "<!--", "*"]
        .iter()
        .find_map(|c| t.strip_prefix(c))
        .map(str::trim_start);
    let Some(body) = body else {
        return Vec::new();
    };
    let (mark, rest) = if let Some(r) = body.strip_prefix("todo-expect:") {
        (Mark::TodoExpect, r)
    } else if let Some(r) = body.strip_prefix("todo-ok:") {
        (Mark::TodoOk, r)
    } else if let Some(r) = body.strip_prefix("expect:") {
        (Mark::Expect, r)
    } else if let Some(r) = body.strip_prefix("ok:") {
        (Mark::Ok, r)
    } else {
        return Vec::new();
    };
    let rest = rest.trim_end_matches("*/").trim_end_matches("-->");
    rest.split(',')
        .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
        .filter(|s| !s.is_empty())
        .map(|id| (mark, id))
        .collect()
}

fn display_of(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    vibeward::discover::display_path(path, cwd.as_deref())
}

struct Outcome {
    findings: BTreeSet<Key>,
    /// `internal-error` notes: an analyzer panicked (debug builds also panic on a message
    /// variant a rule does not declare).
    failures: Vec<String>,
    marks: BTreeMap<Key, Mark>,
    files: usize,
}

fn run(combined: bool) -> Outcome {
    let scanner = Scanner::new(&settings(combined)).expect("rules load");
    let mut findings = BTreeSet::new();
    let mut marks = BTreeMap::new();
    let mut files = 0;
    let mut failures = Vec::new();
    for root in scan_roots() {
        let report = scanner
            .scan(std::slice::from_ref(&root))
            .expect("scan runs");
        failures.extend(
            report
                .notes
                .iter()
                .filter(|n| n.reason == vibeward::discover::SkipReason::InternalError)
                .map(|n| format!("{}: {}", n.path, n.detail)),
        );
        for f in &report.findings {
            findings.insert((f.path.clone(), f.start.line, f.rule_id.clone()));
        }
        let paths: Vec<PathBuf> = if root.is_dir() {
            walkdir::WalkDir::new(&root)
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .map(walkdir::DirEntry::into_path)
                .collect()
        } else {
            vec![root.clone()]
        };
        for path in paths {
            if path.extension().is_some_and(|e| e == "expect") {
                continue;
            }
            files += 1;
            parse_annotations(&path, &display_of(&path), &mut marks);
        }
    }
    Outcome {
        findings,
        failures,
        marks,
        files,
    }
}

#[test]
fn every_fixture_gets_exactly_the_expected_findings() {
    let Outcome {
        findings,
        failures,
        marks,
        files,
    } = run(true);
    let scanner = Scanner::new(&settings(true)).expect("rules load");
    let rules = scanner.engine().rules();
    let mut problems: Vec<String> = failures
        .iter()
        .map(|f| format!("{f}  internal-error"))
        .collect();
    let mut todo = Vec::new();
    for (key, mark) in &marks {
        let (path, line, id) = key;
        if rules.get(id).is_none() {
            problems.push(format!("{path}:{line}  unknown-rule  {id}"));
            continue;
        }
        let found = findings.contains(key);
        match (mark, found) {
            (Mark::Expect, false) => problems.push(format!("{path}:{line}  missing  {id}")),
            (Mark::Ok, true) => problems.push(format!("{path}:{line}  noisy  {id}")),
            (Mark::TodoExpect, true) => {
                problems.push(format!(
                    "{path}:{line}  todo-expect now passes (promote to expect)  {id}"
                ));
            }
            (Mark::TodoOk, false) => {
                problems.push(format!(
                    "{path}:{line}  todo-ok now passes (promote to ok)  {id}"
                ));
            }
            (Mark::TodoExpect, false) => todo.push(format!("{path}:{line}  known miss  {id}")),
            (Mark::TodoOk, true) => todo.push(format!("{path}:{line}  known false alarm  {id}")),
            _ => {}
        }
    }
    for key in &findings {
        if !marks.contains_key(key) {
            let (path, line, id) = key;
            problems.push(format!("{path}:{line}  noisy  {id}"));
        }
    }
    for line in &todo {
        println!("{line}");
    }
    for line in &problems {
        println!("{line}");
    }
    println!(
        "{files} fixture files, {} findings, {} annotations, {} todo, {} problems",
        findings.len(),
        marks.len(),
        todo.len(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} fixture mismatches (listed above)",
        problems.len()
    );
}

/// Whether `path` (a display path) is the same-named fixture of `rule`: `fixtures/<family>/<name>`
/// with any extension, or a file inside the folder `fixtures/<family>/<name>/`.
fn is_named_fixture_of(path: &str, rule: &vibeward::rules::Rule) -> bool {
    let (family, name) = rule.id.split_once('.').unwrap_or((&rule.id, ""));
    let Some(rest) = path
        .split_once(&format!("fixtures/{family}/"))
        .map(|(_, rest)| rest)
    else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or("");
    let stem = if rest.contains('/') {
        first
    } else {
        first.split('.').next().unwrap_or("")
    };
    stem == name
}

/// Issue 14: every rule, builtin checks included, has a positive and a negative case in its
/// same-named fixture (`fixtures/<family>/<name>.<ext>` or `fixtures/<family>/<name>/`), so a
/// rule's cases are found from its id in two steps.
#[test]
fn every_rule_has_a_positive_and_a_negative_fixture() {
    let Outcome { marks, .. } = run(true);
    let scanner = Scanner::new(&settings(true)).expect("rules load");
    let mut problems = Vec::new();
    for rule in scanner.engine().rules().rules() {
        let has = |m: Mark| {
            marks.iter().any(|((path, _, id), mark)| {
                id == &rule.id && *mark == m && is_named_fixture_of(path, rule)
            })
        };
        if !has(Mark::Expect) {
            problems.push(format!(
                "{}: no `expect` in its fixture fixtures/{}.*",
                rule.id,
                rule.id.replacen('.', "/", 1)
            ));
        }
        if !has(Mark::Ok) {
            problems.push(format!(
                "{}: no `ok` (a safe look-alike) in its fixture fixtures/{}.*",
                rule.id,
                rule.id.replacen('.', "/", 1)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn combined_queries_find_the_same_as_one_rule_at_a_time() {
    let fast = run(true);
    let oracle = run(false);
    assert_eq!(fast.findings, oracle.findings);
}

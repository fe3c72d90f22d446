//! Output safety for the secrets capability (issue 3): no output format ever shows a full secret,
//! and every secret finding carries its redaction range and redacted form.

use std::path::{Path, PathBuf};

use vibeward::discover::DiscoverOptions;
use vibeward::report::text::TextOptions;
use vibeward::{Scanner, Settings};

fn scan_secret_fixtures() -> (vibeward::ScanReport, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/secrets");
    let settings = Settings {
        paths: vec![root.clone()],
        discover: DiscoverOptions {
            respect_ignore_files: false,
            ..DiscoverOptions::default()
        },
        enable: vec!["secrets".into()],
        jobs: 2,
        ..Settings::default()
    };
    let scanner = Scanner::new(&settings).expect("rules load");
    (
        scanner
            .scan(std::slice::from_ref(&root))
            .expect("scan runs"),
        root,
    )
}

#[test]
fn no_output_format_contains_a_full_secret() {
    let (report, _) = scan_secret_fixtures();
    assert!(
        report.findings.len() > 80,
        "{} findings",
        report.findings.len()
    );
    let mut secrets = Vec::new();
    for f in &report.findings {
        let Some(range) = f.redactions.first() else {
            continue;
        };
        let (a, b) = (range.start, range.end);
        let text = std::fs::read_to_string(&f.path)
            .or_else(|_| {
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&f.path))
            })
            .expect("fixture readable");
        let secret = text[a..b].to_string();
        assert!(
            f.properties
                .get("secret")
                .is_some_and(|s| s.contains("sha256:")),
            "{}: no redacted form",
            f.rule_id
        );
        assert!(
            secret.len() < 8 || !f.message.contains(&secret),
            "{}: message shows the secret",
            f.rule_id
        );
        secrets.push((f.rule_id.clone(), secret));
    }
    assert!(secrets.len() > 80);
    let json = vibeward::report::render_machine(&report, false);
    let sarif = vibeward::report::render_machine(&report, true);
    let mut text = termcolor::NoColor::new(Vec::new());
    vibeward::report::text::write(&report, &mut text, TextOptions { quiet: false })
        .expect("text renders");
    let text = String::from_utf8(text.into_inner()).expect("utf-8");
    for (id, secret) in &secrets {
        // the first four characters stay visible by design; the rest never appears
        let tail = &secret[secret
            .char_indices()
            .nth(4)
            .map_or(secret.len(), |(i, _)| i)..];
        if tail.len() < 6 {
            continue;
        }
        for (format, out) in [("json", &json), ("sarif", &sarif), ("text", &text)] {
            assert!(
                !out.contains(tail),
                "{id}: {format} output shows the secret"
            );
        }
    }
}

#[test]
fn long_minified_lines_are_scanned_in_bounded_windows() {
    let settings = Settings {
        enable: vec!["secrets".into()],
        ..Settings::default()
    };
    let scanner = Scanner::new(&settings).expect("rules load");
    // 2 MB on one line, full of keywords, with one key near the end
    let mut line = String::from("{");
    while line.len() < 2_000_000 {
        line.push_str("\"token\":\"t\",\"apiKey\":\"k\",\"secret\":\"s\",\"password\":\"p\",");
    }
    line.push_str("\"stripe\":\"sk_live_Qz7Lw2Xr9Tp4Nv8Bc3Hd6Mk5Rt1\"}");
    let file =
        vibeward::source::SourceFile::new("config.json", vibeward::discover::FileKind::Json, line);
    let started = std::time::Instant::now();
    let (findings, _) = scanner.scan_file(file);
    let elapsed = started.elapsed();
    let ids: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["secrets.stripe-live-secret-key"]);
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
}

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
    (scanner.scan(&[root.clone()]).expect("scan runs"), root)
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
        let Some(range) = f.properties.get(vibeward::engine::REDACT_PROPERTY) else {
            continue;
        };
        let (a, b) = range.split_once("..").expect("start..end");
        let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
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

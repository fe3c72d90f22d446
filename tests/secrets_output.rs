//! Output safety (issues 3 and 14): no output format ever shows a full secret, whichever rule's
//! frame shows its line, and every finding that reports a key carries its redaction ranges.

use std::path::Path;

use vibeward::discover::DiscoverOptions;
use vibeward::report::text::TextOptions;
use vibeward::{Scanner, Settings};

/// Whether a finding reports a key written in the file (not an environment variable's name, not
/// a whole file): such findings must say which bytes to hide.
fn reports_a_key(f: &vibeward::finding::Finding) -> bool {
    match f.rule_id.as_str() {
        // these report a file or a variable name; a key store's binary content is never shown
        "secrets.env-file-committed"
        | "secrets.client-exposed-env-secret"
        | "secrets.key-store-file" => false,
        "parse.hardcoded-master-key" => !f.message.contains("empty master key"),
        "supabase.service-role-key-in-client" => f.message.contains("literal"),
        id => id.starts_with("secrets."),
    }
}

/// Every output a user can see of one report: text without and with colour, JSON, SARIF, stats.
fn every_output(report: &vibeward::ScanReport) -> Vec<(&'static str, String)> {
    let mut plain = termcolor::NoColor::new(Vec::new());
    vibeward::report::text::write(report, &mut plain, TextOptions { quiet: false })
        .expect("text renders");
    let mut colour = termcolor::Ansi::new(Vec::new());
    vibeward::report::text::write(report, &mut colour, TextOptions { quiet: false })
        .expect("text renders");
    let mut stats = Vec::new();
    vibeward::report::text::write_stats(report, &mut stats).expect("stats render");
    vec![
        (
            "text",
            String::from_utf8_lossy(&plain.into_inner()).into_owned(),
        ),
        (
            "colour text",
            String::from_utf8_lossy(&colour.into_inner()).into_owned(),
        ),
        ("json", vibeward::report::render_machine(report, false)),
        ("sarif", vibeward::report::render_machine(report, true)),
        ("stats", String::from_utf8_lossy(&stats).into_owned()),
    ]
}

/// A meta-test over every fixture, with every rule on: each secret a finding hides (its
/// redaction ranges, read from the fixture) appears in no output, whichever finding's frame or
/// snippet shows its line.
#[test]
fn no_output_format_contains_a_full_secret() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let settings = Settings {
        paths: vec![root.clone()],
        discover: DiscoverOptions {
            respect_ignore_files: false,
            default_excludes: false,
            ..DiscoverOptions::default()
        },
        jobs: 2,
        ..Settings::default()
    };
    let report = Scanner::new(&settings)
        .expect("rules load")
        .scan(std::slice::from_ref(&root))
        .expect("scan runs");
    let mut secrets = Vec::new();
    let mut unredacted = Vec::new();
    for f in &report.findings {
        if reports_a_key(f) && f.redactions.is_empty() {
            unredacted.push(format!("{}:{} {}", f.path, f.start.line, f.rule_id));
        }
        let text = std::fs::read(&f.path)
            .or_else(|_| std::fs::read(root.join(&f.path)))
            .expect("fixture readable");
        for range in &f.redactions {
            let secret = String::from_utf8_lossy(&text[range.clone()]).into_owned();
            assert!(
                secret.len() < 8 || !f.message.contains(&secret),
                "{}: message shows the secret",
                f.rule_id
            );
            // a short value can occur in ordinary words too (`myMasterKey` in `masterKey`):
            // only values that occur once in their file can be looked for in the output
            let tail = secret.chars().skip(4).collect::<String>();
            if String::from_utf8_lossy(&text)
                .matches(tail.as_str())
                .count()
                == 1
            {
                secrets.push((f.rule_id.clone(), f.path.clone(), secret));
            }
        }
        if f.rule_id.starts_with("secrets.") && !f.redactions.is_empty() {
            assert!(
                f.properties
                    .get("secret")
                    .is_some_and(|s| s.contains("sha256:")),
                "{}: no redacted form",
                f.rule_id
            );
        }
    }
    assert!(
        unredacted.is_empty(),
        "key findings without redaction:\n{}",
        unredacted.join("\n")
    );
    assert!(secrets.len() > 80, "{} secrets", secrets.len());
    let outputs = every_output(&report);
    for (id, path, secret) in &secrets {
        // the first four characters stay visible by design; the rest never appears
        let tail = &secret[secret
            .char_indices()
            .nth(4)
            .map_or(secret.len(), |(i, _)| i)..];
        if tail.len() < 6 {
            continue;
        }
        for (format, out) in &outputs {
            assert!(
                !out.contains(tail),
                "{id} ({path}): {format} output shows the secret"
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

// One body per fuzz target, shared by the cargo-fuzz targets in `fuzz_targets/` (through
// `include!`) and by the stable regression test `tests/fuzz_corpus.rs`, which replays every
// committed corpus and crash input in `cargo test`. Each function takes the raw fuzz input.

/// The scanner with the built-in rules and default settings, built once.
fn fuzz_scanner() -> &'static vibeward::Scanner {
    static SCANNER: std::sync::OnceLock<vibeward::Scanner> = std::sync::OnceLock::new();
    SCANNER.get_or_init(|| {
        vibeward::Scanner::new(&vibeward::Settings::default()).expect("built-in rules load")
    })
}

/// Panics when the scan of one file noted an internal error: the engine turns an analyzer's panic
/// into such a note (the scan goes on), so the fuzzer must look for the note, not for a crash.
fn fuzz_check_notes(notes: &[vibeward::discover::Skipped], input: &str) {
    for note in notes {
        assert!(
            note.reason.as_str() != "internal-error",
            "internal error: {} ({})\ninput: {input:?}",
            note.detail,
            note.path
        );
    }
}

/// The JS/TS scan of arbitrary bytes: the first byte picks the dialect, the rest is the file
/// (decoded lossily, as the engine does for invalid UTF-8). Every JS/TS rule, the taint engine and
/// the platform analyzers run through `Scanner::scan_file`.
pub fn fuzz_scan_js(data: &[u8]) {
    use vibeward::discover::FileKind;
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (name, kind) = match selector % 5 {
        0 => ("src/server.js", FileKind::Js),
        1 => ("api/routes.ts", FileKind::Ts),
        2 => ("app/page.tsx", FileKind::Tsx),
        3 => ("cloud/main.js", FileKind::Js),
        _ => ("supabase/functions/f/index.ts", FileKind::Ts),
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let (_, notes) =
        fuzz_scanner().scan_file(vibeward::source::SourceFile::new(name, kind, text.clone()));
    fuzz_check_notes(&notes, &text);
}

/// File names for `fuzz_scan_content`: each selects a kind and the analyzers that run.
const FUZZ_CONTENT_NAMES: &[&str] = &[
    ".env",
    ".env.production",
    "supabase/migrations/20240101000000_init.sql",
    "db/schema.sql",
    "firestore.rules",
    "storage.rules",
    "database.rules.json",
    "firebase.json",
    "supabase/config.toml",
    "config.toml",
    ".github/workflows/ci.yml",
    "docker-compose.yml",
    "config/parse-server.json",
    "tsconfig.json",
    "README.md",
    "Dockerfile",
];

/// Every non-JS reader reached per file: `.env`, SQL migrations, Firebase rules,
/// `database.rules.json`, `firebase.json`, Supabase `config.toml`, YAML (CI workflows, compose),
/// JSON configs and plain text (secret detectors). The first byte picks the file name.
pub fn fuzz_scan_content(data: &[u8]) {
    use vibeward::discover::FileKind;
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let name = FUZZ_CONTENT_NAMES[usize::from(selector) % FUZZ_CONTENT_NAMES.len()];
    let kind = FileKind::classify(std::path::Path::new(name)).unwrap_or(FileKind::Text);
    let text = String::from_utf8_lossy(rest).into_owned();
    let (_, notes) =
        fuzz_scanner().scan_file(vibeward::source::SourceFile::new(name, kind, text.clone()));
    fuzz_check_notes(&notes, &text);
}

/// (manifest, lockfile) pairs for `fuzz_lockfiles`.
const FUZZ_LOCK_PAIRS: &[(&str, &str)] = &[
    ("package.json", "package-lock.json"),
    ("package.json", "npm-shrinkwrap.json"),
    ("package.json", "yarn.lock"),
    ("package.json", "pnpm-lock.yaml"),
    ("package.json", "bun.lock"),
    ("package.json", "deno.lock"),
    ("Cargo.toml", "Cargo.lock"),
    ("requirements.txt", "poetry.lock"),
];

/// A valid manifest per manifest name, used when the input has no `0xff` separator.
const FUZZ_MANIFESTS: &[(&str, &str)] = &[
    (
        "package.json",
        r#"{"name":"a","dependencies":{"express":"^4.17.1","lodash":"4.17.20"}}"#,
    ),
    (
        "Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\n[dependencies]\nserde = \"1\"\n",
    ),
    ("requirements.txt", "django==3.2\nrequests>=2\n"),
];

/// Manifests and lockfiles: their readers are project-wide passes, so the input is written to a
/// temporary project and scanned with `Scanner::scan`. The first byte picks the pair; the rest is
/// split at the first `0xff` byte into manifest and lockfile (no `0xff`: the whole input is the
/// lockfile, next to a valid manifest).
pub fn fuzz_lockfiles(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (manifest_name, lock_name) = FUZZ_LOCK_PAIRS[usize::from(selector) % FUZZ_LOCK_PAIRS.len()];
    let (manifest, lock): (&[u8], &[u8]) = if let Some(at) = rest.iter().position(|&b| b == 0xff) {
        (&rest[..at], &rest[at + 1..])
    } else {
        let valid = FUZZ_MANIFESTS
            .iter()
            .find(|(n, _)| *n == manifest_name)
            .map_or("", |(_, t)| t);
        (valid.as_bytes(), rest)
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join(manifest_name), manifest).is_err()
        || std::fs::write(dir.path().join(lock_name), lock).is_err()
    {
        return;
    }
    if let Ok(report) = fuzz_scanner().scan(&[dir.path().to_path_buf()]) {
        fuzz_check_notes(&report.notes, &String::from_utf8_lossy(lock));
    }
}

/// Rule files (`--rules DIR`): arbitrary text through the YAML rule loader, its `match:` pattern
/// compiler and regex constraints. Errors are fine; a panic or a hang is a bug.
pub fn fuzz_rule_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vibeward::rules::load::parse_rule("rules/custom/fuzz.yaml", text, false);
}

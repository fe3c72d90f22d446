//! `vibeward scan --cache`: byte-identical output with and without the cache, cold and warm, in
//! every format; invalidation when a file, the rules or the configuration change; a damaged
//! cache degrades to a full scan with a notice.

mod common;
use common::{code, copy_of_fixture_families, copy_of_fixtures, run, stderr, write};

/// The fixture families the invalidation tests scan many times: cross-file flows (injection,
/// authz), project-wide lockfile passes (deps) and plain per-file rules (crypto), 180-odd files.
fn project() -> tempfile::TempDir {
    copy_of_fixture_families(&["injection", "authz", "deps", "crypto"])
}

use std::path::Path;

/// The scan of `dir` in `format` with `extra` flags: standard output and the `--stats` block.
fn scan(dir: &Path, format: &str, extra: &[&str]) -> (Vec<u8>, String) {
    let mut args = vec![
        "scan",
        ".",
        "--format",
        format,
        "--fail-on",
        "none",
        "--stats",
    ];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stats = stderr(&out);
    (out.stdout, stats)
}

fn cached_files(stats: &str) -> usize {
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix("from the cache"))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

/// The text format's summary line ends with the wall time: everything else must be identical.
fn without_time(text: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| match l.rfind(" in ") {
            Some(at) if l.contains(" findings (") && l.ends_with('s') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// One scan of `dir` with `extra` flags written as JSON, SARIF and text (`--output FORMAT:PATH`,
/// outside the scanned tree), with the text's wall time cut, and the `--stats` block.
fn scan_every_format(dir: &Path, extra: &[&str]) -> ([Vec<u8>; 3], String) {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let outputs = ["json", "sarif", "text"].map(|format| {
        let path = out_dir.path().join(format!("report.{format}"));
        (format!("{format}:{}", path.display()), path)
    });
    let mut args: Vec<&str> = Vec::new();
    for (arg, _) in &outputs {
        args.extend(["--output", arg.as_str()]);
    }
    args.extend_from_slice(extra);
    let (_, stats) = scan(dir, "counts", &args);
    let reports = outputs.map(|(_, path)| std::fs::read(path).expect("report written"));
    let [json, sarif, text] = reports;
    ([json, sarif, without_time(&text)], stats)
}

#[test]
fn output_is_byte_identical_with_and_without_the_cache() {
    // every family: each analyzer's facts go through the cache
    let dir = copy_of_fixtures();
    let root = dir.path();
    let (plain, _) = scan_every_format(root, &[]);
    let (cold, _) = scan_every_format(root, &["--cache"]);
    let (warm, stats) = scan_every_format(root, &["--cache"]);
    for (i, format) in ["json", "sarif", "text"].into_iter().enumerate() {
        assert!(
            plain[i] == cold[i],
            "{format}: a cold cache changed the output"
        );
        assert!(
            plain[i] == warm[i],
            "{format}: a warm cache changed the output"
        );
    }
    assert!(cached_files(&stats) > 100, "{stats}");
    // the default folder is in the scanned tree, and discovery leaves it alone
    assert!(root.join(".vibeward-cache/scan.cache").is_file());
    assert!(root.join(".vibeward-cache/CACHEDIR.TAG").is_file());
}

#[test]
fn changed_files_rules_and_configuration_invalidate() {
    let dir = project();
    let root = dir.path();
    // old enough for every stamp to be trusted: the warm scan replays the whole tree
    age(root);
    let cache = tempfile::tempdir().expect("temp dir");
    let flag = format!("--cache={}", cache.path().display());
    let cached = [flag.as_str()];
    scan(root, "json", &cached);
    let (_, stats) = scan(root, "json", &cached);
    let hits = cached_files(&stats);
    assert!(hits > 0, "{stats}");

    // a changed file is analysed again, the others come from the cache
    let changed = "injection/command-from-request.js";
    let text = std::fs::read_to_string(root.join(changed)).expect("fixture");
    write(
        root,
        changed,
        text.replace("req.query", "req.body") + "\n// edited\n",
    );
    let (plain, _) = scan(root, "json", &[]);
    let (warm, stats) = scan(root, "json", &cached);
    assert!(plain == warm, "an edited file was served stale");
    // the tree changed: only the files the cache holds one by one are served
    let held = cached_files(&stats);
    assert!(held > 0 && held < hits, "{stats}");

    // other rules: nothing is served from the old entries
    let (plain, _) = scan(root, "json", &["--disable", "secrets"]);
    let (warm, stats) = scan(root, "json", &["--disable", "secrets", flag.as_str()]);
    assert!(plain == warm, "a rule change was served stale");
    assert_eq!(cached_files(&stats), 0, "{stats}");

    // a configuration file changes the key too
    write(
        root,
        "vibeward.toml",
        "[rules.severity]\ninjection = \"low\"\n",
    );
    let (plain, _) = scan(root, "json", &[]);
    let (warm, stats) = scan(root, "json", &cached);
    assert!(plain == warm, "a configuration change was served stale");
    assert_eq!(cached_files(&stats), 0, "{stats}");
}

#[test]
fn a_damaged_cache_is_a_full_scan_with_a_notice() {
    let dir = project();
    let root = dir.path();
    age(root);
    let (plain, _) = scan(root, "json", &[]);
    scan(root, "json", &["--cache"]);
    let (_, stats) = scan(root, "json", &["--cache"]);
    let hits = cached_files(&stats);
    assert!(hits > 0, "{stats}");
    let file = root.join(".vibeward-cache/scan.cache");
    let good = std::fs::read(&file).expect("cache written");
    let half = good[..good.len() / 2].to_vec();
    let flipped: Vec<u8> = good
        .iter()
        .enumerate()
        .map(|(i, b)| if i == good.len() - 10 { b ^ 1 } else { *b })
        .collect();
    for bad in [b"".to_vec(), b"\xff\xfe garbage".to_vec(), half, flipped] {
        std::fs::write(&file, &bad).expect("damage the cache");
        let (out, stats) = scan(root, "json", &["--cache"]);
        assert_eq!(cached_files(&stats), 0, "{stats}");
        let mut doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        let plain_doc: serde_json::Value = serde_json::from_slice(&plain).expect("JSON");
        assert_eq!(doc["findings"], plain_doc["findings"]);
        let skipped = doc["skipped"].as_array_mut().expect("skipped list");
        let at = skipped
            .iter()
            .position(|n| {
                n["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("the cache could not be used"))
            })
            .expect("a notice about the cache");
        skipped.remove(at);
        assert_eq!(doc["skipped"], plain_doc["skipped"]);
        // the scan rewrote a good cache
        let (again, stats) = scan(root, "json", &["--cache"]);
        assert!(again == plain, "the rewritten cache changed the output");
        assert_eq!(cached_files(&stats), hits, "{stats}");
    }
}

/// Sets the modification time of every file under `dir` to an hour ago, as a checkout made
/// before the scan would have it.
fn age(dir: &Path) {
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in walk(dir) {
        let file = std::fs::File::options()
            .write(true)
            .open(&entry)
            .expect("open for set_modified");
        file.set_modified(hour_ago).expect("set_modified");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

#[test]
fn unchanged_stamps_are_not_read_and_edits_are_seen() {
    let dir = project();
    let root = dir.path();
    age(root);
    let cache = tempfile::tempdir().expect("temp dir");
    let flag = format!("--cache={}", cache.path().display());
    let cached = [flag.as_str()];
    let (plain, stats) = scan(root, "json", &[]);
    let analysed = analysed_files(&stats);
    scan(root, "json", &cached);
    // the whole tree unchanged: replayed, project passes included, without reading a file
    let (warm, stats) = scan(root, "json", &cached);
    assert!(plain == warm, "a warm cache changed the output");
    let files = cached_files(&stats);
    assert!(files >= analysed && analysed > 100, "{stats}");

    // an edit gives a new modification time: the file is read, hashed and analysed again (a
    // file whose outcome the cache holds: its findings go), and so are the files whose
    // outcome depends on others; the rest is served by stamp
    write(root, "crypto/weak-cipher.ts", "export const cipher = 1;\n");
    let (plain, _) = scan(root, "json", &[]);
    assert!(plain != warm, "the edit changes the findings");
    let (warm, stats) = scan(root, "json", &cached);
    assert!(plain == warm, "an edited file was served stale");
    let held = cached_files(&stats);
    assert!(held > 0 && held < files - 1, "{stats}");

    // a touch (new stamp, same content) is still served from the cache, by content
    age(root);
    let (warm, stats) = scan(root, "json", &cached);
    assert!(plain == warm, "a touched tree changed the output");
    assert_eq!(cached_files(&stats), held + 1, "{stats}");
    // and the tree is whole again
    let (warm, stats) = scan(root, "json", &cached);
    assert!(plain == warm);
    assert_eq!(cached_files(&stats), files, "{stats}");
}

/// `files analysed` of a `--stats` block.
fn analysed_files(stats: &str) -> usize {
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix("files analysed"))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[test]
fn a_replayed_tree_sees_files_read_outside_it() {
    // the Supabase functions folder alone: the analyses read `supabase/config.toml` above it
    let dir = copy_of_fixture_families(&["authz"]);
    let root = dir.path().join("authz/supabase-jwt-off");
    age(&root);
    let cache = tempfile::tempdir().expect("temp dir");
    let flag = format!("--cache={}", cache.path().display());
    let scan_functions = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "supabase/functions",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--stats",
        ];
        args.extend_from_slice(extra);
        let out = run(&root, &args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let err = stderr(&out);
        (out.stdout, err)
    };
    let (plain, _) = scan_functions(&[]);
    assert!(
        String::from_utf8_lossy(&plain).contains("authz.privileged-handler-without-caller-check")
    );
    scan_functions(&[flag.as_str()]);
    let (warm, stats) = scan_functions(&[flag.as_str()]);
    assert!(plain == warm);
    assert_eq!(cached_files(&stats), 2, "{stats}");

    // JWT verification turned back on for the function: its finding goes
    write(&root, "supabase/config.toml", "project_id = \"example\"\n");
    age(&root);
    let (plain, _) = scan_functions(&[]);
    assert!(plain != warm, "the config change changes the findings");
    let (warm, _) = scan_functions(&[flag.as_str()]);
    assert!(
        plain == warm,
        "a changed config.toml outside the tree was served stale"
    );
}

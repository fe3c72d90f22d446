//! The `deps` capability against real advisory data (`../shared/advisories/`), the curated set
//! against the OSV schema, and `db update` against a loopback HTTP server.

#![allow(
    clippy::print_stdout,
    reason = "tests print a note when the shared data is absent, and the measured load time"
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vibeward::deps::osv::{Database, Ecosystem};
use vibeward::{Scanner, Settings};

/// `../shared/advisories/<file>` beside the repository (as in CI), or below
/// `$VIBEWARD_SHARED_DIR/advisories` (worktrees that live elsewhere).
fn shared(file: &str) -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let roots =
        std::iter::once(beside).chain(std::env::var_os("VIBEWARD_SHARED_DIR").map(PathBuf::from));
    for root in roots {
        let path = root.join("advisories").join(file);
        if path.exists() {
            return Some(path);
        }
    }
    println!("note: ../shared/advisories/{file} is absent; skipping");
    None
}

fn deps_settings(db: Option<PathBuf>) -> Settings {
    Settings {
        enable: vec!["deps".into()],
        advisory_db: db,
        jobs: 1,
        ..Settings::default()
    }
}

const VULNERABLE_CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["regex", "smallvec", "time"]

[[package]]
name = "regex"
version = "1.5.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461"

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1a55ca5f3b68e41c979bf8c46a6f1da892ca4db8f94023ce0bd32407573b1ac0"

[[package]]
name = "time"
version = "0.3.47"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "743bd48c283afc0388f9b8827b976905fb217ad9e647fae3a379a9283c4def2c"
"#;

#[test]
fn loads_the_rustsec_archive_quickly_and_skips_withdrawn_entries() {
    let Some(zip) = shared("crates.io-osv.zip") else {
        return;
    };
    let started = Instant::now();
    let mut db = Database::default();
    let bad = db.load_zip(&zip).expect("archive reads");
    let elapsed = started.elapsed();
    println!(
        "loaded {} advisories in {:.1} ms",
        db.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    assert_eq!(bad, 0, "every entry is OSV");
    // 1,206 entries, 13 withdrawn
    assert_eq!(db.len(), 1206 - 13);
    let hits = db.matches(Ecosystem::Crates, "smallvec", "1.6.0");
    let hit = hits
        .iter()
        .find(|h| h.advisory.id == "RUSTSEC-2021-0003")
        .expect("smallvec 1.6.0 is affected");
    assert_eq!(hit.fixed.as_deref(), Some("1.6.1"));
    assert!(hit.advisory.aliases.iter().any(|a| a == "CVE-2021-25900"));
    assert!(
        db.matches(Ecosystem::Crates, "smallvec", "1.6.1")
            .is_empty()
    );
    // spin's unmaintained notice RUSTSEC-2019-0031 was withdrawn
    assert!(
        db.matches(Ecosystem::Crates, "spin", "0.5.2")
            .iter()
            .all(|h| h.advisory.id != "RUSTSEC-2019-0031")
    );
}

#[test]
fn reports_a_vulnerable_cargo_lock_with_the_rustsec_database() {
    let Some(zip) = shared("crates.io-osv.zip") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(&lock, VULNERABLE_CARGO_LOCK).expect("written");
    let scanner = Scanner::new(&deps_settings(Some(zip))).expect("rules load");
    let report = scanner.scan(std::slice::from_ref(&lock)).expect("scan");
    let vulns: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "deps.known-vulnerability")
        .collect();
    let smallvec = vulns
        .iter()
        .find(|f| f.properties.get("advisory").map(String::as_str) == Some("RUSTSEC-2021-0003"))
        .expect("smallvec reported");
    assert_eq!(smallvec.start.line, 15, "points at the package's name line");
    assert!(
        smallvec.message.contains("fixed in 1.6.1"),
        "{}",
        smallvec.message
    );
    assert!(
        smallvec.message.contains("CVE-2021-25900"),
        "{}",
        smallvec.message
    );
    assert!(
        vulns
            .iter()
            .any(|f| f.properties.get("advisory").map(String::as_str) == Some("RUSTSEC-2022-0013")),
        "regex 1.5.4 reported"
    );
    assert!(
        vulns.iter().all(|f| !f.message.contains("`time@")),
        "time 0.3.47 is fixed"
    );
}

#[test]
fn a_missing_advisory_db_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(&lock, VULNERABLE_CARGO_LOCK).expect("written");
    let scanner = Scanner::new(&deps_settings(Some(dir.path().join("empty")))).err();
    assert!(scanner.is_some(), "a missing --advisory-db is an error");
}

#[test]
fn curated_advisories_follow_the_osv_schema() {
    let Some(schema) = shared("osv-schema.json") else {
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema).expect("schema")).expect("json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut count = 0;
    for (path, text) in vibeward::rules::load::embedded_files() {
        if !path.starts_with("rules/advisories/") {
            continue;
        }
        count += 1;
        let doc: serde_json::Value = serde_json::from_str(text).expect("curated file is JSON");
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
        let refs = doc["references"].as_array().map_or(0, Vec::len);
        assert!(refs > 0, "{path}: cite a public source in `references`");
    }
    assert!(count >= 10, "only {count} curated advisories");
}

/// A zip with one OSV file, written with the `zip` crate.
fn small_archive(id: &str, ecosystem: &str, name: &str) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file(format!("{id}.json"), options)
            .expect("entry");
        let doc = format!(
            r#"{{"id":"{id}","modified":"2026-01-01T00:00:00Z","summary":"test advisory","affected":[{{"package":{{"ecosystem":"{ecosystem}","name":"{name}"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"2.0.0"}}]}}]}}]}}"#
        );
        zip.write_all(doc.as_bytes()).expect("written");
        zip.finish().expect("finished");
    }
    buf.into_inner()
}

/// Serves `routes` (path -> body) on 127.0.0.1 for `requests` requests; returns the base URL.
fn serve(routes: Vec<(String, Vec<u8>)>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let response = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{addr}")
}

#[test]
fn db_update_downloads_verifies_and_stores_both_archives() {
    let base = serve(
        vec![
            (
                "/npm/all.zip".into(),
                small_archive("GHSA-test-0001", "npm", "left-pad"),
            ),
            (
                "/crates.io/all.zip".into(),
                small_archive("RUSTSEC-2099-0001", "crates.io", "demo"),
            ),
        ],
        2,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let summary =
        vibeward::deps::update_database(Some(dir.path()), Some(&base)).expect("update works");
    assert!(summary.contains("npm: 1 advisories"), "{summary}");
    assert!(dir.path().join("npm.zip").is_file());
    assert!(dir.path().join("crates.io.zip").is_file());

    // a scan pointed at the stored folder uses it
    let project = tempfile::tempdir().expect("temp dir");
    let lock = project.path().join("package-lock.json");
    std::fs::write(
        &lock,
        r#"{"lockfileVersion": 3, "packages": {"node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": "sha512-AAAA"}}}"#,
    )
    .expect("written");
    let scanner =
        Scanner::new(&deps_settings(Some(dir.path().to_path_buf()))).expect("database loads");
    let report = scanner.scan(&[lock]).expect("scan");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.properties.get("advisory").map(String::as_str) == Some("GHSA-test-0001")),
        "{:?}",
        report.findings
    );
}

#[test]
fn db_update_refuses_a_broken_archive_and_keeps_the_old_one() {
    let base = serve(vec![("/npm/all.zip".into(), b"not a zip".to_vec())], 1);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("npm.zip"), b"previous").expect("written");
    let err = vibeward::deps::update_database(Some(dir.path()), Some(&base))
        .expect_err("a broken archive fails");
    assert!(
        err.to_string().contains("not a valid OSV archive"),
        "{err:#}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("npm.zip")).expect("kept"),
        b"previous"
    );
}

#[test]
fn db_update_that_fails_creates_no_empty_folder() {
    let base = serve(vec![("/npm/all.zip".into(), b"not a zip".to_vec())], 1);
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = parent.path().join("osv");
    vibeward::deps::update_database(Some(&dir), Some(&base)).expect_err("a broken archive fails");
    assert!(!dir.exists(), "a failed update must leave no folder behind");
}

//! Rendered output only (the text frames, the JSON document, the SARIF log), as insta snapshots.
//! Per-rule expectations live in fixtures, not here. Version and timing are redacted.

use std::path::Path;
use std::process::Command;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "api/users.ts",
        "export async function getUser(req, res) {\n  const { rows } = await pool.query(`SELECT * FROM users WHERE id = ${req.params.id}`);\n  res.json(rows[0]);\n}\n",
    );
    write(
        "api/session.js",
        "app.use(session({ secret: process.env.SESSION_SECRET, cookie: { secure: false } }));\n",
    );
    dir
}

fn scan(dir: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vibeward"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args([
            "scan",
            "--format",
            format,
            "--fail-on",
            "none",
            "--jobs",
            "2",
        ])
        .output()
        .expect("binary runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn text_report() {
    let dir = project();
    let text = scan(dir.path(), "text");
    // the elapsed time is the only thing that changes between runs
    let text = regex::Regex::new(r"in [0-9.]+s")
        .expect("valid regex")
        .replace(&text, "in [time]")
        .into_owned();
    insta::assert_snapshot!(text);
}

#[test]
fn json_report() {
    let dir = project();
    insta::assert_snapshot!(scan(dir.path(), "json"));
}

#[test]
fn sarif_report() {
    let dir = project();
    insta::assert_snapshot!(scan(dir.path(), "sarif"));
}

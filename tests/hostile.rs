//! A hostile repository, generated at test time (nothing large is committed): huge and minified
//! files, deep nesting in every format vibeward reads, invalid UTF-8 and UTF-16, NUL bytes,
//! symlink loops and links out of the tree, FIFOs, names with newlines and non-UTF-8 bytes, and
//! many tiny files. The built binary scans it as a child process; the test asserts that the scan
//! completes (exit 0 or 1, never 2 or a signal), that no analyzer failed internally, that every
//! file that must be skipped is in `skipped` with the expected reason, and that the child's peak
//! RSS stays under a limit (measured from `/proc/<pid>/status` `VmHWM` while polling).

#![allow(clippy::print_stderr)] // the measurements are printed for `-- --nocapture`

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak RSS the scan of the hostile tree may reach (debug build, several worker threads).
const RSS_LIMIT_KIB: u64 = 768 * 1024;
/// Wall-clock limit for the scan; the test fails (rather than hangs) past it.
const SCAN_LIMIT: Duration = Duration::from_secs(120);
/// Nesting depth used for every format.
const DEPTH: usize = 5_000;

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    fs::write(path, bytes).expect("write file");
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * depth + inner.len());
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// Builds the hostile tree; returns (relative path, allowed skip reasons) of the files that must
/// be reported as skipped.
#[allow(clippy::too_many_lines)]
fn build_tree(root: &Path) -> Vec<(String, &'static [&'static str])> {
    let mut must_skip: Vec<(String, &'static [&'static str])> = Vec::new();

    // --- huge and minified ---------------------------------------------------------------------
    let mut huge = String::new();
    while huge.len() < 6 * 1024 * 1024 {
        huge.push_str("function f(a) { return a + 1; }\n");
    }
    write(root, "huge/huge.js", &huge);
    must_skip.push(("huge/huge.js".into(), &["too-large"]));
    let mut minified = String::from("!function(){");
    while minified.len() < 1024 * 1024 {
        minified.push_str("var a=b(c,d)||e[f];if(a){g.h(i)}else{j=k?l:m};");
    }
    minified.push_str("}();\n");
    write(root, "dist-like/app.min.js", &minified);
    must_skip.push(("dist-like/app.min.js".into(), &["minified"]));
    // one long line just under the size limit, not named .min.js
    write(root, "src/bundle.js", &minified);
    must_skip.push(("src/bundle.js".into(), &["minified"]));

    // --- deep nesting, every format --------------------------------------------------------------
    write(
        root,
        "deep/array.js",
        format!("const x = {};\n", nested("[", "1", "]", DEPTH)),
    );
    write(
        root,
        "deep/object.js",
        format!("const x = {};\n", nested("{a:", "1", "}", DEPTH)),
    );
    write(
        root,
        "deep/call.js",
        format!("f({});\n", nested("g(", "req.query.q", ")", DEPTH)),
    );
    write(
        root,
        "deep/paren.ts",
        format!("let y: number = {};\n", nested("(", "1", ")", DEPTH)),
    );
    write(
        root,
        "deep/if.js",
        format!(
            "app.get('/x', (req, res) => {{\n{}\n}});\n",
            nested(
                "if (req.query.a) {\n",
                "db.query('SELECT ' + req.query.a);\n",
                "}\n",
                DEPTH
            )
        ),
    );
    write(
        root,
        "deep/arrow.tsx",
        format!(
            "export default {};\n",
            nested("() => ", "<div>{x}</div>", "", DEPTH)
        ),
    );
    write(root, "deep/unclosed.js", "{".repeat(DEPTH * 4));
    write(root, "deep/data.json", nested("[", "null", "]", DEPTH * 4));
    write(
        root,
        "deep/objects.json",
        nested("{\"a\":", "1", "}", DEPTH),
    );
    write(
        root,
        "deep/database.rules.json",
        format!(
            "{{\"rules\": {}}}",
            nested("{\"$x\": {\".read\": true, \"c\": ", "true", "}}", 200)
        ),
    );
    write(
        root,
        "deep2/database.rules.json",
        format!("{{\"rules\": {}}}", nested("{\"a\":", "{}", "}", DEPTH)),
    );
    write(
        root,
        "deep/firestore.rules",
        format!(
            "rules_version = '2';\nservice cloud.firestore {{\n  match /databases/{{database}}/documents {{\n{}\n  }}\n}}\n",
            nested(
                "match /c/{d} {\n allow read: if ",
                "true;\n",
                "}\n",
                DEPTH / 5
            )
        ),
    );
    write(
        root,
        "deep/storage.rules",
        format!(
            "service firebase.storage {{ match /b/{{bucket}}/o {{ allow read: if {}; }} }}\n",
            nested("(", "true", ")", DEPTH)
        ),
    );
    write(
        root,
        "deep/migrations/001_deep.sql",
        format!(
            "SELECT {};\nCREATE TABLE t (id int);\n",
            nested("(", "1", ")", DEPTH)
        ),
    );
    write(
        root,
        "deep/migrations/002_many.sql",
        "CREATE TABLE t (id int);\nALTER TABLE t ENABLE ROW LEVEL SECURITY;\n".repeat(20_000),
    );
    write(root, "deep/flow.yaml", nested("[", "1", "]", DEPTH));
    write(root, "deep/block.yml", {
        let mut s = String::new();
        for i in 0..DEPTH / 10 {
            let _ = writeln!(s, "{}k{i}:", " ".repeat(i));
        }
        s
    });
    write(
        root,
        ".github/workflows/ci.yml",
        nested("[", "1", "]", DEPTH),
    );
    write(
        root,
        "deep/config.toml",
        format!("a = {}\n", nested("[", "1", "]", DEPTH)),
    );
    write(
        root,
        "deep/inline.toml",
        format!("a = {}\n", nested("{b=", "1", "}", DEPTH)),
    );
    write(
        root,
        ".vibeward/config.toml",
        format!("x = {}\n", nested("[", "1", "]", DEPTH)),
    );
    write(root, "deep/.env", format!("KEY={}\n", "\"".repeat(200_000)));
    write(root, "deep/.env.local", "A=${B}\n".repeat(50_000));

    // --- malformed manifests and lockfiles ------------------------------------------------------
    write(root, "bad/package.json", "{\"dependencies\": {\"a\": ");
    write(
        root,
        "bad/package-lock.json",
        nested("{\"packages\":", "{}", "}", DEPTH),
    );
    write(
        root,
        "bad/yarn.lock",
        "\"a@^1\":\n  version \"\n  resolved\0\n".repeat(1000),
    );
    write(root, "bad/pnpm-lock.yaml", nested("[", "1", "]", DEPTH));
    write(
        root,
        "bad/Cargo.lock",
        "[[package]]\nname = \"a\"\nversion = \"not-a-version\"\n",
    );
    write(root, "bad/requirements.txt", "a==\n==1\n[[[\n".repeat(1000));
    write(root, "bad/composer.lock", "\u{feff}{");

    // --- encodings and NUL bytes ----------------------------------------------------------------
    write(
        root,
        "enc/latin1.js",
        b"const s = '\xe9\xe8\xff';\napp.get('/', f);\n",
    );
    write(root, "enc/nul.js", b"const a = 1;\0\0\0const b = 2;\n");
    must_skip.push(("enc/nul.js".into(), &["binary"]));
    let mut utf16 = vec![0xff, 0xfe];
    for unit in "const key = 'sk_live_x';\napp.get('/', h);\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    write(root, "enc/utf16.js", &utf16);
    must_skip.push(("enc/utf16.js".into(), &["binary", "invalid-utf8"]));
    write(root, "enc/utf16.json", &utf16);
    must_skip.push(("enc/utf16.json".into(), &["binary", "invalid-utf8"]));
    write(
        root,
        "enc/garbage.ts",
        (0..=255u8).cycle().take(4096).collect::<Vec<u8>>(),
    );
    must_skip.push(("enc/garbage.ts".into(), &["binary"]));
    write(
        root,
        "enc/bom.js",
        "\u{feff}app.get('/', (req, res) => res.send(req.query.a));\n",
    );
    write(root, "enc/crlf.sql", "CREATE TABLE a (id int);\r\n\r\r\n");

    // --- many tiny files --------------------------------------------------------------------------
    for i in 0..3_000 {
        write(
            root,
            &format!("tiny/d{}/f{i}.js", i / 100),
            format!("export const v{i} = {i};\n"),
        );
    }

    // --- names ----------------------------------------------------------------------------------
    write(root, "names/new\nline.js", "app.get('/', h);\n");
    write(root, "names/-dash.js", "x;\n");
    write(root, "names/ space .ts", "x;\n");
    #[cfg(unix)]
    {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        fs::write(
            root.join("names")
                .join(OsStr::from_bytes(b"bad\xffname.js")),
            "const k = 1;\n",
        )
        .expect("non-UTF-8 name");
    }

    // --- symlinks, FIFOs, unreadable -------------------------------------------------------------
    #[cfg(unix)]
    {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let links = root.join("links");
        fs::create_dir_all(&links).expect("links dir");
        symlink(".", links.join("self")).expect("self loop");
        symlink("..", links.join("parent")).expect("parent loop");
        symlink("b.js", links.join("a.js")).expect("a -> b");
        symlink("a.js", links.join("b.js")).expect("b -> a");
        symlink("/etc/passwd", links.join("escape.js")).expect("escape file");
        symlink("/etc", links.join("escape-dir")).expect("escape dir");
        symlink("/nonexistent/x.js", links.join("dangling.js")).expect("dangling");
        symlink("/dev/zero", links.join("zero.js")).expect("device link");
        symlink("/dev/urandom", links.join("random.json")).expect("device link");
        let fifo = root.join("fifo/pipe.js");
        fs::create_dir_all(fifo.parent().expect("parent")).expect("fifo dir");
        let made = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            eprintln!("mkfifo unavailable: the FIFO case is not exercised");
        }
        let locked = root.join("locked/secret.js");
        write(root, "locked/secret.js", "const a = 1;\n");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod 000");
    }

    must_skip
}

/// Reads `VmHWM` (peak resident set) of a live process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What a scan of the hostile tree produced.
struct Outcome {
    status: std::process::ExitStatus,
    stderr: String,
    report: serde_json::Value,
    peak_kib: Option<u64>,
    must_skip: Vec<(String, &'static [&'static str])>,
}

/// Builds the hostile tree in a temporary folder and scans it with the built binary, polling the
/// child's peak RSS.
fn scan_hostile() -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    fs::create_dir_all(&root).expect("root");
    let must_skip = build_tree(&root);
    let out = dir.path().join("report.json");

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vibeward"))
        .arg("scan")
        .arg(&root)
        .args(["--format", "json", "--fail-on", "high", "--output"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vibeward");
    let pid = child.id();
    let mut peak: Option<u64> = None;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = Some(peak.map_or(kib, |p| p.max(kib)));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > SCAN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scan of the hostile tree ran past {SCAN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = {
        use std::io::Read as _;
        let mut s = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    };
    eprintln!(
        "hostile scan: {:?}, exit {status:?}, peak RSS {}",
        started.elapsed(),
        peak.map_or_else(|| "unmeasured".to_string(), |k| format!("{} MiB", k / 1024))
    );
    let report = fs::read(&out)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    Outcome {
        status,
        stderr,
        report,
        peak_kib: peak,
        must_skip,
    }
}

/// The reason given in `skipped` for the file at `rel` (relative to the scanned root).
fn reason_of(skipped: &[serde_json::Value], rel: &str) -> Option<String> {
    skipped
        .iter()
        .find(|s| {
            s["path"]
                .as_str()
                .is_some_and(|p| p == rel || p.ends_with(&format!("/{rel}")))
        })
        .and_then(|s| s["reason"].as_str().map(str::to_string))
}

#[test]
fn hostile_repository_is_scanned_to_the_end() {
    let Outcome {
        status,
        stderr,
        report,
        peak_kib: peak,
        must_skip,
    } = scan_hostile();

    // exit 0 or 1; a signal has no code
    let code = status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "vibeward exited with {status:?}\nstderr:\n{stderr}"
    );

    let skipped = report["skipped"]
        .as_array()
        .expect("a JSON report with a skipped array");
    let internal: Vec<&serde_json::Value> = skipped
        .iter()
        .filter(|s| s["reason"] == "internal-error")
        .collect();
    assert!(internal.is_empty(), "internal errors: {internal:#?}");

    let mut missing = Vec::new();
    for (rel, allowed) in &must_skip {
        match reason_of(skipped, rel) {
            Some(r) if allowed.contains(&r.as_str()) => {}
            other => missing.push(format!("{rel}: expected one of {allowed:?}, got {other:?}")),
        }
    }
    assert!(
        missing.is_empty(),
        "problem files not reported as expected:\n{}\nskipped: {skipped:#?}",
        missing.join("\n")
    );

    // the tiny files and the readable odd names were analysed
    if std::env::var_os("HOSTILE_DUMP").is_some() {
        eprintln!("{skipped:#?}\nsummary: {:#}", report["summary"]);
    }
    let analysed = report["summary"]["files_analysed"].as_u64().unwrap_or(0);
    assert!(analysed >= 3_000, "only {analysed} files analysed");

    match peak {
        Some(kib) => assert!(
            kib < RSS_LIMIT_KIB,
            "peak RSS {} MiB is above the {} MiB limit",
            kib / 1024,
            RSS_LIMIT_KIB / 1024
        ),
        None => eprintln!("/proc/<pid>/status unavailable: peak RSS not asserted"),
    }
}

/// Files the scan reads but cannot parse (nesting beyond the parser's recursion limit) are
/// counted with a note: Realtime Database rules past `serde_json`'s recursion limit, and SQL
/// statements past sqlparser's (issue 22).
#[test]
fn unparsable_files_that_rules_read_are_noted() {
    let Outcome { report, .. } = scan_hostile();
    let skipped = report["skipped"].as_array().expect("skipped array");
    let silent: Vec<&str> = [
        "deep/database.rules.json",
        "deep2/database.rules.json",
        "deep/migrations/001_deep.sql",
    ]
    .into_iter()
    .filter(|rel| reason_of(skipped, rel).is_none())
    .collect();
    assert!(silent.is_empty(), "no note for {silent:?}");
}

//! `vibeward lsp` driven by real clients: a JSON-RPC client over the server's stdio (initialize,
//! didOpen, publishDiagnostics, codeAction, didChange, didSave, shutdown), and Neovim's built-in
//! LSP client in headless mode (skipped, with a message, where `nvim` is not installed; `.ci/run`
//! installs it).

#![allow(
    clippy::print_stderr,
    reason = "a test that cannot run here says why it skips, and timings are reported"
)]

mod common;
use common::write;

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{Value, json};

const EVAL: &str = "import express from \"express\";\nconst app = express();\napp.post(\"/calc\", (req, res) => {\n  res.json({ value: eval(req.body.expr) });\n});\n";
const MIGRATION: &str =
    "create table public.orders (\n  id bigint primary key,\n  user_id uuid\n);\n";

fn uri(path: &Path) -> String {
    vibeward::lsp::path_to_uri(path)
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Message>,
    logs: Vec<String>,
    backlog: std::collections::VecDeque<Message>,
    next: i32,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vibeward"))
            .arg("lsp")
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("vibeward lsp starts");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take().expect("stdin");
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Ok(Some(message)) = Message::read(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            messages,
            logs: Vec::new(),
            backlog: std::collections::VecDeque::new(),
            next: 0,
        };
        let init = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "workspaceFolders": [{ "uri": uri(root), "name": "project" }],
                "capabilities": {},
            }),
        );
        assert_eq!(init["serverInfo"]["name"], "vibeward", "{init}");
        assert!(init["capabilities"]["codeActionProvider"] == true);
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Message) {
        message.write(&mut self.stdin).expect("server reads");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&Notification::new(method.into(), params).into());
    }

    /// Sends a request and waits for its response (server notifications on the way are kept
    /// for `diagnostics`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.send(&Request::new(id.clone(), method.into(), params).into());
        loop {
            match self.read() {
                Message::Response(r) if r.id == id => match r.response_result {
                    Ok(result) => return result,
                    Err(e) => panic!("{method}: {e:?}"),
                },
                other => self.backlog.push_back(other),
            }
        }
    }

    /// The next message from the server.
    fn read(&mut self) -> Message {
        let message = self
            .messages
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within a minute");
        if let Message::Notification(n) = &message
            && n.method == "window/logMessage"
        {
            self.logs
                .push(n.params["message"].as_str().unwrap_or("").to_string());
        }
        message
    }

    /// The next message, kept ones first.
    fn recv(&mut self) -> Message {
        match self.backlog.pop_front() {
            Some(m) => m,
            None => self.read(),
        }
    }

    /// Waits for diagnostics of `uri` that satisfy `accept`.
    fn diagnostics(&mut self, uri: &str, accept: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Message::Notification(n) = self.recv()
                && n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == uri
            {
                let diagnostics = n.params["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if accept(&diagnostics) {
                    return diagnostics;
                }
            }
        }
        panic!("no matching diagnostics for {uri}");
    }
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

fn has(diagnostics: &[Value], code: &str) -> bool {
    codes(diagnostics).iter().any(|c| c == code)
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    write(dir.path(), "src/server.js", EVAL);
    write(
        dir.path(),
        "supabase/migrations/20240101000000_init.sql",
        MIGRATION,
    );
    dir
}

fn apply(text: &str, line: usize, insert: &str) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.insert(line, insert);
    lines.concat()
}

#[test]
fn an_editor_session_over_stdio() {
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let mut client = Client::start(&root);

    // open: diagnostics for the buffer at once
    let js = root.join("src/server.js");
    let js_uri = uri(&js);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": js_uri, "languageId": "javascript", "version": 1, "text": EVAL } }),
    );
    let diagnostics = client.diagnostics(&js_uri, |d| has(d, "injection.code-from-request"));
    let eval = diagnostics
        .iter()
        .find(|d| d["code"] == "injection.code-from-request")
        .expect("eval diagnostic")
        .clone();
    eprintln!(
        "diagnostics of src/server.js: {}",
        serde_json::to_string_pretty(&diagnostics).expect("json")
    );
    assert_eq!(eval["source"], "vibeward");
    assert_eq!(eval["range"]["start"]["line"], 3);
    assert_eq!(eval["severity"], 1);
    assert!(
        eval["codeDescription"]["href"]
            .as_str()
            .expect("href")
            .contains("code-from-request")
    );

    // code actions: an ignore comment with a reason, and the documentation
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": js_uri },
            "range": eval["range"],
            "context": { "diagnostics": [eval] },
        }),
    );
    let actions = actions.as_array().expect("actions").clone();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().expect("title"))
        .collect();
    eprintln!("code actions: {titles:?}");
    let ignore = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Ignore injection.code-from-request"))
        })
        .expect("an ignore action");
    let edit = &ignore["edit"]["changes"][&js_uri][0];
    let insert = edit["newText"].as_str().expect("newText");
    assert_eq!(
        insert,
        "  // vibeward-ignore: injection.code-from-request -- reason: <why this is safe>\n"
    );
    assert_eq!(edit["range"]["start"]["line"], 3);
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Show documentation for injection.code-from-request"))
    );

    // change: the edited buffer is analysed again after the pause, and the comment silences it
    let silenced = apply(EVAL, 3, insert);
    let sent = Instant::now();
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": js_uri, "version": 2 }, "contentChanges": [{ "text": silenced }] }),
    );
    let after = client.diagnostics(&js_uri, |d| !has(d, "injection.code-from-request"));
    let round_trip = sent.elapsed();
    assert!(after.is_empty(), "{after:?}");

    // a migration: the project pass (migration history) reports the table, with a quick fix
    let sql = root.join("supabase/migrations/20240101000000_init.sql");
    let sql_uri = uri(&sql);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": sql_uri, "languageId": "sql", "version": 1, "text": MIGRATION } }),
    );
    let diagnostics = client.diagnostics(&sql_uri, |d| has(d, "supabase.table-without-rls"));
    let table = diagnostics
        .iter()
        .find(|d| d["code"] == "supabase.table-without-rls")
        .expect("table diagnostic")
        .clone();
    eprintln!(
        "diagnostics of the migration: {}",
        serde_json::to_string_pretty(&diagnostics).expect("json")
    );
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": sql_uri },
            "range": table["range"],
            "context": { "diagnostics": [table] },
        }),
    );
    let fix = actions
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with("Fix:")))
        .expect("a quick fix")
        .clone();
    let edit = &fix["edit"]["changes"][&sql_uri][0];
    assert_eq!(
        edit["newText"],
        "\nalter table public.orders enable row level security;"
    );
    assert_eq!(edit["range"]["start"], json!({ "line": 3, "character": 2 }));
    let ignore = actions
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with("Ignore")))
        .expect("an ignore action");
    assert!(
        ignore["edit"]["changes"][&sql_uri][0]["newText"]
            .as_str()
            .expect("text")
            .starts_with("-- vibeward-ignore: supabase.table-without-rls -- reason:")
    );

    // save the fixed migration: the project-wide rules run again and the finding is gone
    let fixed = MIGRATION.replacen(
        ");\n",
        ");\nalter table public.orders enable row level security;\n",
        1,
    );
    std::fs::write(&sql, &fixed).expect("write");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": sql_uri, "version": 2 }, "contentChanges": [{ "text": fixed }] }),
    );
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": sql_uri } }),
    );
    let saved = client.diagnostics(&sql_uri, |d| {
        !has(d, "supabase.table-without-rls") && has(d, "supabase.rls-enabled-without-policy")
    });
    eprintln!("after the save: {:?}", codes(&saved));

    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.is_null());
    client.notify("exit", Value::Null);
    let status = client.child.wait().expect("server exits");
    assert!(status.success(), "{status:?}");

    let times: Vec<f64> = client
        .logs
        .iter()
        .filter_map(|l| {
            let ms = l
                .strip_prefix("vibeward: analysed ")?
                .split(" in ")
                .nth(1)?;
            ms.split(' ').next()?.parse().ok()
        })
        .collect();
    assert!(!times.is_empty(), "{:?}", client.logs);
    let max = times.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "per-file re-analysis: {times:?} ms (max {max:.1} ms); didChange to diagnostics {round_trip:?} (150 ms debounce included)"
    );
    for log in &client.logs {
        eprintln!("log: {log}");
    }
    // milliseconds, not a project scan (generous: CI machines are shared and debug builds slow)
    assert!(max < 1000.0, "{times:?}");
}

#[test]
fn neovim_shows_the_diagnostics() {
    let has_nvim = Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nvim {
        // .ci/run installs the distribution's neovim package; where it cannot (no apt, no root,
        // no mirror) the JSON-RPC client tests above still drive the server
        eprintln!(
            "SKIP lsp/neovim: nvim is not installed and could not be (apt-get install neovim)"
        );
        return;
    }
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let out = root.join("diagnostics.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/nvim_diagnostics.lua");
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-u", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("VIBEWARD_BIN", env!("CARGO_BIN_EXE_vibeward"))
        .env("VIBEWARD_ROOT", &root)
        .env("VIBEWARD_FILE", root.join("src/server.js"))
        .env("VIBEWARD_OUT", &out)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nvim starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nvim did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&out).expect("nvim wrote the diagnostics");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    eprintln!("neovim: {text}");
    assert_eq!(doc["waited"], true, "{text}");
    let eval = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "injection.code-from-request")
        .unwrap_or_else(|| panic!("no eval diagnostic: {text}"));
    assert_eq!(eval["lnum"], 3);
    assert_eq!(eval["source"], "vibeward");
    assert_eq!(eval["severity"], 1);
}

//! `vibeward mcp` driven by a real client: the official MCP Python SDK's stdio client
//! (`tests/clients/mcp_session.py`), in a virtualenv under `target/mcp-venv` that `.ci/run`
//! creates. Without it (and outside CI) the test says why it skips.

#![allow(
    clippy::print_stderr,
    reason = "a test that cannot run here says why it skips, and the session is printed"
)]

mod common;
use common::write;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const STRIPE: &str = concat!("sk_live_", "Ysx2oDu6SBwLpLThBjYi5KcfeCff6Cfp");

/// The virtualenv's Python with the `mcp` package, created on first use when possible.
fn python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mcp-venv");
    let python = venv.join("bin/python");
    let has_sdk = |p: &Path| {
        Command::new(p)
            .args(["-c", "import mcp"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_sdk(&python) {
        return Ok(python);
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 is not available ({e})"))?;
    if !created.status.success() {
        return Err(format!(
            "cannot create {}: {}",
            venv.display(),
            String::from_utf8_lossy(&created.stderr)
        ));
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "mcp"])
        .output()
        .map_err(|e| format!("pip failed to start ({e})"))?;
    if !installed.status.success() || !has_sdk(&python) {
        return Err(format!(
            "pip install mcp failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        ));
    }
    Ok(python)
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    write(
        dir.path(),
        "src/server.js",
        "app.post('/calc', (req, res) => res.json(eval(req.body.expr)));\n",
    );
    write(
        dir.path(),
        "src/keys.js",
        format!("export const stripe = \"{STRIPE}\";\n"),
    );
    write(
        dir.path(),
        "supabase/migrations/20240101000000_init.sql",
        "create table public.orders (\n  id bigint primary key,\n  user_id uuid\n);\n",
    );
    dir
}

fn call<'a>(transcript: &'a [Value], tool: &str, nth: usize) -> &'a Value {
    transcript
        .iter()
        .filter(|e| e["tool"] == tool)
        .nth(nth)
        .unwrap_or_else(|| panic!("no call {nth} of {tool}"))
}

fn rule_ids(entry: &Value) -> Vec<&str> {
    entry["structured"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("findings in {entry}"))
        .iter()
        .map(|f| f["rule_id"].as_str().expect("rule_id"))
        .collect()
}

#[test]
fn an_agent_session_over_stdio_with_the_python_sdk() {
    let python = match python() {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIP mcp: the MCP Python SDK is not available: {why}");
            return;
        }
        Err(why) => panic!("the MCP Python SDK must be installed in CI (.ci/run): {why}"),
    };
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mcp_session.py");
    let out = Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_vibeward"))
        .arg(&root)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    // no whole secret anywhere in what the agent receives
    assert!(!stdout.contains(STRIPE), "a result shows the secret");
    let transcript: Vec<Value> = serde_json::from_str(&stdout).expect("transcript JSON");
    eprintln!("{stdout}");

    let init = &transcript[0]["initialize"];
    assert_eq!(init["server"], "vibeward");
    assert_eq!(init["tools"], true);
    let tools: Vec<&str> = transcript[1]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            assert_eq!(t["has_output_schema"], true, "{t}");
            t["name"].as_str().expect("name")
        })
        .collect();
    assert_eq!(tools, ["check_code", "explain_rule", "list_rules", "scan"]);

    let all = call(&transcript, "list_rules", 0);
    assert!(
        all["structured"]["count"].as_u64().expect("count") > 100,
        "{all}"
    );
    let supabase = call(&transcript, "list_rules", 1);
    let rules = supabase["structured"]["rules"].as_array().expect("rules");
    assert!(rules.iter().all(|r| r["family"] == "supabase"));

    let doc = call(&transcript, "explain_rule", 0);
    assert_eq!(doc["structured"]["id"], "supabase.table-without-rls");
    assert!(
        doc["structured"]["fix"]
            .as_str()
            .expect("fix")
            .contains("enable row level security")
    );
    assert!(doc["structured"]["examples"]["bad"].is_string());

    // a migration not yet written: judged as a migration, with the statement to add
    let migration = call(&transcript, "check_code", 0);
    assert!(
        rule_ids(migration).contains(&"supabase.table-without-rls"),
        "{migration}"
    );
    let finding = &migration["structured"]["findings"][0];
    assert_eq!(
        finding["path"],
        "supabase/migrations/20240101000000_notes.sql"
    );
    assert_eq!(
        finding["fix"]["edit"]["new_text"],
        "\nalter table public.notes enable row level security;"
    );
    // a key in code: masked snippet, and the edit reads the environment instead
    let billing = call(&transcript, "check_code", 1);
    let finding = billing["structured"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == "secrets.stripe-live-secret-key")
        .unwrap_or_else(|| panic!("stripe key found: {billing}"));
    assert!(
        finding["snippet"]
            .as_str()
            .expect("snippet")
            .contains("sk_l****")
    );
    assert_eq!(finding["fix"]["edit"]["new_text"], "process.env.STRIPE_KEY");
    let rules_file = call(&transcript, "check_code", 2);
    assert!(
        rule_ids(rules_file)
            .iter()
            .any(|id| id.starts_with("firebase.")),
        "{rules_file}"
    );

    // the project, inside the roots the client gave
    let scan = call(&transcript, "scan", 0);
    let ids = rule_ids(scan);
    for id in [
        "supabase.table-without-rls",
        "secrets.stripe-live-secret-key",
        "injection.code-from-request",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(scan["text"][0].as_str().expect("text").contains("finding"));
    let secrets = call(&transcript, "scan", 1);
    assert!(
        rule_ids(secrets)
            .iter()
            .all(|id| id.starts_with("secrets.")),
        "{secrets}"
    );
    let critical = call(&transcript, "scan", 2);
    assert!(
        critical["structured"]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["severity"] == "critical")
    );

    // invalid calls are MCP errors (invalid params), and the session goes on
    for (tool, nth) in [
        ("scan", 3),
        ("scan", 4),
        ("scan", 5),
        ("explain_rule", 1),
        ("check_code", 4),
        ("no_such_tool", 0),
    ] {
        let entry = call(&transcript, tool, nth);
        let code = entry["error"]["code"].as_i64();
        assert!(
            matches!(code, Some(-32602 | -32601)),
            "{tool} #{nth} is not an MCP error: {entry}"
        );
    }
    // arguments that do not fit the input schema: a tool error the model can read (the SDK
    // follows the protocol here), never a crash
    let missing = call(&transcript, "check_code", 3);
    assert_eq!(missing["is_error"], true, "{missing}");
    assert!(
        missing["text"][0]
            .as_str()
            .is_some_and(|t| t.contains("filename")),
        "{missing}"
    );
    let outside = call(&transcript, "scan", 3);
    assert!(
        outside["error"]["message"]
            .as_str()
            .expect("message")
            .contains("outside"),
        "{outside}"
    );
    let hint = call(&transcript, "explain_rule", 1);
    assert!(
        hint["error"]["message"]
            .as_str()
            .expect("message")
            .contains("supabase.table-without-rls")
    );
    assert!(call(&transcript, "list_rules", 2)["structured"]["count"].as_u64() > Some(5));
}

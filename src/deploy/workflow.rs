//! GitHub Actions workflows: script injection from event text, `pull_request_target` running the
//! pull request's code, secrets printed to the log, third-party actions on movable refs.
//!
//! The triggers come from the parsed YAML; everything else is read line by line, tracking the
//! `run:` and `script:` blocks (the only places where an expression becomes code).

use std::sync::LazyLock;

use regex::Regex;
use serde_yaml_ng::Value;

use super::{Check, Extra, Sink, lines};
use crate::rules::Severity;

/// Whether the document is a workflow: `on:` (which YAML 1.1 readers turn into `true`) and a
/// `jobs:` mapping.
pub fn is_workflow(doc: &Value) -> bool {
    doc.get("jobs").and_then(Value::as_mapping).is_some()
        && (doc.get("on").is_some() || doc.get(Value::Bool(true)).is_some())
}

/// The events that start the workflow.
fn triggers(doc: &Value) -> Vec<String> {
    let on = doc.get("on").or_else(|| doc.get(Value::Bool(true)));
    match on {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Mapping(m)) => m
            .keys()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `${{ ... }}` expressions.
static EXPRESSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}").expect("static regex"));

/// Event fields whose text anyone who opens an issue, comments or pushes a branch chooses
/// (GitHub Security Lab's list of untrusted inputs).
static UNTRUSTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        github\.head_ref
        | github\.event\.(?:issue|pull_request|discussion)\.(?:title|body)
        | github\.event\.(?:comment|review|review_comment|discussion_comment)\.body
        | github\.event\.pull_request\.head\.(?:ref|label|repo\.default_branch)
        | github\.event\.(?:head_commit|commits\[[^\]]*\]|commits\.\*)\.(?:message|author\.(?:name|email))
        | github\.event\.pages\b.*\.page_name
        | github\.event\.workflow_run\.(?:head_branch|display_title|head_commit\.(?:message|author\.(?:name|email)))
        ",
    )
    .expect("static regex")
});

/// A line's indentation, the key it starts (after an optional `- `), and what follows the colon.
fn key_of(line: &str) -> Option<(usize, &str, &str)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let body = trimmed.strip_prefix("- ").map_or(trimmed, str::trim_start);
    let key_indent = indent + (trimmed.len() - body.len());
    let (key, rest) = body.split_once(':')?;
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    Some((key_indent, key, rest.trim()))
}

/// Runs the workflow checks.
pub fn check_file(sink: &mut Sink<'_, '_>, doc: &Value) {
    let text = sink.text().to_string();
    let events = triggers(doc);
    let is_pr_target = events
        .iter()
        .any(|e| e == "pull_request_target" || e == "workflow_run");
    // (indent of the key, key) of the block scalar being read, if any
    let mut block: Option<(usize, String)> = None;
    for (range, line) in lines(&text) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some((at, _)) = &block {
            if trimmed.is_empty() || indent > *at {
                code_line(sink, range.start + indent..range.end, trimmed);
                continue;
            }
            block = None;
        }
        let Some((key_indent, key, rest)) = key_of(line) else {
            continue;
        };
        let line_range = range.start + indent..range.end;
        match key {
            "run" | "script" => {
                if rest.starts_with('|') || rest.starts_with('>') {
                    block = Some((key_indent, key.to_string()));
                } else {
                    code_line(sink, line_range, rest);
                }
            }
            "uses" => unpinned_action(sink, line_range, rest),
            "ref" | "repository" if is_pr_target && checks_out_head(rest) => {
                let event = if events.iter().any(|e| e == "pull_request_target") {
                    "pull_request_target"
                } else {
                    "workflow_run"
                };
                sink.report(
                    Check::PullRequestTargetCheckout,
                    line_range,
                    Extra {
                        message: Some(format!(
                            "this workflow runs on `{event}` with the repository's secrets and a write token, and checks out the pull request's code (`{key}: {rest}`): any fork can run its own code here"
                        )),
                        ..Extra::default()
                    },
                );
            }
            _ => {}
        }
    }
}

/// Whether a checkout's `ref:`/`repository:` names the pull request's head (its code, from a fork).
fn checks_out_head(value: &str) -> bool {
    [
        "pull_request.head",
        "github.head_ref",
        "refs/pull/",
        "workflow_run.head",
    ]
    .iter()
    .any(|m| value.contains(m))
}

/// A line of shell or script: expressions of untrusted event text, and secrets printed.
fn code_line(sink: &mut Sink<'_, '_>, range: std::ops::Range<usize>, code: &str) {
    for caps in EXPRESSION.captures_iter(code) {
        let expr = caps.name("expr").map_or("", |m| m.as_str());
        if let Some(m) = UNTRUSTED.find(expr) {
            sink.report(
                Check::ScriptInjection,
                range.clone(),
                Extra {
                    message: Some(format!(
                        "`${{{{ {} }}}}` is pasted into the script before it runs: whoever writes that text (an issue title, a branch name, a commit message) runs commands with this job's token and secrets",
                        m.as_str()
                    )),
                    ..Extra::default()
                },
            );
            return;
        }
    }
    if !code.contains("secrets") {
        return;
    }
    let prints = code.split(['|', ';', '&']).next().is_some_and(|first| {
        let first = first.trim_start();
        (first.starts_with("echo ") || first.starts_with("printf ") || first.starts_with("cat "))
            && first.contains("secrets")
            && !first.contains('>')
            && !first.contains("::add-mask::")
    });
    if !prints {
        return;
    }
    let whole = code.contains("toJSON(secrets)") || code.contains("toJson(secrets)");
    let transformed = ["base64", "rev", "xxd", "od ", "sed ", "tr ", "hexdump"]
        .iter()
        .any(|t| {
            code.split_once('|')
                .is_some_and(|(_, after)| after.contains(t))
        });
    let piped_elsewhere = code.contains('|') && !transformed;
    if piped_elsewhere {
        return;
    }
    let (severity, message) = if whole || transformed {
        (
            Severity::High,
            "this step prints secrets in a form GitHub's log masking does not recognise (all secrets as JSON, or encoded): anyone who can read the run's log reads them".to_string(),
        )
    } else {
        (
            Severity::Low,
            "this step prints a secret to the job log: GitHub masks the exact value, but not a multi-line or reformatted one, and the habit leaks them".to_string(),
        )
    };
    sink.report(
        Check::SecretEchoed,
        range,
        Extra {
            message: Some(message),
            severity: Some(severity),
            ..Extra::default()
        },
    );
}

/// `uses: owner/repo@v1`: a third-party action on a tag or branch its owner can move.
fn unpinned_action(sink: &mut Sink<'_, '_>, range: std::ops::Range<usize>, value: &str) {
    let value = value
        .split(" #")
        .next()
        .unwrap_or(value)
        .trim()
        .trim_matches(['"', '\'']);
    if value.starts_with("./") || value.starts_with("docker://") {
        return;
    }
    let Some((action, reference)) = value.split_once('@') else {
        return;
    };
    let owner = action.split('/').next().unwrap_or("");
    if matches!(owner, "actions" | "github") {
        return;
    }
    let is_sha = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
    if is_sha {
        return;
    }
    sink.report(
        Check::UnpinnedAction,
        range,
        Extra {
            message: Some(format!(
                "`{action}@{reference}` runs whatever its owner points `{reference}` at next, with this job's token and secrets: pin the full commit SHA"
            )),
            ..Extra::default()
        },
    );
}

//! Dockerfiles: secrets in `ENV`/`ARG`, `.env` copied into the image, remote `ADD`, floating
//! base images.
//!
//! Instructions are read line by line, joining `\` continuations and skipping comments; only the
//! final stage's `ENV` and `ARG` reach the image users run, so references (`ENV KEY=$KEY`) count
//! there alone, while a literal secret counts in any stage (it sits in the file and the layers).

use std::ops::Range;

use super::{Check, Extra, Sink, is_placeholder_value, is_secret_var, lines};
use crate::rules::Severity;

/// Whether `display` names a Dockerfile: `Dockerfile`, `Dockerfile.prod`, `api.Dockerfile`,
/// `Containerfile` (any case).
pub fn is_dockerfile(display: &str) -> bool {
    let name = display.rsplit('/').next().unwrap_or(display);
    let lower = name.to_ascii_lowercase();
    lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
}

/// One instruction: keyword (upper case), arguments, and the range of its first line.
struct Instruction<'t> {
    keyword: String,
    args: String,
    range: Range<usize>,
    /// Where the arguments start in the file (first line only).
    args_at: usize,
    line: &'t str,
}

fn instructions(text: &str) -> Vec<Instruction<'_>> {
    let mut out: Vec<Instruction<'_>> = Vec::new();
    let mut continuing = false;
    for (range, line) in lines(text) {
        let trimmed = line.trim();
        if continuing {
            if let Some(last) = out.last_mut()
                && !trimmed.starts_with('#')
            {
                last.args.push(' ');
                last.args.push_str(trimmed.trim_end_matches('\\'));
            }
            continuing = trimmed.ends_with('\\') || trimmed.starts_with('#');
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let (keyword, rest) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        let args_at = range.start + indent + (trimmed.len() - rest.trim_start().len());
        out.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: rest.trim().trim_end_matches('\\').to_string(),
            range: range.start + indent..range.end,
            args_at,
            line,
        });
        continuing = trimmed.ends_with('\\');
    }
    out
}

/// `KEY=value KEY2="v 2"` or `KEY value` (the legacy single form), with each value's offset in
/// `args` when found there.
fn key_values(args: &str) -> Vec<(String, String)> {
    let args = args.trim();
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        // legacy `ENV KEY value` (or `ARG NAME` without a default)
        let (key, value) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        return vec![(key.to_string(), value.trim().to_string())];
    }
    let mut out = Vec::new();
    let mut rest = args;
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim();
        let after = after.trim_start();
        let (value, next) =
            if let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let end = after[1..].find(q).map_or(after.len(), |e| e + 2);
                (&after[..end], &after[end..])
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
        out.push((key.to_string(), value.to_string()));
        rest = next.trim_start();
        if rest.is_empty() {
            break;
        }
    }
    out
}

/// Runs the Dockerfile checks.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    let text = sink.text().to_string();
    let instructions = instructions(&text);
    let final_from = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .unwrap_or(0);
    let mut stages: Vec<String> = Vec::new();
    let mut build_args: Vec<String> = Vec::new();
    for (n, ins) in instructions.iter().enumerate() {
        let is_final = n >= final_from;
        match ins.keyword.as_str() {
            "FROM" => {
                build_args.clear();
                check_from(sink, ins, &stages);
                let words: Vec<&str> = ins.args.split_whitespace().collect();
                if let [.., as_kw, name] = words.as_slice()
                    && as_kw.eq_ignore_ascii_case("as")
                {
                    stages.push(name.to_ascii_lowercase());
                }
            }
            "ENV" | "ARG" => {
                for (key, value) in key_values(&ins.args) {
                    if ins.keyword == "ARG" {
                        build_args.push(key.clone());
                    }
                    if !is_secret_var(&key) {
                        continue;
                    }
                    check_secret(sink, ins, &key, &value, is_final, &build_args);
                }
            }
            "COPY" | "ADD" => check_copy(sink, ins),
            _ => {}
        }
    }
}

fn check_secret(
    sink: &mut Sink<'_, '_>,
    ins: &Instruction<'_>,
    key: &str,
    value: &str,
    is_final: bool,
    build_args: &[String],
) {
    let keyword = ins.keyword.as_str();
    if !is_placeholder_value(value) {
        let bare = value.trim_matches(['"', '\'']);
        let redact = ins.line.find(bare).filter(|_| !bare.is_empty()).map(|at| {
            let start = ins.range.start + at - (ins.line.len() - ins.line.trim_start().len());
            start..start + bare.len()
        });
        sink.report(
            Check::SecretInEnvOrArg,
            ins.range.clone(),
            Extra {
                message: Some(format!(
                    "`{keyword} {key}` writes a literal secret into the image: anyone who pulls it reads the value from its config or history"
                )),
                redact,
                ..Extra::default()
            },
        );
        return;
    }
    if !is_final {
        return;
    }
    let reference = value
        .trim_matches(['"', '\''])
        .trim_start_matches('$')
        .trim_start_matches('{')
        .split(['}', ':'])
        .next()
        .unwrap_or("");
    let message = if keyword == "ENV" && build_args.iter().any(|a| a == reference) {
        format!(
            "`ENV {key}` copies the build argument `{reference}` into the image's environment: the secret ships in every container and `docker inspect` shows it"
        )
    } else if keyword == "ARG" {
        format!(
            "`ARG {key}` passes a secret as a build argument of the final image: its value is recorded in the image history (`docker history`)"
        )
    } else {
        return;
    };
    sink.report(
        Check::SecretInEnvOrArg,
        ins.range.clone(),
        Extra {
            message: Some(message),
            severity: Some(Severity::Medium),
            ..Extra::default()
        },
    );
}

fn check_from(sink: &mut Sink<'_, '_>, ins: &Instruction<'_>, stages: &[String]) {
    let image = ins
        .args
        .split_whitespace()
        .find(|w| !w.starts_with("--"))
        .unwrap_or("");
    let lower = image.to_ascii_lowercase();
    if lower.is_empty()
        || lower == "scratch"
        || lower.contains('$')
        || lower.contains('@')
        || stages.contains(&lower)
    {
        return;
    }
    let last = lower.rsplit('/').next().unwrap_or(&lower);
    let tag = last.split_once(':').map(|(_, t)| t);
    if matches!(tag, None | Some("latest")) {
        let at = ins.args_at;
        sink.report(
            Check::FloatingBaseImage,
            at..at + image.len(),
            Extra {
                message: Some(format!(
                    "`FROM {image}` follows whatever the registry tags next: builds are not reproducible and pick up breaking or compromised images unnoticed"
                )),
                ..Extra::default()
            },
        );
    }
}

fn check_copy(sink: &mut Sink<'_, '_>, ins: &Instruction<'_>) {
    let words: Vec<&str> = ins
        .args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let Some((_, sources)) = words.split_last() else {
        return;
    };
    for src in sources {
        let s = src.trim_matches(['"', '\'', '[', ']', ',']);
        let name = s.rsplit('/').next().unwrap_or(s);
        if name == ".env"
            || (name.starts_with(".env.")
                && !["example", "sample", "template", "dist", "defaults"]
                    .iter()
                    .any(|x| name.ends_with(x)))
        {
            sink.report(
                Check::EnvFileCopied,
                ins.range.clone(),
                Extra {
                    message: Some(format!(
                        "`{} {s}` bakes the environment file into an image layer: everyone who can pull the image reads its secrets",
                        ins.keyword
                    )),
                    ..Extra::default()
                },
            );
            return;
        }
        if ins.keyword == "ADD" && (s.starts_with("http://") || s.starts_with("https://")) {
            let has_checksum = ins.args.contains("--checksum=");
            let is_git_repository = s.to_ascii_lowercase().ends_with(".git");
            if !has_checksum && !is_git_repository {
                sink.report(
                    Check::AddRemoteUrl,
                    ins.range.clone(),
                    Extra {
                        message: Some(format!(
                            "`ADD {s}` downloads into the image at build time without a checksum: whoever controls that URL controls what the image runs"
                        )),
                        ..Extra::default()
                    },
                );
                return;
            }
        }
    }
}

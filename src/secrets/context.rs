//! Where a secret sits: client-side files, client-exposed env variables, committed `.env` files.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::Regex;

use super::{Hit, allow};
use crate::discover::FileKind;
use crate::engine::FileContext;
use crate::source::SourceFile;

/// Env variable prefixes that bundlers inline into client code.
pub const CLIENT_ENV_PREFIXES: &[&str] = &[
    "NEXT_PUBLIC_",
    "VITE_",
    "EXPO_PUBLIC_",
    "REACT_APP_",
    "PUBLIC_",
    "NUXT_PUBLIC_",
    "GATSBY_",
];

/// Whether the file ends up in a browser or app bundle (one classifier for the whole scanner:
/// `platform::client_side`). Dependencies never count.
pub fn is_client_side(file: &SourceFile) -> bool {
    !file.display.contains("node_modules/")
        && crate::platform::client_side::is_client_side(&file.display, &file.text)
}

static CLIENT_ENV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\b(?P<name>(?:NEXT_PUBLIC_|VITE_|EXPO_PUBLIC_|REACT_APP_|PUBLIC_|NUXT_PUBLIC_|GATSBY_)[A-Z0-9_]+)\b(?:[ \t]*=[ \t]*["']?(?P<value>[^"'\s#]*))?"#,
    )
    .expect("static regex")
});

/// Name parts that mean a server secret.
const SECRET_NAME_PARTS: &[&str] = &[
    "SECRET",
    "SERVICE_ROLE",
    "SERVICEROLE",
    "PRIVATE_KEY",
    "MASTER_KEY",
    "MASTERKEY",
    "PASSWORD",
    "PASSWD",
    "HF_TOKEN",
    "DATABASE_URL",
    "DB_URL",
    "MONGODB_URI",
    "POSTGRES_URL",
    "ADMIN_KEY",
    "ADMIN_API_KEY",
    "ADMIN_TOKEN",
    "RESEND_API_KEY",
    "TWILIO_AUTH",
    "AWS_SECRET",
    "JWT_SECRET",
    "SIGNING_KEY",
];

/// Name parts that only name a vendor: its key is secret, its settings are not
/// (`NEXT_PUBLIC_OPENAI_MODEL`, `VITE_GEMINI_API_URL`, `NEXT_PUBLIC_OPENAI_MAX_TOKENS`).
const VENDOR_NAME_PARTS: &[&str] = &[
    "OPENAI",
    "ANTHROPIC",
    "CLAUDE",
    "GROQ",
    "MISTRAL",
    "COHERE",
    "REPLICATE",
    "HUGGINGFACE",
    "GEMINI",
    "DEEPSEEK",
    "PERPLEXITY",
    "ELEVENLABS",
    "SENDGRID",
];

/// Last name segments of a setting rather than a credential.
const SETTING_SUFFIXES: &[&str] = &[
    "MODEL",
    "MODELS",
    "MODEL_NAME",
    "MODEL_ID",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "BASE",
    "VERSION",
    "API_VERSION",
    "ENABLED",
    "DISABLED",
    "ORG",
    "ORG_ID",
    "ORGANIZATION",
    "REGION",
    "TEMPERATURE",
    "MAX_TOKENS",
    "TIMEOUT",
    "LIMIT",
    "VOICE",
    "VOICE_ID",
    "ASSISTANT_ID",
    "DEPLOYMENT",
    "LOCATION",
];

/// Whether a client-exposed variable's name says it holds a server secret: a secret word, or a
/// vendor's name followed by a word for a credential and not by a setting
/// (`VITE_OPENAI_API_KEY`, `VITE_HUGGINGFACE_TOKEN`; not `NEXT_PUBLIC_OPENAI_MODEL` nor
/// `VITE_GEMINI_LIVE_PROVIDER`, one of the many tuning flags an app reads next to its key).
fn is_secret_client_name(name: &str) -> bool {
    if PUBLIC_NAME_PARTS.iter().any(|p| name.contains(p)) {
        return false;
    }
    if SECRET_NAME_PARTS.iter().any(|p| name.contains(p)) {
        return true;
    }
    let Some(after_vendor) = VENDOR_NAME_PARTS
        .iter()
        .find_map(|p| name.find(p).map(|at| &name[at + p.len()..]))
    else {
        return false;
    };
    after_vendor
        .split('_')
        .any(|word| word.ends_with("KEY") || word.ends_with("TOKEN") || word == "AUTH")
        && !SETTING_SUFFIXES
            .iter()
            .any(|s| name.strip_suffix(s).is_some_and(|head| head.ends_with('_')))
}

/// Name parts that mean a public-by-design value.
const PUBLIC_NAME_PARTS: &[&str] = &[
    "PUBLISHABLE",
    "ANON",
    "PUBLIC_KEY",
    "SITE_KEY",
    "CLIENT_ID",
    "MEASUREMENT_ID",
    "APP_ID",
    "PROJECT_ID",
    "_URL_",
];

static SECRET_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:sk_live_|rk_live_|sk-proj-|sk-ant-|sk-[A-Za-z0-9]{20}|sb_secret_|ghp_|github_pat_|AKIA[0-9A-Z]{16}|xox[bap]-|SG\.|re_[A-Za-z0-9]{8}|gsk_|hf_[A-Za-z]{10})")
        .expect("static regex")
});

/// The client-exposed env variable detector.
#[derive(Debug)]
pub struct ClientEnv {
    /// The rule.
    pub rule_idx: usize,
}

impl ClientEnv {
    /// A detector for rule `rule_idx`.
    pub fn new(rule_idx: usize) -> Self {
        ClientEnv { rule_idx }
    }

    /// Reports each client-exposed variable (once per file and name) whose name or value looks
    /// like a server secret. In `.env` files only definitions with a real value count.
    pub(crate) fn find(
        &self,
        ctx: &FileContext<'_>,
        keyword_hits: &[Range<usize>],
        out: &mut Vec<Hit>,
    ) {
        let text = ctx.file.text.as_str();
        let is_env = ctx.file.kind == FileKind::Dotenv;
        let is_code = ctx.file.kind.is_code();
        // declarations, and code that runs on a server (Node scripts, API routes, edge
        // functions): the prefix is only a name there, nothing is bundled
        if ctx.file.kind == FileKind::Dts || (is_code && is_server_path(&ctx.file.display)) {
            return;
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut last_end = 0;
        for hit in keyword_hits {
            if hit.start < last_end {
                continue;
            }
            let w = super::window(text, hit.clone(), false);
            for caps in CLIENT_ENV.captures_iter(&text[w.clone()]) {
                let Some(name) = caps.name("name") else {
                    continue;
                };
                let name_range = w.start + name.start()..w.start + name.end();
                last_end = last_end.max(name_range.end);
                let name = name.as_str();
                if seen.contains(&name) {
                    continue;
                }
                let value = caps
                    .name("value")
                    .map(|v| w.start + v.start()..w.start + v.end())
                    .filter(|v| !v.is_empty());
                let value_text = value.clone().map_or("", |v| &text[v]);
                let value_secret = SECRET_VALUE.is_match(value_text);
                let name_secret = is_secret_client_name(name);
                if !(value_secret || name_secret) {
                    continue;
                }
                let is_definition = is_env && value.is_some() && {
                    let line_start = text[..name_range.start].rfind('\n').map_or(0, |i| i + 1);
                    let prefix = text[line_start..name_range.start].trim();
                    prefix.is_empty() || prefix == "export"
                };
                let line_start = text[..name_range.start].rfind('\n').map_or(0, |i| i + 1);
                let line_head = text[line_start..name_range.start].trim_start();
                if line_head.starts_with('#') || line_head.starts_with("//") {
                    continue;
                }
                let is_fake = value.is_none()
                    || allow::is_placeholder(value_text)
                    || value_text.starts_with('<')
                    || value_text.bytes().all(|b| b == b'*' || b == b'.');
                if is_env {
                    if !is_definition || is_fake {
                        continue;
                    }
                } else if !is_code && is_fake {
                    // docs and scripts: only a real-looking value is a leak
                    continue;
                } else if value.is_some() && !value_secret {
                    // `VITE_X = ...` in code is an assignment to a constant, not the variable
                }
                seen.push(name);
                let secret = value
                    .filter(|_| is_env)
                    .unwrap_or(name_range.end..name_range.end);
                out.push(Hit {
                    rule_idx: self.rule_idx,
                    range: name_range,
                    secret,
                    is_specific: false,
                    by_context: false,
                    severity: value_secret.then_some(crate::rules::Severity::Critical),
                    note: None,
                });
            }
        }
    }
}

/// Code under a folder that only runs on a server.
fn is_server_path(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').collect();
    let dirs = &segments[..segments.len().saturating_sub(1)];
    dirs.iter().any(|d| {
        matches!(
            *d,
            "server"
                | "api"
                | "backend"
                | "functions"
                | "scripts"
                | "migrations"
                | "edge-functions"
                | "lambda"
                | "netlify"
        )
    })
}

/// Names in `.env` files whose values are credentials.
pub(crate) fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // bundlers publish these by design; a secret among them is `client-exposed-env-secret`'s
    if CLIENT_ENV_PREFIXES.iter().any(|p| upper.starts_with(p)) {
        return false;
    }
    [
        "KEY",
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PWD",
        "CREDENTIAL",
        "PRIVATE",
        "DATABASE_URL",
        "_URI",
        "DSN",
        "AUTH",
    ]
    .iter()
    .any(|p| upper.contains(p))
        && !PUBLIC_NAME_PARTS.iter().any(|p| upper.contains(p))
        // settings about a key, not the key: `PARSE_SERVER_MASTER_KEY_IPS`, `PRIVATE_KEY_PATH`
        && !["_IPS", "_IP", "_PATH", "_FILE"]
            .iter()
            .any(|s| upper.ends_with(s))
}

/// Reports a `.env` file (not `.env.example` and friends) that holds a real credential and that
/// git would not ignore, or that git tracks anyway.
pub(crate) fn env_file_committed(ctx: &FileContext<'_>, rule_idx: usize, out: &mut Vec<Hit>) {
    let file = ctx.file;
    let name = file
        .display
        .rsplit('/')
        .next()
        .unwrap_or(&file.display)
        .to_ascii_lowercase();
    if !name.starts_with(".env") {
        return;
    }
    if [
        "example", "sample", "template", "dist", "defaults", "schema", "test", "ci",
    ]
    .iter()
    .any(|w| name.split('.').skip(2).any(|part| part == *w))
    {
        return;
    }
    let Some((range, value)) = first_real_value(file) else {
        return;
    };
    let path = absolute(&file.display);
    let ignored = is_git_ignored(&path);
    let tracked = ignored && is_tracked(&path);
    if ignored && !tracked {
        return;
    }
    out.push(Hit {
        rule_idx,
        range,
        secret: value,
        is_specific: false,
        by_context: false,
        severity: None,
        note: tracked.then(|| {
            "git tracks it although `.gitignore` lists it (ignore rules do not apply to files already committed): `git rm --cached` it".to_string()
        }),
    });
}

/// The first `NAME=value` line with a credential-like name and a real value: (line, value).
fn first_real_value(file: &SourceFile) -> Option<(Range<usize>, Range<usize>)> {
    env_assignments(&file.text)
        .find(|a| {
            a.value.len() >= 6
                && is_secret_env_name(a.key)
                && !allow::is_placeholder(a.value)
                && !super::public::is_public_value(a.key, a.value)
                && !is_local_url(a.value)
        })
        .map(|a| (a.line, a.value_range))
}

/// A URL whose credentials open a service on the developer's own machine
/// (`postgresql://postgres:postgres@localhost:5432/app`): the setup every `.env` starts with.
fn is_local_url(value: &str) -> bool {
    static LOCAL_URL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^[a-z][a-z0-9+.\-]*://[^@/\s]*@(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal)(?:[:/?]|$)",
        )
        .expect("static regex")
    });
    LOCAL_URL.is_match(value)
}

/// One `NAME=value` line of a dotenv file (`export NAME=value` too; comments are skipped).
pub(crate) struct EnvAssignment<'a> {
    /// The name, trimmed.
    pub key: &'a str,
    /// The value, trimmed, without surrounding quotes.
    pub value: &'a str,
    /// Byte range of `value` in the file.
    pub value_range: Range<usize>,
    /// Byte range of the line without its indentation and line end.
    pub line: Range<usize>,
}

/// The assignments of a dotenv file, in order.
pub(crate) fn env_assignments(text: &str) -> impl Iterator<Item = EnvAssignment<'_>> {
    let mut offset = 0;
    text.split_inclusive('\n').filter_map(move |line| {
        let start = offset;
        offset += line.len();
        let body = line.trim_end();
        let trimmed = body.trim_start();
        if trimmed.starts_with('#') {
            return None;
        }
        let decl = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let (key, value) = decl.split_once('=')?;
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let after_eq = start + body.find('=')? + 1;
        let value_start = after_eq + text[after_eq..start + body.len()].find(value)?;
        Some(EnvAssignment {
            key: key.trim(),
            value,
            value_range: value_start..value_start + value.len(),
            line: start + (body.len() - trimmed.len())..start + body.len(),
        })
    })
}

fn absolute(display: &str) -> PathBuf {
    let p = Path::new(display);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |cwd| cwd.join(p))
    }
}

/// The repository root above `path`: the nearest folder holding `.git` (a folder or a file).
fn repo_root(path: &Path) -> Option<&Path> {
    path.ancestors().skip(1).find(|d| {
        let dot_git = d.join(".git");
        crate::engine::depends_on(&dot_git);
        dot_git.exists()
    })
}

/// Whether git would ignore `path`, reading `.gitignore` files from the repository root down
/// (deeper files win) and `.git/info/exclude`, with git's own matching rules.
pub fn is_git_ignored(path: &Path) -> bool {
    crate::engine::not_cacheable(); // reads .gitignore files
    let root = repo_root(path);
    let mut dirs: Vec<&Path> = path
        .ancestors()
        .skip(1)
        .take_while(|d| root.is_none_or(|r| d.starts_with(r)))
        .collect();
    dirs.reverse();
    let mut matchers: Vec<Gitignore> = Vec::new();
    if let Some(root) = root {
        let mut b = GitignoreBuilder::new(root);
        let exclude = git_dir(root).join("info/exclude");
        crate::engine::depends_on(&exclude);
        b.add(exclude);
        if let Ok(g) = b.build() {
            matchers.push(g);
        }
    }
    for dir in dirs {
        let file = dir.join(".gitignore");
        crate::engine::depends_on(&file);
        if file.is_file() {
            let mut b = GitignoreBuilder::new(dir);
            b.add(file);
            if let Ok(g) = b.build() {
                matchers.push(g);
            }
        }
    }
    // the deepest matcher with an opinion decides, as in git
    for m in matchers.iter().rev() {
        let verdict = m.matched_path_or_any_parents(path, false);
        if verdict.is_ignore() {
            return true;
        }
        if verdict.is_whitelist() {
            return false;
        }
    }
    false
}

/// Whether git's index lists `path` (index versions 2 and 3; version 4 counts as unknown).
pub fn is_tracked(path: &Path) -> bool {
    crate::engine::not_cacheable(); // reads the git index
    let Some(root) = repo_root(path) else {
        return false;
    };
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let rel = rel.to_string_lossy().replace('\\', "/");
    let index = git_dir(root).join("index");
    crate::engine::depends_on(&index);
    let Ok(index) = std::fs::read(index) else {
        return false;
    };
    index_lists(&index, &rel)
}

/// The git directory of a repository: `.git`, or where a worktree's `.git` file points.
fn git_dir(root: &Path) -> PathBuf {
    let dot_git = root.join(".git");
    crate::engine::depends_on(&dot_git);
    if dot_git.is_file()
        && let Ok(text) = std::fs::read_to_string(&dot_git)
        && let Some(dir) = text.trim().strip_prefix("gitdir:")
    {
        let dir = Path::new(dir.trim());
        return if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            root.join(dir)
        };
    }
    dot_git
}

fn index_lists(index: &[u8], rel: &str) -> bool {
    if index.len() < 12 || &index[..4] != b"DIRC" {
        return false;
    }
    let version = u32::from_be_bytes([index[4], index[5], index[6], index[7]]);
    if !(2..=3).contains(&version) {
        return false;
    }
    let count = u32::from_be_bytes([index[8], index[9], index[10], index[11]]) as usize;
    let mut pos = 12;
    for _ in 0..count {
        // 62 bytes of stat data, sha and flags; extended flags add 2 bytes in version 3
        let Some(flags) = index.get(pos + 60..pos + 62) else {
            return false;
        };
        let extended = version == 3 && flags[0] & 0x40 != 0;
        let name_start = pos + 62 + if extended { 2 } else { 0 };
        let Some(name_len) = index[name_start.min(index.len())..]
            .iter()
            .position(|&b| b == 0)
        else {
            return false;
        };
        if &index[name_start..name_start + name_len] == rel.as_bytes() {
            return true;
        }
        let entry_len = name_start - pos + name_len;
        pos += (entry_len + 8) & !7;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gitignore_and_the_index_like_git() {
        let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if repo_root(&crate_root.join("Cargo.toml")).is_none() {
            return; // not a git checkout (e.g. a source tarball)
        }
        assert!(is_tracked(&crate_root.join("Cargo.toml")));
        assert!(!is_tracked(&crate_root.join("no-such-file.env")));
        assert!(is_git_ignored(&crate_root.join("target/debug/x")));
        assert!(!is_git_ignored(&crate_root.join("src/lib.rs")));
        let ignored = crate_root.join("fixtures/secrets/env-file-committed/ignored/.env");
        assert!(is_git_ignored(&ignored));
    }

    #[test]
    fn client_side_paths() {
        let file = |path: &str, text: &str| {
            SourceFile::new(
                path,
                FileKind::classify(Path::new(path)).unwrap_or(FileKind::Text),
                text.into(),
            )
        };
        assert!(is_client_side(&file(
            "src/app/page.tsx",
            "'use client';\nexport default 1;"
        )));
        assert!(!is_client_side(&file(
            "src/app/api/route.ts",
            "export const GET = 1;"
        )));
        assert!(is_client_side(&file("frontend/src/api.js", "")));
        assert!(!is_client_side(&file("pages/api/pay.ts", "")));
        assert!(is_client_side(&file("pages/index.tsx", "")));
        assert!(!is_client_side(&file("node_modules/x/client/index.js", "")));
    }
}

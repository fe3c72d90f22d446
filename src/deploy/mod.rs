//! The `deploy` capability: what ships the application rather than what it runs (issue 23).
//!
//! It owns the `config:` rules of the `docker` and `ci` families, each a Rust check over one kind
//! of deployment file, recognised by name or content rather than by extension:
//!
//! - [`dockerfile`]: `Dockerfile`, `*.Dockerfile`, `Dockerfile.*` (secrets in `ENV`/`ARG`, `.env`
//!   copied into the image, remote `ADD`, floating base images);
//! - [`compose`]: docker-compose files, i.e. YAML with a top-level `services:` of images or builds
//!   (host access, databases published without a real password);
//! - [`workflow`]: GitHub Actions workflows, i.e. YAML with `on:` and `jobs:` (script injection,
//!   `pull_request_target` running the pull request's code, secrets echoed, unpinned actions);
//! - [`hosting`]: `firebase.json` and `netlify.toml` publishing the project folder itself, CORS
//!   headers, and `vercel.json`/`netlify.toml` rewrites proxying to internal addresses;
//! - [`secret_response`]: JavaScript/TypeScript handlers sending an environment secret to the
//!   client (the one check here that reads a syntax tree);
//! - [`log_file`]: `*.log` files committed with the code.
//! - [`proto_function`]: hand-written deep merges and path setters that copy `__proto__` keys
//!   (a JavaScript tree check of the `injection` family);
//! - [`weak_hash`]: passwords given to fast-hash helpers of other modules (a project pass).
//! - [`serverless`]: `serverless.yml` HTTP functions without the authorizer their siblings have,
//!   and CORS allowing any origin with credentials;
//! - [`csrf`]: cookie-session apps with no CSRF defence in any module they import (a project pass).
//! - [`llm_routes`]: router-module routes reaching a paid LLM, mounted with no sign-in check or
//!   rate limit on the way (a project pass).
//!
//! Checks are line-based where a position is needed and read YAML structure with `serde_yaml_ng`
//! where meaning is; this file maps rule files to [`Check`]s and hands each file to its reader.

pub mod compose;
pub mod csrf;
pub mod dockerfile;
pub mod hosting;
pub mod llm_routes;
pub mod log_file;
pub mod proto_function;
pub mod secret_response;
pub mod serverless;
pub mod weak_hash;
pub mod workflow;

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::discover::FileKind;
use crate::engine::{Analyzer, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::rules::{RuleError, RuleSet, Severity};

/// The Rust checks behind this capability's rules, named by the rule's `config:` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// A secret-named `ENV` or `ARG` with a literal value, or passed into the final image.
    SecretInEnvOrArg,
    /// A `.env` file copied into the image.
    EnvFileCopied,
    /// `ADD https://...`: a remote file fetched without a checksum.
    AddRemoteUrl,
    /// `FROM image` or `FROM image:latest`.
    FloatingBaseImage,
    /// A compose service that is privileged, mounts the Docker socket or shares host namespaces.
    HostAccess,
    /// A database or cache published on every interface with no or a default password.
    DatabasePublished,
    /// `${{ github.event.* }}` text chosen by outsiders expanded inside `run:` or a script.
    ScriptInjection,
    /// `pull_request_target` checking out the pull request's head.
    PullRequestTargetCheckout,
    /// A secret printed to the job log.
    SecretEchoed,
    /// A third-party action referenced by a movable tag or branch.
    UnpinnedAction,
    /// Static hosting that publishes the project folder.
    ProjectRootPublished,
    /// A secret from the environment sent back in a response body.
    EnvSecretInResponse,
    /// A `*.log` file in the repository.
    LogFileCommitted,
    /// A hosting header block sending `Access-Control-Allow-Origin: *` with credentials.
    CorsWildcardWithCredentials,
    /// A hosting rewrite proxying public paths to a private, loopback or metadata address.
    RewriteToInternalHost,
    /// A password passed to a helper (often in another module) that hashes with a fast digest.
    PasswordFastHashHelper,
    /// A cookie-session app with state-changing routes and no CSRF defence in its modules.
    SessionWithoutCsrf,
    /// A `serverless.yml` HTTP function without an authorizer while its siblings have one.
    ServerlessWithoutAuthorizer,
    /// A hand-written deep merge or path setter that copies `__proto__`/`constructor` keys.
    PrototypePollutingFunction,
    /// A router-module route reaching a paid LLM, mounted with no sign-in check or rate limit.
    LlmRouteWithoutRateLimit,
}

impl Check {
    /// Every check with the name rule files use.
    pub const ALL: [(&'static str, Check); 20] = [
        ("docker-secret-in-env-or-arg", Check::SecretInEnvOrArg),
        ("docker-env-file-copied", Check::EnvFileCopied),
        ("docker-add-remote-url", Check::AddRemoteUrl),
        ("docker-floating-base-image", Check::FloatingBaseImage),
        ("docker-compose-host-access", Check::HostAccess),
        (
            "docker-compose-database-published",
            Check::DatabasePublished,
        ),
        ("ci-script-injection", Check::ScriptInjection),
        (
            "ci-pull-request-target-checkout",
            Check::PullRequestTargetCheckout,
        ),
        ("ci-secret-echoed", Check::SecretEchoed),
        ("ci-unpinned-action", Check::UnpinnedAction),
        (
            "hosting-project-root-published",
            Check::ProjectRootPublished,
        ),
        ("http-env-secret-in-response", Check::EnvSecretInResponse),
        ("http-log-file-committed", Check::LogFileCommitted),
        (
            "hosting-cors-wildcard-with-credentials",
            Check::CorsWildcardWithCredentials,
        ),
        (
            "hosting-rewrite-to-internal-host",
            Check::RewriteToInternalHost,
        ),
        (
            "crypto-password-fast-hash-helper",
            Check::PasswordFastHashHelper,
        ),
        (
            "http-session-app-without-csrf-protection",
            Check::SessionWithoutCsrf,
        ),
        (
            "hosting-serverless-function-without-authorizer",
            Check::ServerlessWithoutAuthorizer,
        ),
        (
            "injection-prototype-polluting-function",
            Check::PrototypePollutingFunction,
        ),
        (
            "llm-router-route-without-rate-limit",
            Check::LlmRouteWithoutRateLimit,
        ),
    ];
}

/// The check names this capability runs (`config:` in a rule).
pub fn builtin_names() -> Vec<String> {
    Check::ALL.iter().map(|(n, _)| (*n).to_string()).collect()
}

/// Builds the deploy analyzer from the rules naming its checks.
pub fn build(
    rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let checks = rules.builtin_checks(&Check::ALL);
    if checks.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(DeployAnalyzer { checks })))
}

/// The largest YAML file read as a compose file or workflow.
const MAX_YAML_BYTES: usize = 512 * 1024;

/// Runs every deploy check whose rule is loaded.
#[derive(Debug)]
pub struct DeployAnalyzer {
    /// (check, rule index), sorted by check.
    checks: Vec<(Check, usize)>,
}

/// Where checks report: the rules loaded and active on the current file.
pub struct Sink<'c, 'a> {
    ctx: &'c FileContext<'a>,
    checks: &'c [(Check, usize)],
    out: &'c mut Vec<Finding>,
}

/// What a check says beyond the rule's defaults.
#[derive(Default)]
pub struct Extra {
    /// A message naming what was seen.
    pub message: Option<String>,
    /// Another severity than the rule's.
    pub severity: Option<Severity>,
    /// A value no output may show in full.
    pub redact: Option<Range<usize>>,
}

impl Sink<'_, '_> {
    /// Whether `check`'s rule is loaded and active on this file.
    pub fn is_active(&self, check: Check) -> bool {
        self.rule(check).is_some()
    }

    fn rule(&self, check: Check) -> Option<usize> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, i)| *i)
            .filter(|&i| self.ctx.is_active(i))
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.ctx.file.text
    }

    /// The file's path as reported.
    pub fn display(&self) -> &str {
        &self.ctx.file.display
    }

    /// Reports `check` over `range`.
    pub fn report(&mut self, check: Check, range: Range<usize>, extra: Extra) {
        let Some(idx) = self.rule(check) else {
            return;
        };
        let mut finding = self.ctx.finding(idx, range);
        if let Some(m) = extra.message {
            finding.message = m;
        }
        if let Some(s) = extra.severity {
            finding.severity = s;
        }
        finding.redactions.extend(extra.redact);
        self.out.push(finding);
    }
}

impl Analyzer for DeployAnalyzer {
    fn name(&self) -> &'static str {
        "deploy"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.checks.iter().map(|(_, i)| *i).collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        if !self.checks.iter().any(|(_, i)| ctx.is_active(*i)) {
            return;
        }
        let mut sink = Sink {
            ctx,
            checks: &self.checks,
            out,
        };
        match ctx.file.kind {
            FileKind::Js | FileKind::Ts | FileKind::Tsx => {
                if sink.is_active(Check::EnvSecretInResponse)
                    && secret_response::may_apply(&ctx.file.text)
                    && let Some(tree) = ctx.tree()
                {
                    secret_response::check_file(&mut sink, tree.root_node());
                }
                if sink.is_active(Check::PrototypePollutingFunction)
                    && proto_function::may_apply(&ctx.file.text)
                    && let Some(tree) = ctx.tree()
                {
                    proto_function::check_file(&mut sink, tree.root_node());
                }
            }
            FileKind::Text if dockerfile::is_dockerfile(&ctx.file.display) => {
                dockerfile::check_file(&mut sink);
            }
            FileKind::Text if hosting::is_netlify_redirects(&ctx.file.display) => {
                hosting::check_redirects_file(&mut sink);
            }
            FileKind::Text if log_file::is_log_file(&ctx.file.display) => {
                log_file::check_file(&mut sink);
            }
            // compose files and workflows are small; a large YAML file is data (an OpenAPI spec,
            // translations) and not worth a full parse here
            FileKind::Yaml if ctx.file.text.len() <= MAX_YAML_BYTES => {
                let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&ctx.file.text)
                else {
                    return;
                };
                if serverless::is_serverless(&ctx.file.display) {
                    serverless::check_file(&mut sink, &doc);
                } else if workflow::is_workflow(&doc) {
                    workflow::check_file(&mut sink, &doc);
                } else if compose::is_compose(&doc) {
                    compose::check_file(&mut sink, &doc);
                }
            }
            FileKind::Json | FileKind::Toml if hosting::is_hosting_config(&ctx.file.display) => {
                hosting::check_file(&mut sink);
            }
            _ => {}
        }
    }

    fn wants_facts(&self, kind: FileKind, display: &str) -> bool {
        (self.rule_of(Check::PasswordFastHashHelper).is_some()
            || self.rule_of(Check::SessionWithoutCsrf).is_some()
            || self.rule_of(Check::LlmRouteWithoutRateLimit).is_some())
            && weak_hash::wants_facts(kind, display)
    }

    fn file_facts(&self, ctx: &FileContext<'_>) {
        if self.rule_of(Check::PasswordFastHashHelper).is_some()
            && let Some(facts) = weak_hash::facts(ctx)
        {
            ctx.emit(facts);
        }
        if self.rule_of(Check::SessionWithoutCsrf).is_some()
            && let Some(facts) = csrf::facts(ctx)
        {
            ctx.emit(facts);
        }
        if self.rule_of(Check::LlmRouteWithoutRateLimit).is_some()
            && let Some(facts) = llm_routes::facts(ctx)
        {
            ctx.emit(facts);
        }
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        if let Some(rule) = self.rule_of(Check::PasswordFastHashHelper) {
            weak_hash::check_project(project, rule, out);
        }
        if let Some(rule) = self.rule_of(Check::SessionWithoutCsrf) {
            csrf::check_project(project, rule, out);
        }
        if let Some(rule) = self.rule_of(Check::LlmRouteWithoutRateLimit) {
            llm_routes::check_project(project, rule, out);
        }
    }
}

impl DeployAnalyzer {
    /// The rule index of `check`, when its rule is loaded.
    fn rule_of(&self, check: Check) -> Option<usize> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, i)| *i)
    }
}

/// What `captures_iter` of a module-specifier regex gives as group 1, for a regex written
/// without the `\b` its `from` and `import` alternatives need: `relaxed` is the pattern with
/// those `\b` left out, and the word boundary is checked here, by hand. The same matches in the
/// same order: a match starts with one alternative (`require`, `from` and `import` start with
/// different letters), a rejected start is retried one byte later, and an accepted one resumes
/// at its end, as `captures_iter` does. Why: a Unicode `\b` makes the regex crate's lazy DFA give
/// up at a file's first non-ASCII byte and run the `PikeVM` over the rest of it (a tenth of a scan
/// of parse-server's package, issue 22).
pub(crate) fn word_bounded_specifiers<'h>(relaxed: &regex::Regex, src: &'h str) -> Vec<&'h str> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(c) = relaxed.captures_at(src, at) {
        let Some(m) = c.get(0) else { break };
        if follows_word_character(src, m.start())
            && (m.as_str().starts_with("from") || m.as_str().starts_with("import"))
        {
            // `f` and `i` are one byte: the next start is a character boundary
            at = m.start() + 1;
            continue;
        }
        out.extend(c.get(1).map(|g| g.as_str()));
        at = m.end();
    }
    out
}

/// Whether the character before byte `at` of `src` is a Unicode word character: what a `\b`
/// before a word-initial match means, checked by hand (see [`word_bounded_specifiers`]).
pub(crate) fn follows_word_character(src: &str, at: usize) -> bool {
    src[..at]
        .chars()
        .next_back()
        .is_some_and(|p| regex_syntax::try_is_word_character(p).unwrap_or(false))
}

/// A regex written with Unicode `\b`, run as the same pattern with ASCII `(?-u:\b)` over any text
/// without a non-ASCII word character. The two agree on such a text: a character next to a
/// position is either ASCII (the same word character in both) or a non-word character whose
/// neighbouring byte, 0x80 or above, is no ASCII word character either; every other part of the
/// pattern is left as written. Why: a Unicode `\b` makes the regex crate's lazy DFA give up at a
/// text's first non-ASCII byte (an em dash, a box-drawing character, a curly quote) and run the
/// `PikeVM` over the rest of it (issue 22). Each variant is compiled on first use.
pub(crate) struct WordBounded {
    /// The pattern, with Unicode `\b`.
    pattern: &'static str,
    /// `pattern` with every `\b` made ASCII.
    ascii: OnceLock<Regex>,
    /// `pattern` as written.
    unicode: OnceLock<Regex>,
}

impl WordBounded {
    /// A regex of `pattern`, which must compile and hold no `\\b` (an escaped backslash before a
    /// `b`).
    pub(crate) const fn new(pattern: &'static str) -> Self {
        WordBounded {
            pattern,
            ascii: OnceLock::new(),
            unicode: OnceLock::new(),
        }
    }

    /// The variant that gives `pattern`'s matches over `text`.
    pub(crate) fn on(&self, text: &str) -> &Regex {
        let unicode_words = !text.is_ascii()
            && text
                .chars()
                .any(|c| !c.is_ascii() && regex_syntax::try_is_word_character(c).unwrap_or(true));
        if unicode_words {
            self.unicode
                .get_or_init(|| Regex::new(self.pattern).expect("constant pattern compiles"))
        } else {
            self.ascii.get_or_init(|| {
                Regex::new(&self.pattern.replace(r"\b", r"(?-u:\b)"))
                    .expect("constant pattern compiles")
            })
        }
    }

    /// Whether the pattern matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.on(text).is_match(text)
    }

    /// The pattern's successive non-overlapping matches in `text`.
    pub(crate) fn find_iter<'r, 'h>(&'r self, text: &'h str) -> regex::Matches<'r, 'h> {
        self.on(text).find_iter(text)
    }

    /// The capture groups of the pattern's successive non-overlapping matches in `text`.
    pub(crate) fn captures_iter<'r, 'h>(&'r self, text: &'h str) -> regex::CaptureMatches<'r, 'h> {
        self.on(text).captures_iter(text)
    }
}

/// The lines of `text` with their byte ranges (without the line break).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').map(move |line| {
        let start = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        (start..start + body.len(), body)
    })
}

/// A variable name that says it holds a credential (`API_KEY`, `DB_PASSWORD`, `JWT_SECRET`), and
/// not a public identifier or a setting about one (`NEXT_PUBLIC_*`, `*_KEY_ID`, `*_PATH`).
pub(crate) fn is_secret_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let says_secret = [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "MASTER_KEY",
        "SERVICE_ROLE",
        "CREDENTIALS",
        "AUTH_KEY",
    ]
    .iter()
    .any(|p| upper.contains(p))
        || upper.ends_with("_KEY");
    let is_public = [
        "PUBLIC",
        "PUBLISHABLE",
        "ANON",
        "_ID",
        "_URL",
        "_PATH",
        "_FILE",
        "_HOST",
        "_PORT",
        "_NAME",
        "_USER",
        "_EXPIRES",
        "_EXPIRY",
        "_TTL",
        "_LENGTH",
        "_HEADER",
    ]
    .iter()
    .any(|p| upper.contains(p))
        && !upper.ends_with("SECRET")
        && !upper.ends_with("PASSWORD");
    says_secret && !is_public
}

/// A value that is not a credential: empty, a variable reference, or a template placeholder
/// (`<key>`, `{{ key }}`, `setYourMasterKey`, `your-key-here`).
pub(crate) fn is_placeholder_value(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with('<')
        || v.starts_with("{{")
        || v.to_ascii_lowercase().contains("your")
        || crate::secrets::allow::is_placeholder(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_and_public_names() {
        for name in [
            "JWT_SECRET",
            "OPENAI_API_KEY",
            "DB_PASSWORD",
            "STRIPE_SECRET_KEY",
            "NPM_TOKEN",
        ] {
            assert!(is_secret_var(name), "{name}");
        }
        for name in [
            "NEXT_PUBLIC_SUPABASE_ANON_KEY",
            "AWS_ACCESS_KEY_ID",
            "PRIVATE_KEY_PATH",
            "NODE_ENV",
            "TOKEN_EXPIRES",
            "STRIPE_PUBLISHABLE_KEY",
        ] {
            assert!(!is_secret_var(name), "{name}");
        }
    }

    #[test]
    fn placeholders_are_not_values() {
        for v in [
            "",
            "$KEY",
            "${KEY}",
            "\"\"",
            "<your-key>",
            "setYourMasterKey",
            "{{ key }}",
        ] {
            assert!(is_placeholder_value(v), "{v}");
        }
        assert!(!is_placeholder_value("f3Kq9Lz2Vx7Tn4Wp8Rb6"));
    }

    #[test]
    fn dockerfile_names() {
        for name in [
            "Dockerfile",
            "server/dockerfile",
            "Dockerfile.prod",
            "api.Dockerfile",
        ] {
            assert!(dockerfile::is_dockerfile(name), "{name}");
        }
        assert!(!dockerfile::is_dockerfile("docs/dockerfile-guide.md"));
    }

    #[test]
    fn word_bounded_specifiers_match_the_pattern_with_its_word_boundaries() {
        let original = regex::Regex::new(
            r#"(?:require\(\s*|\bfrom\s+|\bimport\s*\(?\s*)['"`]([^'"`\s]+)['"`]"#,
        )
        .expect("compiles");
        let relaxed =
            regex::Regex::new(r#"(?:require\(\s*|from\s+|import\s*\(?\s*)['"`]([^'"`\s]+)['"`]"#)
                .expect("compiles");
        for src in [
            "import a from './a'; const b = require(\"./b\"); import('./c')",
            "xfrom './a' éfrom './b' é from './c' _import('./d') reimport('./e') import './f'",
            "import './a'from './b' ; require('./c')import('./d')",
            "ñimport(\"./x\") ｆrom './y' – from `./z` 名from './w' from\n'./v'",
            "fromfrom './a' importimport('./b') from from './c'",
        ] {
            let want: Vec<&str> = original
                .captures_iter(src)
                .filter_map(|c| c.get(1).map(|m| m.as_str()))
                .collect();
            assert_eq!(word_bounded_specifiers(&relaxed, src), want, "{src}");
        }
    }
}

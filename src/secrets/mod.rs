//! The `secrets` capability: leaked keys and credentials in every text file (issue 3).
//!
//! Owns the `secret:` matcher kind of the `secrets` family. All secret rules run in ONE pass per
//! file: a single case-insensitive Aho-Corasick automaton over the text finds every keyword of
//! every rule; each hit opens a small window (its line, clipped to a few hundred bytes around the
//! hit, so minified lines cost no more than short ones) and only those windows are searched by the
//! rules' regexes. Matches then go through the shared value checks ([`allow`]), optional
//! validation in code ([`validate`]), de-duplication across rules, and context severity
//! ([`context`]). Findings carry the secret's byte range in `Finding::redactions` (the finish
//! step masks it in every output) and a redacted form under `secret`; the secret itself never
//! reaches a message or property.

pub mod allow;
pub mod context;
pub mod generic;
pub mod lookalike;
pub mod public;
pub mod records;
pub mod reuse;
pub mod spec;
pub mod validate;

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::discover::FileKind;
use crate::engine::{Analyzer, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet};
use crate::source::{ceil_char, floor_char};

use spec::{Builtin, Detector, Kind, RegexDetector, Validation};
use validate::JwtRole;

/// Bytes searched before a keyword hit on its line.
const WINDOW_BEFORE: usize = 192;
/// Bytes searched after a keyword hit on its line.
const WINDOW_AFTER: usize = 384;
/// Bytes searched after a keyword hit by multi-line rules (private keys, JSON documents).
const MULTILINE_AFTER: usize = 8192;
/// Bytes searched before a keyword hit by multi-line rules (a JWK's `d` may come before `kty`).
const MULTILINE_BEFORE: usize = 4096;

/// Minimum entropy of a GitHub/npm-shaped token whose checksum fails for it to be reported.
const UNCHECKED_TOKEN_ENTROPY: f64 = 4.0;

/// Builds the secrets analyzer from the `secret:` rules of the `secrets` family.
pub fn build(
    rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let mut detectors = Vec::new();
    // every `secret:` rule, whatever its family: `team.internal-token` works like a built-in one
    for (idx, rule) in rules.rules().iter().enumerate() {
        if let Matcher::Spec {
            kind: MatcherKind::Secret,
            spec,
        } = &rule.matcher
        {
            detectors.push(spec::compile(rule, idx, spec)?);
        }
    }
    if detectors.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(SecretsAnalyzer::new(detectors))))
}

/// What a keyword of the shared automaton wakes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// A regex detector (index into `detectors`).
    Regex(usize),
    /// The generic assignment detector.
    Generic,
    /// The client-exposed env variable detector.
    ClientEnv,
}

/// All compiled secret rules and the one keyword automaton that gates them.
pub struct SecretsAnalyzer {
    detectors: Vec<Detector>,
    /// The keywords, lower-cased (pattern ids of the automaton).
    patterns: Vec<String>,
    /// Built by the first file analysed: a scan that reads no file never needs it (issue 22).
    automaton: std::sync::OnceLock<AhoCorasick>,
    /// For each automaton pattern, what it wakes up.
    targets: Vec<Vec<Target>>,
    generic: Option<generic::Generic>,
    client_env: Option<context::ClientEnv>,
    env_committed: Option<usize>,
    key_store: Option<usize>,
    env_reuse: Option<usize>,
}

/// A candidate secret found in one file, before de-duplication.
#[derive(Debug)]
pub(crate) struct Hit {
    /// Rule index.
    pub rule_idx: usize,
    /// The range reported.
    pub range: Range<usize>,
    /// The secret's range (redacted in every output).
    pub secret: Range<usize>,
    /// Whether a provider-specific rule found it (generic hits give way to these).
    pub is_specific: bool,
    /// Whether the rule names its provider from the context (a Clerk key is `sk_live_` like a
    /// Stripe one): such a hit outranks a bare prefix match of the same secret.
    pub by_context: bool,
    /// Severity override (e.g. a service-role JWT), before context is applied.
    pub severity: Option<crate::rules::Severity>,
    /// An extra message clause.
    pub note: Option<String>,
}

impl SecretsAnalyzer {
    fn new(detectors: Vec<Detector>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut add = |keyword: &str, target: Target| {
            let key = keyword.to_ascii_lowercase();
            if let Some(p) = patterns.iter().position(|p| *p == key) {
                if !targets[p].contains(&target) {
                    targets[p].push(target);
                }
            } else {
                patterns.push(key);
                targets.push(vec![target]);
            }
        };
        let mut generic = None;
        let mut client_env = None;
        let mut env_committed = None;
        let mut key_store = None;
        let mut env_reuse = None;
        for (i, d) in detectors.iter().enumerate() {
            match &d.kind {
                Kind::Regex(r) => {
                    for k in &r.keywords {
                        add(k, Target::Regex(i));
                    }
                }
                Kind::Builtin(Builtin::GenericAssignment) => {
                    for k in generic::KEYWORDS.iter().chain(generic::PASSWORD_WORDS) {
                        add(k, Target::Generic);
                    }
                    generic = Some(generic::Generic::new(d.rule_idx));
                }
                Kind::Builtin(Builtin::ClientExposedEnv) => {
                    for k in context::CLIENT_ENV_PREFIXES {
                        add(k, Target::ClientEnv);
                    }
                    client_env = Some(context::ClientEnv::new(d.rule_idx));
                }
                Kind::Builtin(Builtin::EnvFileCommitted) => env_committed = Some(d.rule_idx),
                Kind::Builtin(Builtin::KeyStoreFile) => key_store = Some(d.rule_idx),
                Kind::Builtin(Builtin::EnvSecretReuse) => env_reuse = Some(d.rule_idx),
            }
        }
        SecretsAnalyzer {
            detectors,
            patterns,
            automaton: std::sync::OnceLock::new(),
            targets,
            generic,
            client_env,
            env_committed,
            key_store,
            env_reuse,
        }
    }

    /// The keyword automaton, built on first use.
    fn automaton(&self) -> &AhoCorasick {
        self.automaton.get_or_init(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&self.patterns)
                .or_else(|_| {
                    AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .build(&self.patterns)
                })
                .expect("short literal keywords always compile")
        })
    }

    /// Runs the regex detectors over their windows.
    fn run_regexes(
        &self,
        ctx: &FileContext<'_>,
        windows: &mut [Vec<Range<usize>>],
        hits: &mut Vec<Hit>,
    ) {
        let text = ctx.file.text.as_str();
        for (i, ranges) in windows.iter_mut().enumerate() {
            if ranges.is_empty() {
                continue;
            }
            let detector = &self.detectors[i];
            let Kind::Regex(regex) = &detector.kind else {
                continue;
            };
            if regex
                .skip_files_with
                .iter()
                .any(|w| text.contains(w.as_str()))
            {
                continue;
            }
            // a rule about default values reads them as defaults only in files that run: in a
            // scaffolding stub, an example or a test they are the template's placeholders
            if regex.weak_only && is_template_or_example(&ctx.file.display) {
                continue;
            }
            // a plain `.txt` is as often a pasted note as a document: only real docs are skipped
            if regex.skip_tests_and_docs
                && is_template_or_example(&ctx.file.display)
                && !ctx.file.display.to_ascii_lowercase().ends_with(".txt")
            {
                continue;
            }
            ranges.sort_by_key(|r| r.start);
            let mut merged: Vec<Range<usize>> = Vec::new();
            for r in ranges.drain(..) {
                match merged.last_mut() {
                    Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                    _ => merged.push(r),
                }
            }
            // a match lies inside its window: one without a literal every match holds has none
            if let Some(needles) = regex.regex.required() {
                merged.retain(|w| {
                    text.as_bytes().get(w.clone()).is_none_or(|bytes| {
                        needles
                            .iter()
                            .any(|n| memchr::memmem::find(bytes, n).is_some())
                    })
                });
                if merged.is_empty() {
                    continue;
                }
            }
            let Some(compiled) = regex.regex.get() else {
                continue;
            };
            for window in merged {
                let haystack = &text[..window.end];
                let mut at = window.start;
                while at < window.end {
                    let Some(caps) = compiled.captures_at(haystack, at) else {
                        break;
                    };
                    let whole = caps.get(0).map_or(at..at, |m| m.range());
                    at = if whole.end > whole.start {
                        whole.end
                    } else {
                        next_char(text, whole.end)
                    };
                    let Some((group, secret)) = regex
                        .groups
                        .iter()
                        .find_map(|&g| caps.get(g).map(|m| (g, m)))
                    else {
                        continue;
                    };
                    let by_context = match &regex.context {
                        Some(owner) => match owner.confirms(text, secret.start(), group) {
                            Some(named) => named,
                            None => continue,
                        },
                        None => false,
                    };
                    if regex
                        .allow_match
                        .iter()
                        .any(|a| a.is_match(&text[whole.clone()]))
                    {
                        continue;
                    }
                    // in code a default value is a literal; `password: this.password` is not one
                    if regex.weak_only
                        && ctx.file.kind.is_code()
                        && !is_quoted(text, secret.range())
                    {
                        continue;
                    }
                    // a JWT that names nobody is a credential where it is sent, a demo of the
                    // format in a test or a doc (the JWT rule skips those files likewise)
                    if regex.validate == Some(Validation::HeaderToken)
                        && secret.as_str().starts_with("eyJ")
                        && is_template_or_example(&ctx.file.display)
                        && !ctx.file.display.to_ascii_lowercase().ends_with(".txt")
                    {
                        continue;
                    }
                    if let Some(mut hit) =
                        check_match(detector.rule_idx, regex, secret.range(), whole, text)
                    {
                        hit.by_context = by_context;
                        hits.push(hit);
                    }
                }
            }
        }
    }
}

/// Applies the value checks and validation of one regex match.
fn check_match(
    rule_idx: usize,
    detector: &RegexDetector,
    secret: Range<usize>,
    whole: Range<usize>,
    text: &str,
) -> Option<Hit> {
    use crate::rules::Severity;
    let value = &text[secret.clone()];
    if value.is_empty() {
        return None;
    }
    if detector.placeholders && allow::is_placeholder(value) {
        return None;
    }
    if detector.allow.iter().any(|a| a.is_match(value)) {
        return None;
    }
    if detector.skip_comments && is_comment_line(text, secret.start) {
        return None;
    }
    let mut severity = None;
    let mut note = None;
    let is_local = detector
        .local_match
        .iter()
        .any(|a| a.is_match(&text[whole.clone()]));
    let is_weak = detector.weak.iter().any(|w| w.is_match(value))
        || ((detector.weak_only || !detector.weak.is_empty()) && allow::is_default_secret(value));
    if detector.weak_only && !is_weak {
        return None;
    }
    if is_weak {
        if is_local {
            return None;
        }
        note = Some("it is a well-known default value that anyone can guess".to_string());
    } else if allow::entropy(value) < detector.entropy {
        return None;
    } else if is_local {
        // short passwords at a development host are throw-away defaults (`val:psw@127.0.0.1`)
        if value.chars().count() < 8 {
            return None;
        }
        severity = Some(Severity::Low);
        note = Some("it points at a local development host; make sure the same password is not used elsewhere".to_string());
    }
    match detector.validate {
        // GitHub and npm publish the checksum. A random-looking token without a valid one is still
        // reported (other scanners do not check it, and a hand-edited copy of a real token fails
        // it), one step lower and saying so; a regular one is a look-alike.
        Some(Validation::GithubChecksum) if !validate::has_token_checksum(value) => {
            if allow::entropy(value) < UNCHECKED_TOKEN_ENTROPY {
                return None;
            }
            severity = Some(Severity::Medium);
            note = Some(
                "its checksum does not match, so it may be a made-up example; if it was ever real, revoke it"
                    .to_string(),
            );
        }
        None | Some(Validation::GithubChecksum) => {}
        Some(Validation::AzureSas) => {
            if !validate::is_azure_sas(&text[whole]) {
                return None;
            }
        }
        Some(Validation::BasicAuth) => {
            if !validate::is_basic_auth(value) {
                return None;
            }
        }
        Some(Validation::Jwt) => {
            validate::jwt_payload(value)?;
        }
        Some(Validation::HeaderToken) => {
            if value.starts_with("eyJ") && !validate::is_claimless_jwt(value) {
                return None;
            }
        }
        Some(Validation::SupabaseServiceRole) => match validate::jwt_role(value)? {
            JwtRole::ServiceRole => {
                severity = Some(Severity::Critical);
                note = Some("its payload claims `role: service_role`".to_string());
            }
            JwtRole::Public | JwtRole::Other => return None,
        },
        Some(Validation::JwtCredential) => {
            let claims = validate::jwt_credential(value)?;
            if let Some(clause) = claims.note() {
                note = Some(clause);
            }
        }
    }
    Some(Hit {
        rule_idx,
        range: secret.clone(),
        secret,
        is_specific: true,
        by_context: false,
        severity,
        note,
    })
}

/// Whether `range` is a whole string literal (`"..."`, `'...'` or a template literal).
fn is_quoted(text: &str, range: Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let (Some(&open), Some(&close)) = (
        range.start.checked_sub(1).and_then(|i| bytes.get(i)),
        bytes.get(range.end),
    ) else {
        return false;
    };
    open == close && matches!(open, b'"' | b'\'' | b'`')
}

/// Scaffolding stubs, examples and tests (`knexfile-js.stub`, `.env.example`, `config.sample.json`).
fn is_template_or_example(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    generic::is_test_or_doc(display)
        || [
            ".stub",
            ".example",
            ".sample",
            ".template",
            ".tpl",
            ".dist",
            ".tmpl",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
        || [
            ".example.",
            ".sample.",
            ".template.",
            "-example.",
            "_example.",
        ]
        .iter()
        .any(|infix| name.contains(infix))
}

/// Whether the line holding byte `at` is a comment line (`//`, `#`, `/*`, ` * `, `<!--`).
fn is_comment_line(text: &str, at: usize) -> bool {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let head = text[start..at].trim_start();
    ["//", "#", "/*", "*", "<!--"]
        .iter()
        .any(|c| head.starts_with(c))
}

fn next_char(text: &str, mut i: usize) -> usize {
    i += 1;
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The window of a rule that looks `lines` lines around its keyword (a client constructor names
/// the provider, the token sits on the next line): at most [`WINDOW_AFTER`] bytes per line.
pub(crate) fn window_lines(text: &str, hit: Range<usize>, lines: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut start = hit.start;
    let mut found = 0;
    while found <= lines {
        let lo = start.saturating_sub(WINDOW_AFTER);
        let Some(i) = memchr::memrchr(b'\n', &bytes[lo..start]) else {
            start = lo;
            break;
        };
        start = lo + i;
        found += 1;
    }
    // `start` sits on the newline before the first line of the window (or on the clip point)
    if found > lines {
        start += 1;
    }
    let mut end = hit.end;
    for _ in 0..=lines {
        let hi = (end + WINDOW_AFTER).min(bytes.len());
        let Some(i) = memchr::memchr(b'\n', &bytes[end..hi]) else {
            end = hi;
            break;
        };
        end += i + 1;
    }
    floor_char(text, start)..ceil_char(text, end.min(bytes.len()))
}

/// The window around a keyword hit: its line, clipped to a bounded span around the hit.
pub(crate) fn window(text: &str, hit: Range<usize>, multiline: bool) -> Range<usize> {
    let bytes = text.as_bytes();
    if multiline {
        let start = floor_char(text, hit.start.saturating_sub(MULTILINE_BEFORE));
        let end = ceil_char(text, hit.end + MULTILINE_AFTER);
        return start..end;
    }
    let lo = hit.start.saturating_sub(WINDOW_BEFORE);
    let line_start = memchr::memrchr(b'\n', &bytes[lo..hit.start]).map_or(lo, |i| lo + i + 1);
    let hi = (hit.end + WINDOW_AFTER).min(bytes.len());
    let line_end = memchr::memchr(b'\n', &bytes[hit.end..hi]).map_or(hi, |i| hit.end + i);
    floor_char(text, line_start)..ceil_char(text, line_end)
}

impl Analyzer for SecretsAnalyzer {
    fn name(&self) -> &'static str {
        "secrets"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.detectors.iter().map(|d| d.rule_idx).collect()
    }

    fn wants_facts(&self, kind: FileKind, _display: &str) -> bool {
        self.env_reuse.is_some() && kind == FileKind::Dotenv
    }

    fn file_facts(&self, ctx: &FileContext<'_>) {
        reuse::file_facts(ctx);
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        if let Some(idx) = self.env_reuse {
            reuse::check_project(project, idx, out);
        }
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let text = ctx.file.text.as_str();
        let is_lockfile = ctx.file.kind == FileKind::Lockfile;
        let mut windows: Vec<Vec<Range<usize>>> = vec![Vec::new(); self.detectors.len()];
        let mut generic_hits: Vec<Range<usize>> = Vec::new();
        let mut env_hits: Vec<Range<usize>> = Vec::new();
        for m in self.automaton().find_overlapping_iter(text) {
            for target in &self.targets[m.pattern().as_usize()] {
                match *target {
                    Target::Regex(i) => {
                        let d = &self.detectors[i];
                        if !ctx.is_active(d.rule_idx) || (is_lockfile && !d.lockfiles) {
                            continue;
                        }
                        if let Kind::Regex(r) = &d.kind
                            && r.case_sensitive_keywords
                            && !r.keywords.iter().any(|k| k.as_str() == &text[m.range()])
                        {
                            continue;
                        }
                        let w = match &d.kind {
                            Kind::Regex(r) if r.context_lines > 0 => {
                                window_lines(text, m.range(), r.context_lines)
                            }
                            Kind::Regex(r) => window(text, m.range(), r.multiline),
                            Kind::Builtin(_) => window(text, m.range(), false),
                        };
                        // consecutive hits on one line share a window
                        match windows[i].last_mut() {
                            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
                            _ => windows[i].push(w),
                        }
                    }
                    Target::Generic => {
                        if !is_lockfile {
                            generic_hits.push(m.range());
                        }
                    }
                    Target::ClientEnv => {
                        if !is_lockfile {
                            env_hits.push(m.range());
                        }
                    }
                }
            }
        }
        let mut hits = Vec::new();
        self.run_regexes(ctx, &mut windows, &mut hits);
        if let Some(g) = &self.generic
            && !generic_hits.is_empty()
            && ctx.is_active(g.rule_idx)
        {
            g.find(ctx, &generic_hits, &mut hits);
        }
        if let Some(c) = &self.client_env
            && !env_hits.is_empty()
            && ctx.is_active(c.rule_idx)
        {
            c.find(ctx, &env_hits, &mut hits);
        }
        if let Some(idx) = self.env_committed
            && ctx.is_active(idx)
            && ctx.file.kind == FileKind::Dotenv
        {
            context::env_file_committed(ctx, idx, &mut hits);
        }
        if let Some(idx) = self.key_store
            && ctx.is_active(idx)
            && text.is_empty()
            && crate::source::is_key_store(&ctx.file.display)
        {
            hits.push(Hit {
                rule_idx: idx,
                range: 0..0,
                secret: 0..0,
                is_specific: true,
                by_context: false,
                severity: None,
                note: None,
            });
        }
        let hits = dedupe(ctx.rules, hits);
        let client_side = !hits.is_empty() && context::is_client_side(ctx.file);
        for hit in hits {
            out.push(to_finding(ctx, &hit, client_side));
        }
    }
}

/// One finding per secret: overlapping hits keep the most specific, most severe rule.
fn dedupe(rules: &RuleSet, mut hits: Vec<Hit>) -> Vec<Hit> {
    let rank = |h: &Hit| {
        let rule = &rules.rules()[h.rule_idx];
        (
            h.is_specific,
            h.by_context,
            h.severity.unwrap_or(rule.severity),
            rule.confidence,
        )
    };
    hits.sort_by(|a, b| {
        rank(b)
            .cmp(&rank(a))
            .then(a.secret.start.cmp(&b.secret.start))
            .then(a.rule_idx.cmp(&b.rule_idx))
    });
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits {
        let overlaps = kept.iter().any(|k| {
            k.secret.start < h.secret.end
                && h.secret.start < k.secret.end
                && !(k.rule_idx != h.rule_idx && is_separate_rule(rules, k, &h))
        });
        if !overlaps {
            kept.push(h);
        }
    }
    kept.sort_by_key(|h| (h.range.start, h.rule_idx));
    kept
}

/// Rules that report something else than "a secret is here" keep their own finding even when a
/// provider rule found the same secret (the committed `.env`, the client-exposed variable).
fn is_separate_rule(rules: &RuleSet, a: &Hit, b: &Hit) -> bool {
    let separate = |h: &Hit| {
        matches!(
            rules.rules()[h.rule_idx].id.as_str(),
            "secrets.env-file-committed" | "secrets.client-exposed-env-secret"
        )
    };
    separate(a) || separate(b)
}

fn to_finding(ctx: &FileContext<'_>, hit: &Hit, client_side: bool) -> Finding {
    let text = ctx.file.text.as_str();
    let mut f = ctx.finding(hit.rule_idx, hit.range.clone());
    if let Some(s) = hit.severity {
        f.severity = s;
    }
    if let Some(note) = &hit.note {
        f.message = format!("{}: {note}", f.message);
    }
    if client_side {
        f.severity = raise(f.severity);
        f.message = format!(
            "{}; this file is bundled to browsers or apps, where anyone can read it",
            f.message
        );
        f.properties.insert("context".into(), "client-side".into());
    }
    if !hit.secret.is_empty() {
        let secret = &text[hit.secret.clone()];
        f.redactions.push(hit.secret.clone());
        f.properties
            .insert("secret".into(), allow::redacted(secret));
    }
    f
}

fn raise(s: crate::rules::Severity) -> crate::rules::Severity {
    use crate::rules::Severity;
    match s {
        Severity::Info => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

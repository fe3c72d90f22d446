//! The `secret:` matcher: its YAML shape ([`RawSecret`]) and the compiled [`Detector`].
//!
//! ```yaml
//! secret:
//!   regex: '\b(?P<secret>sk_live_[0-9a-zA-Z]{24,99})\b'   # group `secret` (or group 1) is the secret
//!   keywords: [sk_live_]      # case-insensitive; where the regex runs (default: the rule's triggers)
//!   entropy: 3.0              # minimum Shannon entropy of the secret (bits per char)
//!   allow: ['^sk_live_0+$']   # extra allowlist regexes on the secret
//!   placeholders: true        # skip placeholders (`xxx`, `<...>`, `${...}`, `...EXAMPLE`); default true
//!   validate: github-checksum # a check in code: github-checksum | jwt | supabase-service-role |
//!                             # jwt-credential | azure-sas (on the whole match) | basic-auth |
//!                             # header-token
//!   multiline: false          # the regex may span lines (private keys, JSON documents)
//!   context-lines: 0          # also search this many lines around the keyword's line
//!   weak-only: false          # report only well-known defaults (`weak` or default-secret words)
//!   skip-comments: false      # ignore matches on comment lines (documentation examples)
//!   skip-tests-and-docs: false # ignore tests, mocks, docs and example files (`.env.example`)
//!   case-sensitive-keywords: false # keywords wake the regex only in their exact case (`SK`, not `task`)
//!   lockfiles: false          # also scan lockfiles (integrity hashes are noise: default off)
//!   allow-match: ['@localhost']   # allowlist regexes on the whole match
//!   weak: ['^(?i:password|root)$'] # well-known defaults: named as such, dropped at local hosts
//!   local-match: ['@localhost\b'] # the match points at a development host: reported low
//!   skip-files-with: [authDomain]  # files containing one of these literals are public by design
//!   context:                  # whose key is it (`sk_live_` is Stripe's and Clerk's)
//!     line: [clerk]           # words (any case) before the secret on its line that name the owner
//!     file: ['@clerk/']       # literals in the file that name it when the line names no other
//!     other: [stripe]         # words of other owners: on the line they reject, in the file
//!                             # they stop the file fallback (alone: the line test only)
//!     groups: [secret2]       # only these groups need the context (default: every group)
//!   detector: generic-assignment  # instead of a regex: a detector written in Rust (also
//!                                 # client-exposed-env, env-file-committed, key-store-file,
//!                                 # env-secret-reuse)
//! ```

use std::sync::OnceLock;

use regex::Regex;
use regex_syntax::ast::{Ast, GroupKind};
use regex_syntax::hir::{Hir, HirKind};
use serde::Deserialize;

use crate::rules::{Rule, RuleError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each bool is an independent YAML switch"
)]
struct RawSecret {
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default = "yes")]
    placeholders: bool,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default)]
    multiline: bool,
    #[serde(default)]
    lockfiles: bool,
    #[serde(default)]
    detector: Option<String>,
    #[serde(default, rename = "allow-match")]
    allow_match: Vec<String>,
    #[serde(default, rename = "skip-files-with")]
    skip_files_with: Vec<String>,
    #[serde(default)]
    weak: Vec<String>,
    #[serde(default, rename = "local-match")]
    local_match: Vec<String>,
    #[serde(default, rename = "context-lines")]
    context_lines: usize,
    #[serde(default, rename = "weak-only")]
    weak_only: bool,
    #[serde(default, rename = "skip-comments")]
    skip_comments: bool,
    #[serde(default, rename = "skip-tests-and-docs")]
    skip_tests_and_docs: bool,
    #[serde(default, rename = "case-sensitive-keywords")]
    case_sensitive_keywords: bool,
    #[serde(default)]
    context: Option<RawContext>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    #[serde(default)]
    line: Vec<String>,
    #[serde(default)]
    file: Vec<String>,
    #[serde(default)]
    other: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Which provider owns a secret whose shape several share: the words that name the owner on
/// the secret's line, the literals that name it in the file, and the words of other owners.
#[derive(Debug, Default)]
pub struct OwnerContext {
    /// Lowercase words; one on the line before the secret confirms the owner.
    pub line: Vec<String>,
    /// Literals; one in the file confirms the owner when the line names no other.
    pub file: Vec<String>,
    /// Lowercase words of other owners: on the line they reject the match; in the file they
    /// disable the file fallback.
    pub other: Vec<String>,
    /// Capture groups that need the context (empty: every group).
    pub groups: Vec<usize>,
}

impl OwnerContext {
    /// Whether the secret at `secret_start`, found by group `group`, belongs to this owner:
    /// `None` if not, `Some(true)` if the line or the file names the owner, `Some(false)` if
    /// nothing rejects it but nothing names the owner either (a rule with only `other` words, or
    /// a group that needs no context).
    pub fn confirms(&self, text: &str, secret_start: usize, group: usize) -> Option<bool> {
        let needs_owner = !self.line.is_empty() || !self.file.is_empty();
        if !self.groups.is_empty() && !self.groups.contains(&group) {
            return Some(needs_owner);
        }
        let line_start = text[..secret_start].rfind('\n').map_or(0, |i| i + 1);
        let before = text[line_start..secret_start].to_ascii_lowercase();
        if self.line.iter().any(|w| before.contains(w.as_str())) {
            return Some(true);
        }
        if self.other.iter().any(|w| before.contains(w.as_str())) {
            return None;
        }
        if !needs_owner {
            return Some(false);
        }
        if !self.file.iter().any(|w| text.contains(w.as_str())) {
            return None;
        }
        let lower = text.to_ascii_lowercase();
        (!self.other.iter().any(|w| lower.contains(w.as_str()))).then_some(true)
    }
}

fn yes() -> bool {
    true
}

/// A check written in code that a regex match must pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// GitHub/npm token CRC32 checksum in the last six characters.
    GithubChecksum,
    /// A decodable JWT (header with `alg`, JSON payload).
    Jwt,
    /// A JWT whose payload role is `service_role`; `anon` keys are public and never reported.
    SupabaseServiceRole,
    /// A signed JWT that is a credential: not a public `anon` key, not a documented example,
    /// not a service-role key (its own rule reports those).
    JwtCredential,
    /// An Azure SAS query string whose fields are well formed (checked on the whole match).
    AzureSas,
    /// base64 of `user:password` with both parts present (a Docker config `auth`).
    BasicAuth,
    /// A header credential: any token, but a JWT only when it names no holder
    /// ([`super::validate::is_claimless_jwt`]); the JWT rules judge the others.
    HeaderToken,
}

/// Detectors written in Rust, chosen by `detector:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// Secret-named assignments with a high-entropy literal.
    GenericAssignment,
    /// Client-exposed env variable names (`NEXT_PUBLIC_...`) holding secrets.
    ClientExposedEnv,
    /// `.env` files with real values that git would not ignore.
    EnvFileCommitted,
    /// Key store files (`.p12`, `.pfx`, `.jks`, `.keystore`), reported as files.
    KeyStoreFile,
    /// One credential in the env files of production and another environment.
    EnvSecretReuse,
}

/// What a rule runs.
#[derive(Debug)]
pub enum Kind {
    /// A keyword-gated regex (boxed: far larger than a builtin's name).
    Regex(Box<RegexDetector>),
    /// A detector written in Rust.
    Builtin(Builtin),
}

/// A regex checked when its rule loads and compiled on first use: a scan runs only the detectors
/// whose keywords occur, and compiling all 100 up front was half of the start-up time (which is
/// most of a pre-commit run).
#[derive(Debug)]
pub struct LazyRegex {
    source: String,
    compiled: OnceLock<Option<Regex>>,
    /// See [`LazyRegex::required`].
    required: OnceLock<Option<Vec<Vec<u8>>>>,
}

impl LazyRegex {
    /// Checks the syntax of `source` (what `Regex::new` would reject) without compiling it, and
    /// reads its capture groups. With `full` unset (embedded rules, proven to compile by
    /// `tests/rules_meta.rs`) the pattern is not parsed at all and its groups are read from the
    /// text ([`scanned_capture_groups`]): translating the Unicode classes was a tenth of
    /// start-up, and parsing the syntax trees a fifth of what was left (issue 22).
    fn new(source: &str, full: bool) -> Result<(Self, Vec<CaptureGroup>), String> {
        let mut captures = Vec::new();
        if full {
            let hir = regex_syntax::Parser::new()
                .parse(source)
                .map_err(|e| e.to_string())?;
            capture_groups(&hir, &mut captures);
        } else if let Some(scanned) = scanned_capture_groups(source) {
            captures = scanned;
        } else {
            let ast = regex_syntax::ast::parse::Parser::new()
                .parse(source)
                .map_err(|e| e.to_string())?;
            ast_capture_groups(&ast, &mut captures);
        }
        Ok((
            LazyRegex {
                source: source.to_string(),
                compiled: OnceLock::new(),
                required: OnceLock::new(),
            },
            captures,
        ))
    }

    /// A regex of an embedded rule, whose syntax a test checks (`every_builtin_secret_regex_compiles`).
    fn unchecked(source: &str) -> Self {
        LazyRegex {
            source: source.to_string(),
            compiled: OnceLock::new(),
            required: OnceLock::new(),
        }
    }

    /// The compiled regex; `None` only if it exceeds the compiled-size limit (builtin patterns
    /// are proven to compile by a test).
    pub fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(&ascii_classes(&self.source)).ok())
            .as_ref()
    }

    /// Whether the regex matches `text` (false if it could not be compiled).
    pub fn is_match(&self, text: &str) -> bool {
        self.get().is_some_and(|r| r.is_match(text))
    }

    /// Byte strings one of which every match contains (`None`: none known), read from the
    /// pattern's syntax tree on first use. Where none of them occurs the regex cannot match, so
    /// it need not run there, nor be compiled for a file where it occurs nowhere: compiling the
    /// regexes whose keywords occur was a twelfth of a scan of parse-server's package, most of
    /// them woken by words such as `eyJ` or `dapi` in other case or inside longer words (issue 22).
    pub fn required(&self) -> Option<&[Vec<u8>]> {
        self.required
            .get_or_init(|| {
                let hir = regex_syntax::Parser::new().parse(&self.source).ok()?;
                required_literals(&hir).filter(|set| set.len() <= MAX_REQUIRED)
            })
            .as_deref()
    }
}

/// The most literals [`LazyRegex::required`] keeps: a longer list costs more to look for than it
/// saves.
const MAX_REQUIRED: usize = 32;

/// Literals one of which every match of `hir` contains, or `None`. Sound by construction: a
/// literal is in every match of itself; a capture, and a repetition of at least one, contain a
/// match of their body; a sequence contains a match of each item (the item with the longest
/// shortest literal is kept); an alternation a match of one branch (all branches must know).
/// Classes (case-insensitive letters among them), assertions and optional parts give `None`.
fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required_literals(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => {
            required_literals(&repetition.sub)
        }
        HirKind::Concat(items) => items
            .iter()
            .filter_map(required_literals)
            .max_by_key(|set| set.iter().map(Vec::len).min().unwrap_or(0)),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required_literals(branch)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// A capture group of a pattern: its index and its name, if any.
type CaptureGroup = (u32, Option<String>);

/// The capture groups of a parsed pattern: (index, name), in order.
fn capture_groups(hir: &Hir, out: &mut Vec<CaptureGroup>) {
    match hir.kind() {
        HirKind::Capture(c) => {
            out.push((c.index, c.name.as_deref().map(str::to_string)));
            capture_groups(&c.sub, out);
        }
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            for sub in subs {
                capture_groups(sub, out);
            }
        }
        HirKind::Repetition(r) => capture_groups(&r.sub, out),
        _ => {}
    }
}

/// [`capture_groups`] read from the syntax tree, before translation (the same groups, as a unit
/// test checks for every embedded pattern).
fn ast_capture_groups(ast: &Ast, out: &mut Vec<CaptureGroup>) {
    match ast {
        Ast::Group(g) => {
            match &g.kind {
                GroupKind::CaptureIndex(index) => out.push((*index, None)),
                GroupKind::CaptureName { name, .. } => {
                    out.push((name.index, Some(name.name.clone())));
                }
                GroupKind::NonCapturing(_) => {}
            }
            ast_capture_groups(&g.ast, out);
        }
        Ast::Concat(c) => {
            for sub in &c.asts {
                ast_capture_groups(sub, out);
            }
        }
        Ast::Alternation(a) => {
            for sub in &a.asts {
                ast_capture_groups(sub, out);
            }
        }
        Ast::Repetition(r) => ast_capture_groups(&r.ast, out),
        _ => {}
    }
}

/// The capture groups of a pattern read from its text, without a parser: every `(` outside a
/// class and not escaped opens a group, capturing unless it starts `(?` (named when it starts
/// `(?P<name>` or `(?<name>`). `None` for verbose patterns (`x` flag), whose comments may hold
/// parentheses; the caller parses those. A unit test checks it against the parser for every
/// embedded pattern.
/// `pattern` with its `\w`, `\d` and `\s` made ASCII (`[[:word:]]`, `[0-9]`, `[[:space:]]`, and
/// the same inside brackets), as in the RE2 patterns of the dedicated secret scanners: tokens are
/// ASCII, and a Unicode `\w` repeated `{0,40}` times compiles to megabytes (the secret rules'
/// regexes took 81 MB compiled, 25 MB with ASCII classes; issue 22). Negated classes (`\W`,
/// `\S`, `\D`) and `\p{...}` are left as written.
fn ascii_classes(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains(['w', 'd', 's']) || !pattern.contains('\\') {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    // bracket depth: `[[:alpha:]x]` and `[a-z&&[^q]]` nest
    let mut depth = 0usize;
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, next)) = chars.next() else {
                    out.push(c);
                    break;
                };
                let (outside, inside) = match next {
                    'w' => ("[[:word:]]", "[:word:]"),
                    'd' => ("[0-9]", "0-9"),
                    's' => ("[[:space:]]", "[:space:]"),
                    _ => {
                        out.push(c);
                        out.push(next);
                        continue;
                    }
                };
                out.push_str(if depth > 0 { inside } else { outside });
            }
            '[' => {
                out.push(c);
                if depth > 0 && pattern[i..].starts_with("[:") {
                    // a POSIX class inside brackets: copy it whole
                    if let Some(end) = pattern[i..].find(":]") {
                        out.push_str(&pattern[i + 1..i + end + 2]);
                        while chars.peek().is_some_and(|&(j, _)| j < i + end + 2) {
                            chars.next();
                        }
                        continue;
                    }
                }
                depth += 1;
                // a leading `^` and a leading `]` belong to the class
                if chars.peek().is_some_and(|&(_, n)| n == '^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek().is_some_and(|&(_, n)| n == ']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn scanned_capture_groups(source: &str) -> Option<Vec<CaptureGroup>> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut class_depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => {
                class_depth += 1;
                // `]` right after `[` or `[^` is a literal
                if bytes.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if bytes.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b']' if class_depth > 0 => class_depth -= 1,
            b'(' if class_depth == 0 => {
                let rest = &source[i + 1..];
                let name = rest
                    .strip_prefix("?P<")
                    .or_else(|| rest.strip_prefix("?<"))
                    .and_then(|r| r.split_once('>'))
                    .map(|(name, _)| name.to_string());
                if let Some(name) = name {
                    out.push((out.len() as u32 + 1, Some(name)));
                } else if let Some(flags) = rest.strip_prefix('?') {
                    let flags = flags.split([':', ')']).next().unwrap_or("");
                    if flags.contains('x') {
                        return None;
                    }
                } else {
                    out.push((out.len() as u32 + 1, None));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(out)
}

/// A compiled regex detector.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each bool is an independent YAML switch"
)]
pub struct RegexDetector {
    /// The regex.
    pub regex: LazyRegex,
    /// Capture groups that may hold the secret (`secret`, `secret2`, ...; else group 1); the first
    /// that participates in a match is the secret.
    pub groups: Vec<usize>,
    /// Case-insensitive keywords that gate the regex (never empty).
    pub keywords: Vec<String>,
    /// Minimum entropy of the secret.
    pub entropy: f64,
    /// Extra allowlist.
    pub allow: Vec<LazyRegex>,
    /// Whether placeholders are skipped.
    pub placeholders: bool,
    /// A check in code.
    pub validate: Option<Validation>,
    /// Whether a match may span lines.
    pub multiline: bool,
    /// Allowlist on the whole match (e.g. a database URI pointing at localhost).
    pub allow_match: Vec<LazyRegex>,
    /// Literal strings that make a file public-by-design for this rule (e.g. a Firebase web
    /// config for Google API keys).
    pub skip_files_with: Vec<String>,
    /// Well-known default values (`keyboard cat`, `postgres`): reported as guessable, except at a
    /// local development host, where they are the expected setup.
    pub weak: Vec<LazyRegex>,
    /// Whole-match patterns of a local development host (`@localhost`): findings there are low.
    pub local_match: Vec<LazyRegex>,
    /// Lines searched before and after the keyword's line (0: the line only).
    pub context_lines: usize,
    /// Only well-known default values are reported (the rule is about defaults, not secrets).
    pub weak_only: bool,
    /// Matches on comment lines (`//`, `#`, ` * `) are documentation examples, not code.
    pub skip_comments: bool,
    /// Tests, mocks, docs and example files hold demo values of this kind (signed JWTs), not
    /// credentials: the rule does not run there.
    pub skip_tests_and_docs: bool,
    /// Keywords wake the regex only in their exact case: a two-letter prefix such as Twilio's
    /// `SK` would otherwise open a window at every `task` and `risk`.
    pub case_sensitive_keywords: bool,
    /// Who owns a shared shape; a confirmed match outranks a bare prefix match of another rule.
    pub context: Option<OwnerContext>,
}

/// A compiled secret rule.
#[derive(Debug)]
pub struct Detector {
    /// Index of the rule in the rule set.
    pub rule_idx: usize,
    /// What runs.
    pub kind: Kind,
    /// Whether lockfiles are scanned.
    pub lockfiles: bool,
}

/// Compiles a rule's `secret:` specification.
pub fn compile(
    rule: &Rule,
    rule_idx: usize,
    spec: &serde_yaml_ng::Value,
) -> Result<Detector, RuleError> {
    let error = |field: &str, message: String| RuleError::Field {
        source_name: rule.source.clone(),
        id: rule.id.clone(),
        field: format!("secret.{field}"),
        message,
    };
    let raw = RawSecret::deserialize(spec).map_err(|e| {
        error(
            "",
            format!("{e}; expected `regex` with `keywords` (or `detector`)"),
        )
    })?;
    let kind = match (&raw.regex, &raw.detector) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(error(
                "regex",
                "write exactly one of `regex` and `detector`".into(),
            ));
        }
        (None, Some(name)) => Kind::Builtin(match name.as_str() {
            "generic-assignment" => Builtin::GenericAssignment,
            "client-exposed-env" => Builtin::ClientExposedEnv,
            "env-file-committed" => Builtin::EnvFileCommitted,
            "key-store-file" => Builtin::KeyStoreFile,
            "env-secret-reuse" => Builtin::EnvSecretReuse,
            other => {
                return Err(error(
                    "detector",
                    format!(
                        "unknown detector `{other}`: expected generic-assignment, client-exposed-env, env-file-committed, key-store-file or env-secret-reuse"
                    ),
                ));
            }
        }),
        (Some(pattern), None) => {
            let full = !rule.embedded;
            let (regex, captures) = LazyRegex::new(pattern, full).map_err(|e| error("regex", e))?;
            let mut groups: Vec<usize> = captures
                .iter()
                .filter(|(_, n)| n.as_deref().is_some_and(|n| n.starts_with("secret")))
                .map(|(i, _)| *i as usize)
                .collect();
            if groups.is_empty() {
                groups.push(1);
            }
            if groups[0] > captures.len() {
                return Err(error(
                    "regex",
                    "add a capture group around the secret: `(?P<secret>...)`".into(),
                ));
            }
            let keywords: Vec<String> = if raw.keywords.is_empty() {
                rule.triggers.clone()
            } else {
                raw.keywords.clone()
            };
            if keywords.is_empty() || keywords.iter().any(|k| k.len() < 2) {
                return Err(error(
                    "keywords",
                    "list the literal strings (2+ chars) near which the regex runs, e.g. `[sk_live_]`"
                        .into(),
                ));
            }
            // their groups are not used: an embedded rule's (proven to compile) are not read
            let regexes = |list: &[String], field: &str| {
                list.iter()
                    .map(|a| {
                        if full {
                            LazyRegex::new(a, full)
                                .map(|(r, _)| r)
                                .map_err(|e| error(field, e))
                        } else {
                            Ok(LazyRegex::unchecked(a))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            let allow = regexes(&raw.allow, "allow")?;
            let allow_match = regexes(&raw.allow_match, "allow-match")?;
            let weak = regexes(&raw.weak, "weak")?;
            let local_match = regexes(&raw.local_match, "local-match")?;
            let validate = match raw.validate.as_deref() {
                None => None,
                Some("github-checksum") => Some(Validation::GithubChecksum),
                Some("jwt") => Some(Validation::Jwt),
                Some("supabase-service-role") => Some(Validation::SupabaseServiceRole),
                Some("jwt-credential") => Some(Validation::JwtCredential),
                Some("azure-sas") => Some(Validation::AzureSas),
                Some("basic-auth") => Some(Validation::BasicAuth),
                Some("header-token") => Some(Validation::HeaderToken),
                Some(other) => {
                    return Err(error(
                        "validate",
                        format!(
                            "unknown validation `{other}`: expected github-checksum, jwt, supabase-service-role, jwt-credential, azure-sas, basic-auth or header-token"
                        ),
                    ));
                }
            };
            let context = match &raw.context {
                None => None,
                Some(c) => {
                    let mut groups = Vec::new();
                    for name in &c.groups {
                        let Some(&(i, _)) = captures
                            .iter()
                            .find(|(_, n)| n.as_deref() == Some(name.as_str()))
                        else {
                            return Err(error(
                                "context.groups",
                                format!("no capture group named `{name}` in the regex"),
                            ));
                        };
                        groups.push(i as usize);
                    }
                    if c.line.is_empty() && c.file.is_empty() && c.other.is_empty() {
                        return Err(error(
                            "context",
                            "list the words that name the owner under `line` or `file`, or those of other owners under `other`".into(),
                        ));
                    }
                    let lower = |v: &[String]| v.iter().map(|w| w.to_ascii_lowercase()).collect();
                    Some(OwnerContext {
                        line: lower(&c.line),
                        file: c.file.clone(),
                        other: lower(&c.other),
                        groups,
                    })
                }
            };
            Kind::Regex(Box::new(RegexDetector {
                regex,
                groups,
                keywords,
                entropy: raw.entropy.unwrap_or(0.0),
                allow,
                placeholders: raw.placeholders,
                validate,
                multiline: raw.multiline,
                allow_match,
                skip_files_with: raw.skip_files_with.clone(),
                weak,
                local_match,
                context_lines: raw.context_lines.min(20),
                weak_only: raw.weak_only,
                skip_comments: raw.skip_comments,
                skip_tests_and_docs: raw.skip_tests_and_docs,
                case_sensitive_keywords: raw.case_sensitive_keywords,
                context,
            }))
        }
    };
    Ok(Detector {
        rule_idx,
        kind,
        lockfiles: raw.lockfiles,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_digit_and_space_classes_become_ascii() {
        use super::ascii_classes;
        assert_eq!(
            ascii_classes(r#"(?i)key[\w.\s"\x27:=]{0,40}?(?P<s>\d{4})\s*\b"#),
            r#"(?i)key[[:word:].[:space:]"\x27:=]{0,40}?(?P<s>[0-9]{4})[[:space:]]*\b"#
        );
        // escaped backslashes, negated classes, POSIX classes and `]` first in a class stay
        assert_eq!(
            ascii_classes(r"\\w\W\S[^\s][[:alpha:]\d][]\w]"),
            r"\\w\W\S[^[:space:]][[:alpha:]0-9][][:word:]]"
        );
        assert_eq!(
            ascii_classes("sk_live_[0-9a-z]{24}"),
            "sk_live_[0-9a-z]{24}"
        );
        let unicode = regex::Regex::new(r"^\w+$").expect("compiles");
        let ascii = regex::Regex::new(&ascii_classes(r"^\w+$")).expect("compiles");
        assert!(unicode.is_match("clé") && !ascii.is_match("clé") && ascii.is_match("key_1"));
    }

    use super::*;
    use crate::rules::{Matcher, MatcherKind};

    /// Every secret rule with its `regex`.
    fn secret_patterns(
        rules: &[crate::rules::Rule],
    ) -> impl Iterator<Item = (&crate::rules::Rule, &str)> {
        rules.iter().filter_map(|rule| {
            let Matcher::Spec {
                kind: MatcherKind::Secret,
                spec,
            } = &rule.matcher
            else {
                return None;
            };
            let pattern = spec.get("regex").and_then(serde_yaml_ng::Value::as_str)?;
            Some((rule, pattern))
        })
    }

    #[test]
    fn syntax_tree_captures_match_the_translated_ones_for_every_embedded_pattern() {
        let rules = crate::rules::load::load_builtin_rules().expect("embedded rules load");
        let mut checked = 0;
        for (rule, pattern) in secret_patterns(&rules) {
            assert!(rule.embedded, "{}", rule.id);
            let ast = regex_syntax::ast::parse::Parser::new()
                .parse(pattern)
                .expect("parses");
            let mut from_ast = Vec::new();
            ast_capture_groups(&ast, &mut from_ast);
            let (_, from_hir) = LazyRegex::new(pattern, true).expect("translates");
            assert_eq!(from_ast, from_hir, "{}", rule.id);
            let (_, scanned) = LazyRegex::new(pattern, false).expect("scans");
            assert_eq!(scanned, from_hir, "{}", rule.id);
            checked += 1;
        }
        assert!(checked > 80, "only {checked} patterns checked");
    }

    #[test]
    fn every_match_holds_a_required_literal() {
        assert_eq!(
            required_literals(
                &regex_syntax::Parser::new()
                    .parse(r"\bcurl\b.{0,3}?\s(?:-u|--user)x")
                    .expect("parses")
            ),
            Some(vec![b"curl".to_vec()])
        );
        assert_eq!(
            required_literals(
                &regex_syntax::Parser::new()
                    .parse(r"(a|bc)+d?")
                    .expect("parses")
            ),
            Some(vec![b"a".to_vec(), b"bc".to_vec()])
        );
        assert_eq!(
            required_literals(
                &regex_syntax::Parser::new()
                    .parse(r"(?i)abc|x")
                    .expect("parses")
            ),
            None
        );
        // every embedded pattern, over every fixture of its family and the rule's examples
        let rules = crate::rules::load::load_builtin_rules().expect("embedded rules load");
        let mut texts = Vec::new();
        for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/secrets"))
        {
            let entry = entry.expect("fixture folder reads");
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                texts.push(text);
            }
        }
        let mut checked = 0;
        for (rule, pattern) in secret_patterns(&rules) {
            let lazy = LazyRegex::unchecked(pattern);
            let Some(needles) = lazy.required() else {
                continue;
            };
            let regex = lazy.get().expect("compiles");
            let examples = [&rule.examples.bad, &rule.examples.good];
            let examples = examples.into_iter().flatten().map(String::as_str);
            for text in texts.iter().map(String::as_str).chain(examples) {
                for m in regex.find_iter(text) {
                    assert!(
                        needles
                            .iter()
                            .any(|n| memchr::memmem::find(m.as_str().as_bytes(), n).is_some()),
                        "{}: {:?} holds none of {needles:?}",
                        rule.id,
                        m.as_str()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} matches checked");
    }

    #[test]
    fn scanned_capture_groups_skip_classes_escapes_and_non_capturing_groups() {
        let groups = |p: &str| scanned_capture_groups(p).expect("not verbose");
        assert_eq!(
            groups(r"(?i)\((?P<a>x)[()\]](?:y)(z)(?<b>[^]()])"),
            vec![(1, Some("a".into())), (2, None), (3, Some("b".into()))]
        );
        assert_eq!(groups(r"[[:alpha:](](w)"), vec![(1, None)]);
        assert!(scanned_capture_groups("(?x) ( a ) # (").is_none());
    }
}

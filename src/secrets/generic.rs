//! `secrets.generic-secret-assignment`: a secret-named variable, property or parameter given a
//! high-entropy literal. Line-based everywhere; in JS/TS each candidate is confirmed on the syntax
//! tree (declarator, object property, assignment, default parameter, class field), which drops
//! comparisons, comments and strings that only happen to sit near a secret-like name.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::{Hit, allow, lookalike, records};
use crate::discover::FileKind;
use crate::engine::FileContext;

/// Keywords (case-insensitive) that wake the detector up.
pub const KEYWORDS: &[&str] = &[
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "privatekey",
    "private_key",
    "masterkey",
    "master_key",
    "accesskey",
    "access_key",
    "authkey",
    "auth_key",
    "signingkey",
    "signing_key",
    "encryptionkey",
    "encryption_key",
    "credential",
    "key",
    "pass",
    "initialize(",
];

/// The words that name a password (`password`, `passwd`, `passphrase`, `pwd`): they wake the
/// detector up (with [`KEYWORDS`]), make a name secret, and mark a password field. One list for
/// the generic detector and `crypto-password-fast-hash-helper`'s arguments.
pub const PASSWORD_WORDS: &[&str] = &["password", "passwd", "passphrase", "pwd"];

/// Whether a lower-cased name (or the text of an argument) names a password: `dbPassword`,
/// `SMTP_PASSWD`, `gpg_passphrase`, `pwd`. A bare `pass` is [`is_pass_name`]'s to judge.
pub fn is_password_name(lower: &str) -> bool {
    PASSWORD_WORDS.iter().any(|w| lower.contains(w))
}

/// A secret-named assignment. Quotes may be escaped (`api_key=\"...\"`): code inside a JSON
/// string, as Jupyter notebooks keep their cells.
static CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?P<name>[a-z0-9_$\-]*(?:secret|token|pass(?:w(?:or)?d)?|pwd|api[_-]?key|private[_-]?key|master[_-]?key|access[_-]?key|auth[_-]?key|signing[_-]?key|encryption[_-]?key|credentials?|passphrase|key)[a-z0-9_$\-]*)\\?["'`]?[ \t]*(?::[ \t]*[a-z][a-z<>\[\]| ]*?[ \t]*)?(?P<op>:=|=|:)[ \t]*(?P<fallback>(?:(?:process\.env|import\.meta\.env|Bun\.env)(?:\.[A-Za-z0-9_]+|\[["'][A-Za-z0-9_]+["']\])|Deno\.env\.get\([ \t]*["'][A-Za-z0-9_]+["'][ \t]*\))[ \t]*(?:\|\||\?\?)[ \t]*)?(?P<q>\\?["'`]?)(?P<value>[^"'`\s,;)}\]\\]{8,300})"#,
    )
    .expect("static regex")
});

/// A literal fallback of an environment lookup, named by the variable it stands in for:
/// `process.env.STRIPE_SECRET || "..."`, `Deno.env.get("OPENAI_KEY") ?? "..."`.
static ENV_FALLBACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:(?:process\.env|import\.meta\.env|Bun\.env)(?:\.|\[["'])|Deno\.env\.get\([ \t]*["'])(?P<name>[A-Za-z0-9_]+)(?:["'](?:\]|[ \t]*\)))?[ \t]*(?:\|\||\?\?)[ \t]*(?P<q>["'`])(?P<value>[^"'`\s,;)}\]]{8,300})"#,
    )
    .expect("static regex")
});

/// A default given to an environment lookup in Python, Ruby and settings libraries:
/// `os.getenv("SECRET_KEY", "...")`, `config("API_KEY", default="...")`, `ENV.fetch("TOKEN", "...")`.
static ENV_DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\b(?:getenv|environ\.get|ENV\.fetch|env(?:\.str)?|config|Env\.get)\([ \t]*["'](?P<name>[A-Za-z0-9_]+)["'][ \t]*,[ \t]*(?:default[ \t]*=[ \t]*)?(?P<q>["'])(?P<value>[^"'\s]{8,300})"#,
    )
    .expect("static regex")
});

static PARSE_INITIALIZE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"Parse\.initialize\(\s*["'][^"'\n]+["']\s*,\s*(?:["'][^"'\n]*["']|[\w$.]+)\s*,\s*["'](?P<value>[^"'\n]{6,})["']"#,
    )
    .expect("static regex")
});

/// Name fragments (lowercase, separators removed) that mean the value is not a secret.
const NAME_EXCLUDES: &[&str] = &[
    "public",
    "publishable",
    "anon",
    "keyboard",
    "tokeniz",
    "tokentype",
    "expir",
    "placeholder",
    "reset",
    "forgot",
    "confirm",
    "strength",
    "validat",
    "nextpage",
    "pagetoken",
    "cursor",
    "csrf",
    "xsrf",
    "lexer",
    "hash",
    "salt",
    // names that say the value is not a working credential (`fakeToken`, `invalidApiKey`,
    // `nonMatchingToken` of a detector's own tests): what they hold is made up on purpose
    "fake",
    "dummy",
    "mock",
    "bogus",
    "invalid",
    "nonmatching",
    "notmatching",
    "mismatch",
    "wrong",
    "incorrect",
];

/// Name endings (lowercase, separators removed) that name something about a secret, not one.
const NAME_SUFFIX_EXCLUDES: &[&str] = &[
    "keying",
    "id",
    "ids",
    "url",
    "uri",
    "count",
    "file",
    "name",
    "type",
    "length",
    "prefix",
    "suffix",
    "format",
    "header",
    "field",
    "label",
    "limit",
    "param",
    "params",
    "hint",
    "message",
    "error",
    "text",
    "title",
    "description",
    "input",
    "button",
    "icon",
    "class",
    "style",
    "route",
    "event",
    "action",
    "mode",
    "version",
    "method",
    "scheme",
    "location",
    "regex",
    "pattern",
    "ttl",
    "env",
    "path",
    "endpoint",
    "policy",
    "storage",
    "cookie",
    "keys",
    "required",
    "len",
    "size",
];

/// A literal that may be a secret, before it is confirmed on the syntax tree.
struct Candidate {
    /// The secret-like name it is given (or the environment variable it stands in for).
    name: String,
    value: Range<usize>,
    note: Option<&'static str>,
    /// Found as the fallback of an environment lookup rather than by its assigned name.
    env_fallback: bool,
}

/// The generic assignment detector.
#[derive(Debug)]
pub struct Generic {
    /// The rule.
    pub rule_idx: usize,
}

impl Generic {
    /// A detector for rule `rule_idx`.
    pub fn new(rule_idx: usize) -> Self {
        Generic { rule_idx }
    }

    /// Finds candidates in the windows around `keyword_hits` and confirms them.
    pub(crate) fn find(
        &self,
        ctx: &FileContext<'_>,
        keyword_hits: &[Range<usize>],
        out: &mut Vec<Hit>,
    ) {
        let file = ctx.file;
        let text = file.text.as_str();
        if file.kind == FileKind::Dts {
            return;
        }
        let is_page = is_web_page(&file.display);
        let is_note = is_plain_note(&file.display);
        if is_test_or_doc(&file.display) && !is_page && !is_note {
            // a `.txt` among tests and docs is an example: a `Secret` manifest there is still read
            if file.display.to_ascii_lowercase().ends_with(".txt") {
                self.find_records(records::k8s_secret_values(text), text, Vec::new(), out);
            }
            return;
        }
        // a translation catalogue pairs UI labels with their text in some language
        // (`"LABEL_PASSWORD": "Contraseña"`): a provider's key format is still found there
        if is_translation_catalogue(&file.display) {
            return;
        }
        let is_code = file.kind.is_code();
        // in code of any language a literal is quoted; an unquoted value is a type annotation
        // (`seen_tokens: MutableMapping[...]`), a name or an expression
        let quoted_only = is_code
            || is_page
            || matches!(file.kind, FileKind::Json | FileKind::Dts)
            || is_program_source(&file.display);
        let mut windows: Vec<Range<usize>> = Vec::new();
        for hit in keyword_hits {
            let w = super::window(text, hit.clone(), false);
            match windows.last_mut() {
                Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
                _ => windows.push(w),
            }
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for w in &windows {
            let slice = &text[w.clone()];
            for caps in CANDIDATE.captures_iter(slice) {
                let (Some(name), Some(op), Some(value)) =
                    (caps.name("name"), caps.name("op"), caps.name("value"))
                else {
                    continue;
                };
                let quote = caps.name("q").map_or("", |q| q.as_str());
                let after_op = slice[op.end()..].chars().next();
                if after_op == Some('=') || slice[..op.start()].ends_with(['!', '<', '>', '=']) {
                    continue;
                }
                let value_range = w.start + value.start()..w.start + value.end();
                if quote.is_empty() {
                    if quoted_only {
                        continue;
                    }
                } else if !text[value_range.end..].starts_with(quote) {
                    continue;
                }
                if !is_secret_name(name.as_str())
                    || !is_secret_value(value.as_str(), name.as_str())
                    || is_fake_account_password(name.as_str(), value.as_str(), text, &value_range)
                    || is_storage_download_token(text, w.start + name.start()..w.start + name.end())
                {
                    continue;
                }
                candidates.push(Candidate {
                    name: name.as_str().to_string(),
                    value: value_range,
                    note: None,
                    env_fallback: false,
                });
            }
            for re in [&*ENV_FALLBACK, &*ENV_DEFAULT] {
                for caps in re.captures_iter(slice) {
                    let (Some(name), Some(q), Some(value)) =
                        (caps.name("name"), caps.name("q"), caps.name("value"))
                    else {
                        continue;
                    };
                    let value_range = w.start + value.start()..w.start + value.end();
                    if !text[value_range.end..].starts_with(q.as_str())
                        || candidates.iter().any(|c| c.value == value_range)
                        || !is_secret_name(name.as_str())
                        || !is_secret_value(value.as_str(), name.as_str())
                    {
                        continue;
                    }
                    candidates.push(Candidate {
                        name: name.as_str().to_string(),
                        value: value_range,
                        note: Some("a literal fallback ships whenever the variable is missing"),
                        env_fallback: true,
                    });
                }
            }
        }
        let records = match file.kind {
            FileKind::Sql => records::sql_values(text),
            FileKind::Yaml | FileKind::Text => records::k8s_secret_values(text),
            _ => Vec::new(),
        };
        if !is_code {
            self.find_records(records, text, candidates, out);
            return;
        }
        if text.contains("Parse.initialize") {
            for caps in PARSE_INITIALIZE.captures_iter(text) {
                if let Some(v) = caps.name("value")
                    && !allow::is_placeholder(v.as_str())
                    && !is_wordy(v.as_str())
                {
                    candidates.push(Candidate {
                        name: String::new(),
                        value: v.range(),
                        note: Some("the third argument of `Parse.initialize` is the master key"),
                        env_fallback: false,
                    });
                }
            }
        }
        if candidates.is_empty() {
            return;
        }
        let Some(tree) = ctx.tree() else { return };
        for Candidate {
            name,
            value,
            note,
            env_fallback,
        } in candidates
        {
            // in code each literal is confirmed on the tree (Parse's third argument needs not)
            let confirmed = if env_fallback {
                is_env_fallback_literal(tree.root_node(), text, value.clone())
            } else {
                note.is_some() || is_assigned_literal(tree.root_node(), text, &name, value.clone())
            };
            if confirmed {
                out.push(self.hit(value, note));
            }
        }
    }

    /// Adds the credentials among `records` to the line-based `candidates` and reports them all.
    fn find_records(
        &self,
        records: Vec<records::RecordValue>,
        text: &str,
        mut candidates: Vec<Candidate>,
        out: &mut Vec<Hit>,
    ) {
        for r in records {
            if is_record_secret(&r, text) && !candidates.iter().any(|c| c.value == r.range) {
                candidates.push(Candidate {
                    name: r.name,
                    value: r.range,
                    note: None,
                    env_fallback: false,
                });
            }
        }
        for c in candidates {
            out.push(self.hit(c.value, c.note));
        }
    }

    fn hit(&self, value: Range<usize>, note: Option<&'static str>) -> Hit {
        Hit {
            rule_idx: self.rule_idx,
            range: value.clone(),
            secret: value,
            is_specific: false,
            by_context: false,
            severity: None,
            note: note.map(str::to_string),
        }
    }
}

/// Tests, specs, mocks and documentation: examples there are fake by intent.
pub(crate) fn is_test_or_doc(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext,
        "md" | "mdx" | "markdown" | "rst" | "adoc" | "txt" | "html" | "htm"
    ) || is_test_or_doc_path(&lower, name)
}

/// A plain `.txt` outside test and documentation folders that is not a project's prose
/// (`README.txt`, `LICENSE.txt`) or a list (`requirements.txt`, `robots.txt`): a pasted note, a
/// credentials dump or a config export, read line by line like a config file.
fn is_plain_note(display: &str) -> bool {
    const PROSE: &[&str] = &[
        "readme",
        "license",
        "licence",
        "copying",
        "notice",
        "changelog",
        "changes",
        "history",
        "authors",
        "contributors",
        "contributing",
        "credits",
        "thirdparty",
        "third_party",
        "third-party",
        "requirements",
        "constraints",
        "robots",
        "humans",
        "cmakelists",
        "llms",
        "llms-full",
    ];
    let lower = display.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let Some(stem) = name.strip_suffix(".txt") else {
        return false;
    };
    !PROSE.iter().any(|p| stem.starts_with(p)) && !is_test_or_doc_path(&lower, name)
}

/// A static web page of the app (`public/index.html`, a landing page with an inline script):
/// a key pasted into it ships to every visitor. Pages under test or documentation folders, and
/// generated reports (coverage, API docs), are documents.
fn is_web_page(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(ext, "html" | "htm")
        && !is_test_or_doc_path(&lower, name)
        && !lower.split('/').any(|seg| {
            matches!(
                seg,
                "coverage" | "lcov-report" | "htmlcov" | "apidoc" | "jsdoc" | "typedoc" | "site"
            )
        })
}

/// Test, spec, mock and documentation paths (`lower` is the lowercase path, `name` its file
/// name).
fn is_test_or_doc_path(lower: &str, name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    matches!(stem, "test" | "tests" | "spec" | "specs")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.contains("_test.")
        || name.starts_with("test_")
        || lower.split('/').any(|seg| {
            matches!(
                seg,
                "test"
                    | "tests"
                    | "__tests__"
                    | "__mocks__"
                    | "spec"
                    | "e2e"
                    | "cypress"
                    | "testdata"
                    | "docs"
                    | "examples"
                    | "example"
            )
        })
}

/// A JSON, YAML or properties file in a translations folder (`i18n/`, `locales/`, `lang/`).
fn is_translation_catalogue(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let is_data = [".json", ".yaml", ".yml", ".properties"]
        .iter()
        .any(|e| lower.ends_with(e));
    is_data
        && lower.split('/').rev().skip(1).any(|seg| {
            matches!(
                seg,
                "i18n" | "l10n" | "locale" | "locales" | "lang" | "langs" | "translations"
            )
        })
}

/// Source files of other programming languages, where literals are always quoted.
fn is_program_source(display: &str) -> bool {
    let ext = display.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "py" | "pyi"
            | "rb"
            | "go"
            | "java"
            | "kt"
            | "kts"
            | "scala"
            | "php"
            | "cs"
            | "swift"
            | "rs"
            | "dart"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "hpp"
            | "m"
            | "vue"
            | "svelte"
            | "astro"
            | "lua"
            | "ex"
            | "exs"
            | "groovy"
    )
}

fn is_secret_name(name: &str) -> bool {
    let norm = normalize(name);
    !NAME_EXCLUDES.iter().any(|x| norm.contains(x))
        && !NAME_SUFFIX_EXCLUDES.iter().any(|x| norm.ends_with(x))
        && is_pass_name(&norm)
        && (!is_bare_key_name(&norm) || is_service_key_name(&norm))
}

/// `pass` only counts as a password as the name's last word (`pass` of nodemailer's
/// `auth: { user, pass }`, `SMTP_PASS`, `dbPass`), never inside `passport`, `bypass` or `compass`.
fn is_pass_name(norm: &str) -> bool {
    const STRONG: &[&str] = &["secret", "token", "key", "credential"];
    if is_password_name(norm) || STRONG.iter().any(|w| norm.contains(w)) {
        return true;
    }
    norm.ends_with("pass")
        && ![
            "bypass",
            "compass",
            "surpass",
            "overpass",
            "underpass",
            "firstpass",
            "onepass",
            "renderpass",
            "subpass",
            "multipass",
            "hallpass",
            "boardingpass",
        ]
        .iter()
        .any(|w| norm.ends_with(w))
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Names that say the value is a credential (`apiToken`, `SNYK_API_KEY`, `clientSecret`), not
/// one that names a key of some kind: a random UUID under such a name is what Heroku, Snyk and
/// many other services issue as their API key. A session's token is a user's, minted at run
/// time: a UUID there is sample data.
fn is_credential_name(norm: &str) -> bool {
    !norm.contains("session")
        && [
            "token",
            "secret",
            "password",
            "passwd",
            "apikey",
            "credential",
            "accesskey",
            "authkey",
            "passphrase",
        ]
        .iter()
        .any(|w| norm.contains(w))
}

/// Names whose only secret word is `key` (`stripeKey`, `MAILGUN_KEY`), not `apiKey` or `secret`.
fn is_bare_key_name(norm: &str) -> bool {
    const STRONG: &[&str] = &[
        "secret",
        "token",
        "pass",
        "pwd",
        "apikey",
        "privatekey",
        "masterkey",
        "accesskey",
        "authkey",
        "signingkey",
        "encryptionkey",
        "credential",
        "passphrase",
    ];
    !STRONG.iter().any(|w| norm.contains(w))
}

/// A bare `key` name that names a service's key (`stripeKey`, `SENDGRID_KEY`): it ends in `key`
/// after a name of three letters or more, and the name is not one of the many keys that are
/// identifiers (`sortKey`, `cacheKey`, `siteKey` of reCAPTCHA, `vapidKey` of web push).
fn is_service_key_name(norm: &str) -> bool {
    const NOT_SECRET: &[&str] = &[
        "site",
        "vapid",
        "cache",
        "sort",
        "primary",
        "foreign",
        "partition",
        "query",
        "translat",
        "i18n",
        "local",
        "react",
        "unique",
        "idempot",
        "object",
        "hot",
        "short",
        "monkey",
        "group",
        "route",
        "row",
        "entry",
        "lookup",
        "dedup",
        "lock",
        "redis",
        "prefix",
        "bucket",
        "state",
        "item",
        "list",
        "column",
        "table",
        "index",
        "map",
        "license",
        "storage",
        "store",
        "dict",
        "lang",
        "message",
        "label",
        "field",
        "form",
        "node",
        "child",
        "parent",
        "path",
        "file",
        "record",
        "event",
        "queue",
        "topic",
        "channel",
        "room",
        "menu",
        "tab",
        "page",
        "step",
        "shard",
        "range",
        "order",
        "filter",
        "cursor",
        "search",
        "public",
        "pub",
        "client",
        "option",
        "config",
        "setting",
        "prop",
        "attr",
        "schema",
        "mapping",
        // Parse's client keys (`PARSE_JAVASCRIPT_KEY`, `restKey`, `dotNetKey`) ship in apps
        "javascript",
        "dotnet",
        "rest",
        "windows",
        "android",
        "ios",
    ];
    norm.len() >= 6 && norm.ends_with("key") && !NOT_SECRET.iter().any(|w| norm.contains(w))
}

/// A literal that looks random enough to be a credential.
fn is_secret_value(value: &str, name: &str) -> bool {
    let lower_name = name.to_ascii_lowercase();
    let is_password = ["pass", "pwd"].iter().any(|p| lower_name.contains(p));
    let bare_key = is_bare_key_name(&normalize(name));
    let min_len = if is_password {
        8
    } else if bare_key {
        20
    } else {
        12
    };
    if value.len() < min_len
        || allow::is_placeholder(value)
        || (allow::is_uuid(value) && !is_credential_name(&normalize(name)))
    {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    // public by design (publishable keys, Algolia search keys), a stub under a vendor's prefix,
    // a Slack/Telegram shape that vendor's rule rejected, or a value that says it is made up
    if super::public::is_public_value(name, value)
        || lookalike::is_vendor_stub(value)
        || lookalike::is_vendor_shaped(value)
        || lookalike::is_made_up(value)
    {
        return false;
    }
    // a token's alphabet (hex, base32/58/62/64, base64url) has none of `?^<>*{}[]`: a value
    // holding one is a query, a pattern, a template or a mask (a password may hold any of them)
    if !is_password && value.contains(['?', '^', '<', '>', '*', '{', '}', '[', ']']) {
        return false;
    }
    if lower.contains("://")
        || value.starts_with([
            '/', '.', '~', '#', '-', '@', '&', '!', '*', '%', '+', '{', '[', '<',
        ])
        || value.contains('\\')
        || lower.starts_with("data:")
        || lower.starts_with("arn:")
        || lower.starts_with("sha")
        || lower.starts_with("bearer")
        || lower.starts_with("basic")
        || [".js", ".json", ".png", ".html"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        || value.contains("%s")
        || value.contains('(')
    {
        return false;
    }
    // a phrase of words is how people choose passwords (`OhG0dPlease1nsertLiquor!`); elsewhere
    // it is an identifier with a prefix. Words followed by a number are a chosen password in a
    // password field (`administrator_login_password = "thisIsDog11"`), a name everywhere else;
    // one word and a number (`secret123`) is the sample data of tests and benchmarks.
    let password_field = is_password_name(&lower_name);
    let chosen_password = password_field
        && value.ends_with(|c: char| c.is_ascii_digit())
        && value.chars().skip(1).any(|c| c.is_ascii_uppercase());
    if (is_wordy(value) && !chosen_password)
        || (is_camel_phrase(value) && !password_field)
        || is_not_a_credential(value)
        || spells_own_name(value, name)
    {
        return false;
    }
    // a Supabase-style anon/authenticated JWT is a public client key; a JWT whose header reads
    // as text but not as a JSON header naming its algorithm was edited by hand (only the header
    // is read: a long token may run past the candidate's 300 characters)
    if value.starts_with("eyJ")
        && (matches!(
            super::validate::jwt_role(value),
            Some(super::validate::JwtRole::Public)
        ) || value.contains('.')
            && super::validate::is_mangled_jwt_header(value.split('.').next().unwrap_or_default()))
    {
        return false;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_lower = value.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = value.bytes().any(|b| b.is_ascii_uppercase());
    let has_symbol = value.bytes().any(|b| !b.is_ascii_alphanumeric());
    let classes = [has_digit, has_lower, has_upper, has_symbol]
        .iter()
        .filter(|x| **x)
        .count();
    if !(has_digit && (has_lower || has_upper)) && (classes < 3 || bare_key) {
        return false;
    }
    allow::entropy(value)
        >= if is_password {
            2.8
        } else if bare_key {
            3.5
        } else {
            3.2
        }
}

/// Values of a well-known shape that opens nothing: a host name (`project-1.hasura.app`), a
/// query string (`st=...&se=...`, a SAS token's fields without their signature rule), a
/// SOPS-encrypted value (`ENC[AES256_GCM,...]`), and a Stripe `PaymentIntent` or `SetupIntent`
/// client secret (`pi_..._secret_...`, handed to the browser by design), and a resource name
/// of short lower-case words ending in a number (`cmp2-qat-1208358310`, a cloud project or
/// vault name).
fn is_not_a_credential(value: &str) -> bool {
    static SHAPES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:[a-z][a-z0-9]{0,7}(?:-[a-z][a-z0-9]{0,7})+-[0-9]{4,}|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,6}|[A-Za-z_]{1,16}=[^&]*&.*|ENC\[.*|(?:pi|seti)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+)$",
        )
        .expect("static regex")
    });
    SHAPES.is_match(value)
}

/// Whether a value found in a record (a SQL row, Supabase Vault, a Kubernetes `Secret`) is a
/// credential: under a secret-like name, or anywhere in a container that only holds secrets
/// (then judged as a password when its name says so, as a secret otherwise), except the
/// fields that name an account or a place (`username`, `host`, `port`).
fn is_record_secret(r: &records::RecordValue, text: &str) -> bool {
    const NOT_SECRET: &[&str] = &[
        "user",
        "username",
        "host",
        "hostname",
        "port",
        "email",
        "region",
        "database",
        "dbname",
        "db",
        "schema",
        "login",
        "account",
        "namespace",
        "domain",
        "bucket",
    ];
    let norm = normalize(&r.name);
    if !r.declared_secret {
        return is_secret_name(&r.name)
            && is_secret_value(&r.value, &r.name)
            && !is_fake_account_password(&r.name, &r.value, text, &r.range);
    }
    if NOT_SECRET.iter().any(|w| norm.ends_with(w))
        || NAME_SUFFIX_EXCLUDES
            .iter()
            .any(|x| norm.ends_with(x) && !matches!(*x, "url" | "uri"))
    {
        return false;
    }
    if let Some(caps) = URL_PASSWORD.captures(&r.value) {
        return caps
            .name("pw")
            .is_some_and(|pw| is_secret_value(pw.as_str(), "password"));
    }
    let judged_as = if ["pass", "pwd"].iter().any(|p| norm.contains(p)) {
        "password"
    } else {
        "secret"
    };
    is_secret_value(&r.value, judged_as)
}

/// The password of a URL's user info (`postgres://app:<pw>@db:5432/app`).
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z][a-z0-9+.\-]*://[^:/@\s]+:(?P<pw>[^@/\s]+)@").expect("static regex")
});

/// A password of a made-up account: seed scripts, fixtures and demo data give fake users a
/// password that says so (`TestPassword123!`, `demo-pass-2024`), or put it beside an e-mail
/// address on a domain reserved for examples and tests (`alice@test.com`, RFC 2606). Such a
/// value opens nothing real; a generated credential has neither mark.
fn is_fake_account_password(name: &str, value: &str, text: &str, at: &Range<usize>) -> bool {
    let lower_name = name.to_ascii_lowercase();
    if !["pass", "pwd"].iter().any(|p| lower_name.contains(p)) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if ["test", "demo", "dummy", "fake", "sample", "example", "seed"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return true;
    }
    // the record around the value: three lines either side
    let start = text[..at.start]
        .rmatch_indices('\n')
        .nth(3)
        .map_or(0, |(i, _)| i);
    let end = text[at.end..]
        .match_indices('\n')
        .nth(3)
        .map_or(text.len(), |(i, _)| at.end + i);
    TEST_EMAIL.is_match(&text[start..end])
}

/// An e-mail address on a domain reserved for documentation and tests.
static TEST_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)*(?:example\.(?:com|org|net)|test\.com|[a-z0-9-]+\.(?:test|example|invalid|localhost))\b",
    )
    .expect("static regex")
});

/// Words joined by separators (`auth.login.title`, `user-session-token-2024`): i18n keys,
/// identifiers and labels rather than random strings.
/// The `token` query parameter of a Firebase Storage download URL
/// (`https://firebasestorage.googleapis.com/v0/b/<bucket>/o/<path>?alt=media&token=<uuid>`): the
/// object's share link, handed out with the URL on purpose (seed data and image fields hold
/// thousands), not a credential to the project. `name` is where the parameter's name lies in `text`.
fn is_storage_download_token(text: &str, name: Range<usize>) -> bool {
    if !text[name.clone()].eq_ignore_ascii_case("token")
        || !text[..name.start].ends_with(['?', '&'])
    {
        return false;
    }
    let line = &text[text[..name.start].rfind('\n').map_or(0, |i| i + 1)..name.start];
    let Some(start) = line.rfind("https://") else {
        return false;
    };
    let url = &line[start + "https://".len()..];
    if url.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`')) {
        return false;
    }
    let host = url.split(['/', '?']).next().unwrap_or_default();
    host.eq_ignore_ascii_case("firebasestorage.googleapis.com")
        || host.to_ascii_lowercase().ends_with(".firebasestorage.app")
}

fn is_wordy(value: &str) -> bool {
    let parts: Vec<&str> = value
        .split(['-', '_', '.', ':', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 2 {
        return is_camel_words(value);
    }
    parts.iter().all(|p| {
        p.bytes().all(|b| b.is_ascii_lowercase())
            || p.bytes().all(|b| b.is_ascii_uppercase())
            || (p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            || is_camel_words(p)
    })
}

/// Whether the value spells out the name it is stored under (`AccountKey=storageaccountkeybase64encoded`,
/// `apiKey: "my-api-key-123"`): a self-describing stand-in. A random token never holds a word of
/// six letters or more, let alone its own field's name.
fn spells_own_name(value: &str, name: &str) -> bool {
    let norm = normalize(name);
    norm.len() >= 6
        && norm.bytes().all(|b| b.is_ascii_alphabetic())
        && normalize(value).contains(&norm)
}

/// Whether most of the value is a phrase of `CapitalisedWords` of six letters or more, each with
/// a word's share of vowels (`clm88125:AgencyIdentificationCodeContentType`): an identifier with
/// a prefix. In a random base62 token a capital followed by five lowercase letters turns up about
/// once in 200 positions, and two of them covering half the value not at all; the vowels keep
/// out lowercase-heavy random values (`0Nubbkxtphh1c3YHbmB8MipsgpbmczRT`).
fn is_camel_phrase(value: &str) -> bool {
    let bytes = value.as_bytes();
    let (mut i, mut words, mut covered) = (0, 0, 0);
    while i < bytes.len() {
        if bytes[i].is_ascii_uppercase() {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
            let vowels = bytes[start..i]
                .iter()
                .filter(|b| b"aeiouyAEIOUY".contains(*b))
                .count();
            if i - start >= 6 && vowels * 4 >= i - start {
                words += 1;
                covered += i - start;
            }
        } else {
            i += 1;
        }
    }
    words >= 2 && covered * 2 >= bytes.len()
}

/// `camelCaseWords` or `PascalCase` with at most a short number at the end.
fn is_camel_words(s: &str) -> bool {
    let trimmed = s.trim_end_matches(|c: char| c.is_ascii_digit());
    if s.len() - trimmed.len() > 4
        || trimmed.is_empty()
        || !trimmed.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return false;
    }
    // each capital starts a word of 2+ lowercase letters
    let bytes = trimmed.as_bytes();
    let mut i = 0;
    let mut words = 0;
    while i < bytes.len() {
        let start = i;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_lowercase() {
            i += 1;
        }
        if i - start < 2 && !(start == 0 && bytes[0].is_ascii_lowercase()) {
            return false;
        }
        words += 1;
    }
    words >= 1
}

/// The string node whose contents are exactly `value`, if any.
fn literal_at<'t>(root: Node<'t>, value: &Range<usize>) -> Option<Node<'t>> {
    let mut node = root.descendant_for_byte_range(value.start, value.end)?;
    for _ in 0..3 {
        if matches!(node.kind(), "string" | "template_string") {
            break;
        }
        node = node.parent()?;
    }
    (matches!(node.kind(), "string" | "template_string")
        && node.start_byte() + 1 == value.start
        && node.end_byte() == value.end + 1)
        .then_some(node)
}

/// Whether `left` reads the environment: `process.env.X`, `process.env["X"]`,
/// `import.meta.env.X`, `Bun.env.X`, `Deno.env.get("X")`.
fn is_env_lookup(left: &str) -> bool {
    [
        "process.env",
        "import.meta.env.",
        "Bun.env.",
        "Deno.env.get(",
    ]
    .iter()
    .any(|p| left.starts_with(p))
}

/// Whether the literal at `value` is the right operand of `env lookup || literal` (or `??`).
fn is_env_fallback_literal(root: Node<'_>, text: &str, value: Range<usize>) -> bool {
    let Some(node) = literal_at(root, &value) else {
        return false;
    };
    node.parent().is_some_and(|p| {
        p.kind() == "binary_expression"
            && p.child_by_field_name("right").map(|r| r.id()) == Some(node.id())
            && p.child_by_field_name("left")
                .and_then(|l| text.get(l.byte_range()))
                .is_some_and(is_env_lookup)
    })
}

/// Whether the literal at `value` is the whole right-hand side given to `name` in a declarator,
/// object property, assignment, default parameter or class field.
fn is_assigned_literal(root: Node<'_>, text: &str, name: &str, value: Range<usize>) -> bool {
    let Some(node) = literal_at(root, &value) else {
        return false;
    };
    let Some(mut parent) = node.parent() else {
        return false;
    };
    // `process.env.X || "literal"`: the literal is a fallback secret
    if parent.kind() == "binary_expression" {
        let is_fallback = parent
            .child_by_field_name("left")
            .and_then(|l| text.get(l.byte_range()))
            .is_some_and(is_env_lookup);
        match parent.parent() {
            Some(p) if is_fallback => parent = p,
            _ => return false,
        }
    }
    let node_text = |n: Option<Node<'_>>| {
        n.and_then(|n| text.get(n.byte_range()))
            .map(|t| t.trim_matches(['"', '\'', '`']))
    };
    let target = match parent.kind() {
        "variable_declarator" => node_text(parent.child_by_field_name("name")),
        "pair" => node_text(parent.child_by_field_name("key")),
        "assignment_expression" | "augmented_assignment_expression" | "assignment_pattern" => {
            let left = parent.child_by_field_name("left");
            match left.map(|l| l.kind()) {
                Some("member_expression") => {
                    node_text(left.and_then(|l| l.child_by_field_name("property")))
                }
                Some("subscript_expression") => {
                    node_text(left.and_then(|l| l.child_by_field_name("index")))
                }
                _ => node_text(left),
            }
        }
        "required_parameter" | "optional_parameter" => {
            node_text(parent.child_by_field_name("pattern"))
        }
        "public_field_definition" | "field_definition" => node_text(
            parent
                .child_by_field_name("name")
                .or_else(|| parent.child_by_field_name("property")),
        ),
        _ => None,
    };
    target == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firebase_storage_download_token_is_a_share_link() {
        let url = "imageUrl: \"https://firebasestorage.googleapis.com/v0/b/app.appspot.com/o/a.jpeg?alt=media&token=4142e2a1-bf43-43b5-b7cf-6616be3fd4e3\"";
        let at = url.find("token=").unwrap();
        assert!(is_storage_download_token(url, at..at + 5));
        let new_host = url.replace("firebasestorage.googleapis.com", "demo.firebasestorage.app");
        let at = new_host.find("token=").unwrap();
        assert!(is_storage_download_token(&new_host, at..at + 5));
        // the same parameter of another service's URL is a credential
        let other = url.replace("firebasestorage.googleapis.com", "api.example.com");
        let at = other.find("token=").unwrap();
        assert!(!is_storage_download_token(&other, at..at + 5));
    }

    #[test]
    fn a_value_spelling_its_own_name_is_a_stand_in() {
        assert!(spells_own_name(
            "storageaccountkeybase64encoded",
            "AccountKey"
        ));
        assert!(spells_own_name("my-api-secret-2024", "API_SECRET"));
        assert!(!spells_own_name("Zk3qP9vX2mLr8TnW4yBc", "AccountKey"));
        // short names say too little to judge by
        assert!(!spells_own_name("keyboard-cat-key", "key"));
    }

    #[test]
    fn a_phrase_of_capitalised_words_is_an_identifier() {
        assert!(is_camel_phrase(
            "clm88125:AgencyIdentificationCodeContentType"
        ));
        assert!(!is_secret_value(
            "clm88125:AgencyIdentificationCodeContentType",
            "token"
        ));
        // ... but a password made of words is still a password
        assert!(is_secret_value("OhG0dPlease1nsertLiquor!", "password"));
        assert!(!is_camel_phrase("Xw9kLq2ZrTbN4vMhPc7dYs1F"));
        assert!(!is_camel_phrase("aB3dEfGhIjKlMnOpQrStUvWxYz0123456789"));
        // lowercase-heavy random values have capitalised runs, but not words
        assert!(!is_wordy("0Nubbkxtphh1c3YHbmB8MipsgpbmczRT"));
    }
}

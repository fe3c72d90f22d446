//! The rule model: metadata every rule shares, and the matcher that finds its problems.
//!
//! A rule is data (`rules/<family>/<name>.yaml`). Everything but the matcher is common to every kind
//! of rule, so `vibeward rules`, `vibeward explain`, SARIF `tool.driver` and suppression treat them
//! all alike. The matcher is either a tree-sitter query (compiled here, run by `engine::query`; see `crate::query`) or
//! the raw specification of another kind (`secret`, `taint`, `config`, `builtin`) that the
//! capability owning that kind compiles when the engine is built.

pub mod load;

use std::fmt;
use std::str::FromStr;

use std::sync::{Arc, OnceLock};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::discover::FileKind;
use crate::query::QueryMatcher;

pub use load::{RuleError, load_builtin_rules, load_rule_dir};

/// How bad a finding is when it is real. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a vulnerability by itself.
    Info,
    /// Hardening advice.
    Low,
    /// A weakness that needs other conditions to be exploited.
    Medium,
    /// Directly exploitable in common setups.
    High,
    /// Directly exploitable, with full data or account compromise.
    Critical,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase name used in rule files, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The CVSS-like score GitHub code scanning reads from `security-severity`.
    pub fn security_score(self) -> &'static str {
        match self {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "3.0",
            Severity::Info => "0.0",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}`: expected critical, high, medium, low or info"
            )),
        }
    }
}

/// How often a finding of this rule is a real problem (not how bad it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Often needs a human look.
    Low,
    /// Usually real.
    Medium,
    /// Almost always real.
    High,
}

impl Confidence {
    /// The lowercase name used in rule files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// SARIF `precision` as GitHub reads it.
    pub fn precision(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl FromStr for Confidence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Confidence::Low),
            "medium" => Ok(Confidence::Medium),
            "high" => Ok(Confidence::High),
            other => Err(format!(
                "unknown confidence `{other}`: expected high, medium or low"
            )),
        }
    }
}

/// The kinds of matcher a rule can use; exactly one per rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatcherKind {
    /// A tree-sitter query with constraints (`match:`).
    Query,
    /// A secret detector (`secret:`), compiled by `secrets`.
    Secret,
    /// A taint flow (`taint:`), compiled by `taint`.
    Taint,
    /// A configuration-file check (`config:`), compiled by the capability that owns the file kind.
    Config,
    /// A matcher written in Rust, chosen by name (`builtin:`).
    Builtin,
}

impl MatcherKind {
    /// The key that introduces this matcher in a rule file.
    pub fn key(self) -> &'static str {
        match self {
            MatcherKind::Query => "match",
            MatcherKind::Secret => "secret",
            MatcherKind::Taint => "taint",
            MatcherKind::Config => "config",
            MatcherKind::Builtin => "builtin",
        }
    }
}

/// A rule's matcher.
#[derive(Debug)]
pub enum Matcher {
    /// Compiled tree-sitter query matcher.
    Query(Box<QueryMatcher>),
    /// Another kind, kept as raw YAML until its capability compiles it.
    Spec {
        /// Which kind of matcher.
        kind: MatcherKind,
        /// The raw specification under the kind's key.
        spec: serde_yaml_ng::Value,
    },
}

impl Matcher {
    /// The kind of this matcher.
    pub fn kind(&self) -> MatcherKind {
        match self {
            Matcher::Query(_) => MatcherKind::Query,
            Matcher::Spec { kind, .. } => *kind,
        }
    }
}

/// The `bad` and `good` one-liners shown by `explain` and proven by `tests/rules_meta.rs`.
#[derive(Clone, Debug, Default)]
pub struct Examples {
    /// Code the rule must flag.
    pub bad: Option<String>,
    /// A safe look-alike the rule must not flag.
    pub good: Option<String>,
    /// File name the examples are scanned as (default: from the first language).
    pub file: Option<String>,
}

/// A validated rule, ready to run.
#[derive(Debug)]
pub struct Rule {
    /// `family.kebab-name`, stable forever.
    pub id: String,
    /// Former ids that still select this rule in `--enable`/`--disable` and suppressions.
    pub aliases: Vec<String>,
    /// Rules whose findings on the same line this rule's findings replace (a precise taint rule
    /// supersedes the pattern rule for the same sink, so users see one finding, not two).
    pub supersedes: Vec<String>,
    /// One-line summary.
    pub title: String,
    /// Default severity of its findings.
    pub severity: Severity,
    /// How often its findings are real.
    pub confidence: Confidence,
    /// CWE ids, `CWE-<n>`.
    pub cwe: Vec<String>,
    /// OWASP categories: Top 10 (`A01:2021`), API Security Top 10 (`API1:2023`) and Top 10 for
    /// LLM applications (`LLM01:2025`).
    pub owasp: Vec<String>,
    /// OWASP ASVS 5.0 requirement ids (`V8.2.2`) the rule checks part of.
    pub asvs: Vec<String>,
    /// File kinds the rule applies to.
    pub languages: Vec<FileKind>,
    /// Literal strings; a file containing none of them skips the rule. Empty: always runs.
    pub triggers: Vec<String>,
    /// Literal strings of which a file must also contain one (on top of `triggers`); empty: no
    /// further condition. For rules whose trigger word is common but whose match needs another.
    pub and_triggers: Vec<String>,
    /// Only files whose relative path matches (empty: all).
    pub include: Option<Globs>,
    /// Files whose relative path matches are skipped.
    pub exclude: Option<Globs>,
    /// Finding message; `{{capture}}` placeholders are filled by query matchers.
    pub message: String,
    /// Named variants of the message, for builtin checks that say different things in different
    /// cases (`messages:` in the YAML); `{{name}}` placeholders are filled by the check. Keeping
    /// them in the rule file means `explain` and the finding never disagree.
    pub messages: std::collections::BTreeMap<String, String>,
    /// Markdown documentation: what, why, how to fix, references.
    pub help: String,
    /// Documentation examples.
    pub examples: Examples,
    /// Where the rule came from (embedded path or user file), for error messages.
    pub source: String,
    /// Whether the rule is one of the embedded set: its regexes are proven to compile by
    /// `tests/rules_meta.rs`, so loading only checks their syntax, not their Unicode classes
    /// (that translation was a tenth of start-up, issue 22). A user rule's are checked in full.
    pub embedded: bool,
    /// The matcher.
    pub matcher: Matcher,
}

/// A rule's `paths` globs, checked when the rule loads and compiled into one set when the first
/// path is matched: building the sets of every rule was a fourteenth of start-up (issue 22), and
/// a scan only matches the paths of rules whose triggers a file holds. Clones share the set
/// (many rules list the same test-path exclusions).
#[derive(Clone, Debug)]
pub struct Globs(Arc<LazyGlobSet>);

/// The globs of a [`Globs`] and their set, once built.
#[derive(Debug)]
struct LazyGlobSet {
    globs: Vec<Glob>,
    set: OnceLock<Result<GlobSet, String>>,
}

impl Globs {
    /// Globs already parsed (each one's syntax checked).
    pub fn new(globs: Vec<Glob>) -> Self {
        Globs(Arc::new(LazyGlobSet {
            globs,
            set: OnceLock::new(),
        }))
    }

    /// The compiled set, built on first call; an error when the set cannot be built.
    pub fn set(&self) -> Result<&GlobSet, &str> {
        let LazyGlobSet { globs, set } = &*self.0;
        set.get_or_init(|| {
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                builder.add(glob.clone());
            }
            builder.build().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(String::as_str)
    }

    /// Whether `path` matches one of the globs (never, if the set could not be built: user
    /// rules are built when they load, so only an embedded rule could fail here, and a test
    /// builds all of theirs).
    pub fn is_match(&self, path: &str) -> bool {
        self.set().is_ok_and(|set| set.is_match(path))
    }
}

impl Rule {
    /// The message variant `variant` with `{{name}}` filled in. A variant the rule does not
    /// declare is a bug of the check: debug builds (the tests, whose fixtures exercise every
    /// variant) panic, release builds fall back to the main message.
    pub fn message_for(&self, variant: &str, values: &[(&str, &str)]) -> String {
        debug_assert!(
            self.messages.contains_key(variant),
            "{}: message variant `{variant}` is not declared under `messages:`",
            self.id
        );
        let template = self.messages.get(variant).unwrap_or(&self.message);
        let mut message = template.clone();
        for (name, value) in values {
            message = message.replace(&format!("{{{{{name}}}}}"), value);
        }
        message
    }

    /// The family: the part of the id before the dot.
    pub fn family(&self) -> &str {
        self.id.split_once('.').map_or(&self.id, |(f, _)| f)
    }

    /// Whether `id` names this rule (its id or one of its aliases).
    pub fn is_named(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|a| a == id)
    }

    /// Whether the rule applies to a file of this kind at this relative path.
    pub fn applies_to(&self, kind: FileKind, rel_path: &str) -> bool {
        if !self
            .languages
            .iter()
            .any(|l| *l == FileKind::Any || *l == kind || l.covers(kind))
        {
            return false;
        }
        if let Some(include) = &self.include
            && !include.is_match(rel_path)
        {
            return false;
        }
        if let Some(exclude) = &self.exclude
            && exclude.is_match(rel_path)
        {
            return false;
        }
        true
    }

    /// The documentation URL used in SARIF `helpUri`.
    pub fn help_uri(&self) -> String {
        format!(
            "https://github.com/vibeward/vibeward/blob/main/rules/{}/{}.yaml",
            self.family(),
            self.id.split_once('.').map_or(self.id.as_str(), |(_, n)| n)
        )
    }
}

/// The rules of one scan, in a fixed order (sorted by id), indexed by position.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The checks of a capability that loaded rules name in `builtin:`/`config:`, from the
    /// capability's table of check names, as (check, rule index) sorted by check. Claimed by name,
    /// whatever the rule's family; a name no capability knows is the engine's error (it lists
    /// every builtin name).
    pub fn builtin_checks<C: Copy + Ord>(&self, table: &[(&str, C)]) -> Vec<(C, usize)> {
        let mut checks: Vec<(C, usize)> = self
            .rules()
            .iter()
            .enumerate()
            .filter_map(|(idx, rule)| {
                let Matcher::Spec { kind, spec } = &rule.matcher else {
                    return None;
                };
                if !matches!(kind, MatcherKind::Builtin | MatcherKind::Config) {
                    return None;
                }
                let name = spec.as_str()?;
                table
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, check)| (*check, idx))
            })
            .collect();
        checks.sort();
        checks
    }

    /// Builds a set, sorted by id. Duplicate ids are an error naming both sources.
    pub fn new(mut rules: Vec<Rule>) -> Result<Self, RuleError> {
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in rules.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(RuleError::Duplicate {
                    id: pair[0].id.clone(),
                    first: pair[0].source.clone(),
                    second: pair[1].source.clone(),
                });
            }
        }
        Ok(RuleSet { rules })
    }

    /// All rules, sorted by id.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id or alias.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.is_named(id))
    }

    /// Index of the rule with this exact id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.rules.binary_search_by(|r| r.id.as_str().cmp(id)).ok()
    }

    /// Keeps only the rules `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }

    /// Sets the severity of each rule for which `severity` returns one (configuration
    /// overrides).
    pub fn set_severities(&mut self, severity: impl Fn(&Rule) -> Option<Severity>) {
        for rule in &mut self.rules {
            if let Some(s) = severity(rule) {
                rule.severity = s;
            }
        }
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

//! Turns rule files (YAML) into validated [`Rule`]s: the embedded set and user folders alike.
//!
//! Raw serde shapes (`Raw*`) are checked and compiled once here; a broken rule is a [`RuleError`]
//! naming the file, the rule id and the field, and saying what to write instead.

use std::path::{Path, PathBuf};

use globset::Glob;
use serde::Deserialize;
use thiserror::Error;

use super::{Confidence, Examples, Globs, Matcher, MatcherKind, Rule, Severity};
use crate::discover::FileKind;
use crate::query::QueryMatcher;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
}

/// Every file embedded from `rules/` at build time, as (relative path, contents).
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    embedded::EMBEDDED
}

/// A rule that could not be loaded.
#[derive(Debug, Error)]
pub enum RuleError {
    /// The file is not valid YAML for a rule.
    #[error("{source_name}: {message}")]
    Syntax {
        /// The rule file.
        source_name: String,
        /// What the YAML parser said.
        message: String,
    },
    /// A field has a wrong value.
    #[error("{source_name}: rule `{id}`: field `{field}`: {message}")]
    Field {
        /// The rule file.
        source_name: String,
        /// The rule id, as far as it is known.
        id: String,
        /// The offending field.
        field: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// Two rules share an id.
    #[error("duplicate rule id `{id}` in {first} and {second}")]
    Duplicate {
        /// The id.
        id: String,
        /// One file defining it.
        first: String,
        /// The other file defining it.
        second: String,
    },
    /// A rule folder could not be read.
    #[error("cannot read rules from {path}: {message}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    supersedes: Vec<String>,
    title: String,
    severity: String,
    confidence: String,
    cwe: Vec<String>,
    owasp: Vec<String>,
    #[serde(default)]
    asvs: Vec<String>,
    languages: Vec<String>,
    #[serde(default)]
    triggers: Vec<String>,
    #[serde(default, rename = "and-triggers")]
    and_triggers: Vec<String>,
    #[serde(default)]
    paths: Option<RawPaths>,
    message: String,
    #[serde(default)]
    messages: std::collections::BTreeMap<String, String>,
    help: String,
    #[serde(default)]
    examples: Option<RawExamples>,
    #[serde(rename = "match", default)]
    query: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    secret: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    taint: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    config: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    builtin: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    bad: Option<String>,
    good: Option<String>,
    file: Option<String>,
}

/// Loads every rule embedded in the binary.
pub fn load_builtin_rules() -> Result<Vec<Rule>, RuleError> {
    use rayon::prelude::*;
    // read in parallel (a third of start-up on one core), collected in the embedded order
    // the `.yaml` files in the embedded order, pre-digested into JSON by build.rs (a JSON parser
    // reads them several times faster than the YAML one)
    embedded::EMBEDDED_JSON
        .par_iter()
        .map(|(path, text, is_json)| {
            if *is_json {
                parse_rule_json(path, text)
            } else {
                parse_rule(path, text, true)
            }
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// Loads every `*.yaml` rule below `dir` (a user rule folder), sorted by path.
pub fn load_rule_dir(dir: &Path) -> Result<Vec<Rule>, RuleError> {
    if !dir.exists() {
        return Err(RuleError::Io {
            path: dir.to_path_buf(),
            message: "no such file or directory".into(),
        });
    }
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| RuleError::Io {
                path: path.clone(),
                message: e.to_string(),
            })?;
            parse_rule(&path.display().to_string(), &text, false)
        })
        .collect()
}

/// Parses and validates one rule file. `check_path` enforces `rules/<family>/<name>.yaml` = id.
pub fn parse_rule(source_name: &str, text: &str, check_path: bool) -> Result<Rule, RuleError> {
    let raw: RawRule = serde_yaml_ng::from_str(text).map_err(|e| RuleError::Syntax {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })?;
    validate(source_name, raw, check_path)
}

/// [`parse_rule`] of an embedded rule file from its JSON form (see build.rs; the path is checked).
fn parse_rule_json(source_name: &str, json: &str) -> Result<Rule, RuleError> {
    let raw: RawRule = serde_json::from_str(json).map_err(|e| RuleError::Syntax {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })?;
    validate(source_name, raw, true)
}

/// Checks and compiles a parsed rule file.
fn validate(source_name: &str, raw: RawRule, check_path: bool) -> Result<Rule, RuleError> {
    let field_error = |field: &str, message: String| RuleError::Field {
        source_name: source_name.to_string(),
        id: raw.id.clone(),
        field: field.to_string(),
        message,
    };

    let Some((family, name)) = raw.id.split_once('.') else {
        return Err(field_error(
            "id",
            "must be `family.kebab-name`, e.g. `parse.master-key-in-client`".into(),
        ));
    };
    let kebab = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !kebab(family) || !kebab(name) {
        return Err(field_error(
            "id",
            "use lowercase letters, digits and dashes only".into(),
        ));
    }
    if check_path {
        let path = Path::new(source_name);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|s| s.to_str())
            .unwrap_or("");
        if stem != name || folder != family {
            return Err(field_error(
                "id",
                format!("a rule with this id belongs in rules/{family}/{name}.yaml"),
            ));
        }
    }

    let severity: Severity = raw
        .severity
        .parse()
        .map_err(|m| field_error("severity", m))?;
    let confidence: Confidence = raw
        .confidence
        .parse()
        .map_err(|m| field_error("confidence", m))?;
    for cwe in &raw.cwe {
        let ok = cwe
            .strip_prefix("CWE-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(field_error(
                "cwe",
                format!("`{cwe}` should look like `CWE-89`"),
            ));
        }
    }
    for owasp in &raw.owasp {
        if !is_owasp(owasp) {
            return Err(field_error(
                "owasp",
                format!("`{owasp}` should look like `A03:2021`, `API1:2023` or `LLM01:2025`"),
            ));
        }
    }
    for asvs in &raw.asvs {
        if !is_asvs(asvs) {
            return Err(field_error(
                "asvs",
                format!("`{asvs}` should be an ASVS 5.0 requirement id like `V8.2.2`"),
            ));
        }
    }
    let languages = raw
        .languages
        .iter()
        .map(|l| {
            FileKind::from_rule_name(l).ok_or_else(|| {
                field_error(
                    "languages",
                    format!(
                        "unknown language `{l}`: expected one of {}",
                        FileKind::RULE_NAMES.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if languages.is_empty() {
        return Err(field_error(
            "languages",
            "list at least one file kind".into(),
        ));
    }
    if raw.title.trim().is_empty() {
        return Err(field_error("title", "must not be empty".into()));
    }
    if raw.message.trim().is_empty() {
        return Err(field_error("message", "must not be empty".into()));
    }
    if let Some((variant, _)) = raw.messages.iter().find(|(_, m)| m.trim().is_empty()) {
        return Err(field_error(
            &format!("messages.{variant}"),
            "must not be empty".into(),
        ));
    }
    if raw.triggers.iter().any(String::is_empty) {
        return Err(field_error(
            "triggers",
            "triggers must be non-empty strings".into(),
        ));
    }
    if raw.and_triggers.iter().any(String::is_empty) {
        return Err(field_error(
            "and-triggers",
            "triggers must be non-empty strings".into(),
        ));
    }
    if !raw.and_triggers.is_empty() && raw.triggers.is_empty() {
        return Err(field_error(
            "and-triggers",
            "`and-triggers` narrows `triggers`: list `triggers` too".into(),
        ));
    }

    let (include, exclude) = match &raw.paths {
        Some(paths) => (
            build_globs(&paths.include, !check_path)
                .map_err(|m| field_error("paths.include", m))?,
            build_globs(&paths.exclude, !check_path)
                .map_err(|m| field_error("paths.exclude", m))?,
        ),
        None => (None, None),
    };

    let specs = [
        (MatcherKind::Query, &raw.query),
        (MatcherKind::Secret, &raw.secret),
        (MatcherKind::Taint, &raw.taint),
        (MatcherKind::Config, &raw.config),
        (MatcherKind::Builtin, &raw.builtin),
    ];
    let present: Vec<_> = specs.iter().filter(|(_, v)| v.is_some()).collect();
    let [(kind, Some(spec))] = present.as_slice() else {
        return Err(field_error(
            "match",
            "a rule needs exactly one matcher: `match` (tree-sitter query), `secret`, `taint`, `config` or `builtin`".into(),
        ));
    };
    let matcher = if *kind == MatcherKind::Query {
        if raw.triggers.is_empty() {
            return Err(field_error(
                "triggers",
                "query rules must list literal trigger strings, so files without them skip the rule"
                    .into(),
            ));
        }
        let query = QueryMatcher::compile(spec, &languages, !check_path)
            .map_err(|m| field_error("match", m))?;
        Matcher::Query(Box::new(query))
    } else {
        Matcher::Spec {
            kind: *kind,
            spec: spec.clone(),
        }
    };

    let examples = raw.examples.map(|e| Examples {
        bad: e.bad,
        good: e.good,
        file: e.file,
    });

    Ok(Rule {
        id: raw.id,
        aliases: raw.aliases,
        supersedes: raw.supersedes,
        title: raw.title.trim().to_string(),
        severity,
        confidence,
        cwe: raw.cwe,
        owasp: raw.owasp,
        asvs: raw.asvs,
        languages,
        triggers: raw.triggers,
        and_triggers: raw.and_triggers,
        include,
        exclude,
        message: raw.message.trim().to_string(),
        messages: raw
            .messages
            .iter()
            .map(|(k, v)| (k.clone(), v.trim().to_string()))
            .collect(),
        help: raw.help,
        examples: examples.unwrap_or_default(),
        source: source_name.to_string(),
        embedded: check_path,
        matcher,
    })
}

fn is_owasp(s: &str) -> bool {
    // A03:2021 (Top 10), API1:2023 (API Security Top 10), LLM01:2025 (Top 10 for LLM applications)
    let Some((cat, year)) = s.split_once(':') else {
        return false;
    };
    let digits =
        |n: &str, lens: &[usize]| lens.contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit());
    let num_ok = if let Some(n) = cat.strip_prefix("LLM") {
        digits(n, &[2])
    } else if let Some(n) = cat.strip_prefix("API") {
        digits(n, &[1, 2])
    } else {
        cat.strip_prefix('A').is_some_and(|n| digits(n, &[2]))
    };
    num_ok && digits(year, &[4])
}

fn is_asvs(s: &str) -> bool {
    // V<chapter>.<section>.<requirement>, as ASVS 5.0 numbers them
    s.strip_prefix('V').is_some_and(|rest| {
        let parts: Vec<&str> = rest.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Glob sets by their globs: 85 embedded rules list 24 distinct sets (most of them the same
/// test-path exclusions), and building one is a regex compilation.
static GLOB_SETS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<Vec<String>, Globs>>,
> = std::sync::LazyLock::new(std::sync::Mutex::default);

/// The set of `globs`, each checked now; the set itself is compiled on first use, or now with
/// `build_now` (a user rule: a set that cannot be built is then a load error).
fn build_globs(globs: &[String], build_now: bool) -> Result<Option<Globs>, String> {
    if globs.is_empty() {
        return Ok(None);
    }
    let known = GLOB_SETS
        .lock()
        .ok()
        .and_then(|sets| sets.get(globs).cloned());
    let set = if let Some(set) = known {
        set
    } else {
        let parsed = globs
            .iter()
            .map(|g| Glob::new(g).map_err(|e| format!("bad glob `{g}`: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let set = Globs::new(parsed);
        if let Ok(mut sets) = GLOB_SETS.lock() {
            sets.insert(globs.to_vec(), set.clone());
        }
        set
    };
    if build_now {
        set.set().map_err(str::to_string)?;
    }
    Ok(Some(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_glob_set_builds() {
        // embedded rules' sets are built on first use, where a failure would match nothing
        let mut checked = 0;
        for rule in load_builtin_rules().expect("embedded rules load") {
            for globs in rule.include.iter().chain(&rule.exclude) {
                assert!(globs.set().is_ok(), "{}", rule.id);
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} glob sets checked");
    }

    #[test]
    fn embedded_json_reads_as_the_yaml_it_was_made_from() {
        let yaml: Vec<&(&str, &str)> = embedded_files()
            .iter()
            .filter(|(path, _)| Path::new(path).extension().is_some_and(|e| e == "yaml"))
            .collect();
        assert_eq!(yaml.len(), embedded::EMBEDDED_JSON.len());
        for ((path, text), (json_path, json, is_json)) in yaml.iter().zip(embedded::EMBEDDED_JSON) {
            assert_eq!(path, json_path);
            assert!(*is_json, "{path}: embedded as YAML, so not valid YAML");
            let from_yaml: RawRule = serde_yaml_ng::from_str(text).expect("valid rule YAML");
            let from_json: RawRule = serde_json::from_str(json).expect("valid rule JSON");
            assert_eq!(format!("{from_yaml:?}"), format!("{from_json:?}"), "{path}");
        }
    }
}

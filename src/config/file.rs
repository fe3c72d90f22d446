//! `vibeward.toml` (or `.vibeward.toml`): found from the scanned root upwards, checked key by key
//! (an unknown key is an error naming it, with a did-you-mean), then applied to [`Settings`]
//! before the command-line flags, which override it.
//!
//! Paths in the file (`include`, `exclude`, `rule-dirs`, `advisory-db`, `secrets.allow-paths`)
//! are relative to the file's folder. Rule names are checked against the loaded rules by
//! `load_rules`, like `--enable`/`--disable`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use super::Settings;
use crate::rules::Severity;

/// File names looked for in each folder, in order.
pub const FILE_NAMES: [&str; 2] = ["vibeward.toml", ".vibeward.toml"];

/// A commented starter file, written by `vibeward init`.
pub const STARTER: &str = r#"# vibeward configuration. Paths are relative to this file; command-line flags override it.
# Every key is optional: delete what you do not need.

# Only scan these paths (globs); empty: everything that is not ignored.
# include = ["src/**", "api/**", "supabase/**"]

# Leave these paths out (globs without a `/` match a name anywhere, e.g. "fixtures").
exclude = ["**/*.test.*", "**/__tests__/**"]

# Exit with 1 when a finding is at or above this severity: critical, high, medium, low, info, none.
fail-on = "high"

# Do not report findings below this severity.
min-severity = "info"

# Folders of your own rules (see README, "Writing a rule").
# rule-dirs = ["security/rules"]

# An OSV advisory database: a folder of OSV JSON files or an osv.dev all.zip.
# advisory-db = "tools/osv/all.zip"

[rules]
# Run only these rules or families (ids as listed by `vibeward rules`); empty: all.
enable = []
# Never run these rules or families.
disable = []

[rules.severity]
# Report a rule or a whole family at another severity.
# "http.helmet-csp-disabled" = "low"
# "llm" = "medium"

[secrets]
# Files whose secret findings are sample data, not credentials.
allow-paths = []
# Secret values matching one of these regexes are not reported (e.g. your test keys).
allow-regexes = []
# Fingerprints (from the JSON or SARIF report) of secret findings you accept: "FINGERPRINT"
# wherever that code appears, or "path/to/file.js:FINGERPRINT" in that file only.
allow-fingerprints = []

[compliance]
# Regions your data may be processed in (globs): region settings outside them (AWS, Google
# Cloud/Firebase Functions, Vercel, Netlify, Serverless, analytics and error-tracking hosts) are
# reported, and unresolvable ones (environment variables) are reported as unknown.
# Empty: residency is not checked. Example: regions = ["eu-*", "europe-*"]
regions = []
"#;

/// A problem with the configuration file.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line (from the TOML parser).
        message: String,
    },
    /// A key this version does not know.
    #[error("{path}: unknown key `{key}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key, dotted (`rules.disabel`).
        key: String,
        /// The closest known key.
        suggestion: Option<String>,
    },
    /// A value that is not allowed.
    #[error("{path}: `{key}`: {message}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is allowed.
        message: String,
    },
    /// A glob or regex that does not compile.
    #[error("{source_name} `{pattern}`: {message}")]
    BadPattern {
        /// Where it came from (`include`, `secrets.allow-regexes`).
        source_name: String,
        /// The pattern.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
}

/// " (did you mean `x`?)" or nothing.
pub fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or(String::new(), |s| format!(" (did you mean `{s}`?)"))
}

/// The closest of `known` to `name`, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_string())
}

/// The keys of each table; "" is the top level.
const KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "include",
            "exclude",
            "fail-on",
            "min-severity",
            "rule-dirs",
            "advisory-db",
            "rules",
            "secrets",
            "compliance",
        ],
    ),
    ("rules", &["enable", "disable", "severity"]),
    ("compliance", &["regions"]),
    (
        "secrets",
        &["allow-paths", "allow-regexes", "allow-fingerprints"],
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    fail_on: Option<String>,
    min_severity: Option<String>,
    #[serde(default)]
    rule_dirs: Vec<PathBuf>,
    advisory_db: Option<PathBuf>,
    #[serde(default)]
    rules: RawRules,
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    compliance: RawCompliance,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawCompliance {
    #[serde(default)]
    regions: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    enable: Vec<String>,
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are the TOML keys allow-paths, allow-regexes, allow-fingerprints"
)]
struct RawSecrets {
    #[serde(default)]
    allow_paths: Vec<String>,
    #[serde(default)]
    allow_regexes: Vec<String>,
    #[serde(default)]
    allow_fingerprints: Vec<String>,
}

/// A loaded, checked configuration file.
#[derive(Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// Its folder: relative paths in it start here.
    pub root: PathBuf,
    include: Vec<String>,
    exclude: Vec<String>,
    /// Unset; `none` (never fail); or a severity.
    #[expect(
        clippy::option_option,
        reason = "unset, `none` and a severity are three cases"
    )]
    fail_on: Option<Option<Severity>>,
    min_severity: Option<Severity>,
    rule_dirs: Vec<PathBuf>,
    advisory_db: Option<PathBuf>,
    enable: Vec<String>,
    disable: Vec<String>,
    severity: BTreeMap<String, Severity>,
    allow_paths: Vec<String>,
    allow_regexes: Vec<String>,
    allow_fingerprints: Vec<String>,
    regions: Vec<String>,
}

/// Finds the configuration for a scan of `start`: the first `vibeward.toml` or
/// `.vibeward.toml` in `start` (or its folder, for a file) and its parents, stopping after the
/// folder that holds `.git` (the repository root), so a file outside the project never applies.
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        for name in FILE_NAMES {
            let candidate = d.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

fn severity(path: &Path, key: &str, value: &str) -> Result<Severity, ConfigError> {
    Severity::ALL
        .into_iter()
        .find(|s| s.as_str() == value)
        .ok_or_else(|| ConfigError::BadValue {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: format!(
                "`{value}` is not a severity (critical, high, medium, low, info){}",
                did_you_mean(closest(value, Severity::ALL.map(Severity::as_str)).as_deref())
            ),
        })
}

/// Checks every key of `table` (at `prefix`) against [`KEYS`].
fn check_keys(path: &Path, prefix: &str, table: &toml::Table) -> Result<(), ConfigError> {
    let known = KEYS
        .iter()
        .find(|(name, _)| *name == prefix)
        .map_or(&[][..], |(_, keys)| *keys);
    for (key, value) in table {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if !known.contains(&key.as_str()) {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                suggestion: closest(key, known.iter().copied()).map(|s| {
                    if prefix.is_empty() {
                        s
                    } else {
                        format!("{prefix}.{s}")
                    }
                }),
                key: dotted,
            });
        }
        // `rules.severity` maps rule names, checked against the rules later
        if let Some(inner) = value.as_table()
            && dotted != "rules.severity"
        {
            check_keys(path, &dotted, inner)?;
        }
    }
    Ok(())
}

impl ConfigFile {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Checks the text of a configuration file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        };
        let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
        check_keys(path, "", &table)?;
        let raw: RawConfig = toml::from_str(text).map_err(parse_error)?;
        let root = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let fail_on = match raw.fail_on.as_deref() {
            None => None,
            Some("none") => Some(None),
            Some(value) => Some(Some(severity(path, "fail-on", value)?)),
        };
        let min_severity = raw
            .min_severity
            .as_deref()
            .map(|v| severity(path, "min-severity", v))
            .transpose()?;
        let mut overrides = BTreeMap::new();
        for (name, value) in &raw.rules.severity {
            overrides.insert(
                name.clone(),
                severity(path, &format!("rules.severity.\"{name}\""), value)?,
            );
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            include: raw.include,
            exclude: raw.exclude,
            fail_on,
            min_severity,
            rule_dirs: raw.rule_dirs.iter().map(|d| root.join(d)).collect(),
            advisory_db: raw.advisory_db.map(|d| root.join(d)),
            enable: raw.rules.enable,
            disable: raw.rules.disable,
            severity: overrides,
            allow_paths: raw.secrets.allow_paths,
            allow_regexes: raw.secrets.allow_regexes,
            allow_fingerprints: raw.secrets.allow_fingerprints,
            regions: raw.compliance.regions,
            root,
        })
    }

    /// Applies the file to `settings` (call before applying flags, which override it).
    pub fn apply(&self, settings: &mut Settings) {
        settings.config_root = Some(self.root.clone());
        settings.include.extend(self.include.iter().cloned());
        settings.exclude.extend(self.exclude.iter().cloned());
        if let Some(fail_on) = self.fail_on {
            settings.fail_on = fail_on;
        }
        if let Some(min) = self.min_severity {
            settings.min_severity = min;
        }
        settings.rule_dirs.extend(self.rule_dirs.iter().cloned());
        if self.advisory_db.is_some() {
            settings.advisory_db.clone_from(&self.advisory_db);
        }
        settings.enable.extend(self.enable.iter().cloned());
        settings.disable.extend(self.disable.iter().cloned());
        let file = self.path.display().to_string();
        for (key, names) in [
            ("rules.enable", &self.enable),
            ("rules.disable", &self.disable),
        ] {
            for name in names {
                settings
                    .rule_names
                    .push((format!("{file}: {key}"), name.clone()));
            }
        }
        for (name, severity) in &self.severity {
            settings
                .rule_names
                .push((format!("{file}: rules.severity"), name.clone()));
            settings.severity_overrides.insert(name.clone(), *severity);
        }
        let allow = &mut settings.secrets_allow;
        allow.paths.extend(self.allow_paths.iter().cloned());
        allow.regexes.extend(self.allow_regexes.iter().cloned());
        allow
            .fingerprints
            .extend(self.allow_fingerprints.iter().cloned());
        settings.regions.extend(self.regions.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{ConfigError, ConfigFile, STARTER};

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(Path::new("/p/vibeward.toml"), text)
    }

    #[test]
    fn the_starter_file_is_valid() {
        parse(STARTER).expect("starter parses");
    }

    #[test]
    fn unknown_keys_are_named_with_a_suggestion() {
        let e = parse("exclud = []\n").expect_err("unknown key");
        assert_eq!(
            e.to_string(),
            "/p/vibeward.toml: unknown key `exclud` (did you mean `exclude`?)"
        );
        let e = parse("[rules]\ndisabel = [\"x\"]\n").expect_err("unknown key");
        assert!(
            e.to_string()
                .ends_with("unknown key `rules.disabel` (did you mean `rules.disable`?)"),
            "{e}"
        );
        let e = parse("[secret]\n").expect_err("unknown table");
        assert!(e.to_string().contains("did you mean `secrets`?"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse("fail-on = \"hihg\"\n").expect_err("bad severity");
        assert!(e.to_string().contains("`fail-on`"), "{e}");
        assert!(e.to_string().contains("did you mean `high`?"), "{e}");
        let e = parse("exclude = \"x\"\n").expect_err("wrong type");
        assert!(e.to_string().contains("exclude"), "{e}");
    }

    #[test]
    fn paths_are_relative_to_the_file() {
        let config = parse("rule-dirs = [\"rules\"]\nadvisory-db = \"db.zip\"\n").expect("ok");
        assert_eq!(config.rule_dirs, [Path::new("/p/rules")]);
        assert_eq!(config.advisory_db.as_deref(), Some(Path::new("/p/db.zip")));
    }
}

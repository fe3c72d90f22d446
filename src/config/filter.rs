//! The configuration's filters, compiled once per scan: which discovered files are analysed
//! (`include`, `exclude`, `--changed`), and which secret findings are allowed (`[secrets]`).
//!
//! Globs follow gitignore's habit: a pattern without `/` matches a name at any depth
//! (`fixtures`, `*.test.ts`), one with `/` is anchored at the configuration's folder
//! (`src/**`); a pattern naming a folder covers everything below it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::RegexSet;

use super::{ConfigError, Settings};
use crate::finding::Finding;

/// Compiles `patterns` (named `source` in errors) into one set.
fn glob_set(source: &str, patterns: &[String]) -> Result<Option<GlobSet>, ConfigError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let trimmed = pattern.trim_start_matches("./").trim_end_matches('/');
        let anchored = trimmed.trim_start_matches('/');
        let base = if trimmed.contains('/') {
            anchored.to_string()
        } else {
            format!("**/{anchored}")
        };
        for glob in [base.clone(), format!("{base}/**")] {
            let compiled = GlobBuilder::new(&glob)
                .literal_separator(true)
                .build()
                .map_err(|e| ConfigError::BadPattern {
                    source_name: source.to_string(),
                    pattern: pattern.clone(),
                    message: e.kind().to_string(),
                })?;
            builder.add(compiled);
        }
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| ConfigError::BadPattern {
            source_name: source.to_string(),
            pattern: patterns.join(", "),
            message: e.to_string(),
        })
}

/// An absolute, canonical form of `path` (lexical when the file does not exist).
fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| cwd.join(path))
}

/// Which discovered files a scan analyses.
#[derive(Debug)]
pub struct PathFilter {
    root: PathBuf,
    cwd: PathBuf,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    only: Option<BTreeSet<PathBuf>>,
    secrets_allowed: Option<GlobSet>,
}

impl PathFilter {
    /// Compiles the filters of `settings`.
    pub fn new(settings: &Settings) -> Result<PathFilter, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = settings
            .config_root
            .as_deref()
            .map_or_else(|| cwd.clone(), |r| absolute(r, &cwd));
        Ok(PathFilter {
            include: glob_set("include", &settings.include)?,
            exclude: glob_set("exclude", &settings.exclude)?,
            secrets_allowed: glob_set("secrets.allow-paths", &settings.secrets_allow.paths)?,
            only: settings
                .only_files
                .as_ref()
                .map(|files| files.iter().map(|f| absolute(f, &cwd)).collect()),
            root,
            cwd,
        })
    }

    /// Whether no filter applies (every file is analysed).
    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none() && self.only.is_none()
    }

    /// `path` relative to the configuration's folder, `/`-separated (the path as given when
    /// it lies outside).
    fn relative(&self, path: &Path) -> String {
        let abs = absolute(path, &self.cwd);
        let rel = abs.strip_prefix(&self.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }

    /// Whether `include`/`exclude` keep `path`.
    pub fn keeps(&self, path: &Path) -> bool {
        if self.include.is_none() && self.exclude.is_none() {
            return true;
        }
        let rel = self.relative(path);
        self.include.as_ref().is_none_or(|g| g.is_match(&rel))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(&rel))
    }

    /// Whether `path` is one of the files `--changed`/`--staged` selected (always, without them).
    pub fn is_selected(&self, path: &Path) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.contains(&absolute(path, &self.cwd)))
    }

    /// Whether secret findings in `path` are allowed (`secrets.allow-paths`).
    pub fn allows_secrets_in(&self, path: &Path) -> bool {
        self.secrets_allowed
            .as_ref()
            .is_some_and(|g| g.is_match(self.relative(path)))
    }
}

/// Secret findings the configuration allows: by file, by matched text, by fingerprint.
#[derive(Debug)]
pub struct SecretFilter {
    regexes: Option<RegexSet>,
    fingerprints: BTreeSet<String>,
}

impl SecretFilter {
    /// Compiles `[secrets]` of `settings`.
    pub fn new(settings: &Settings) -> Result<SecretFilter, ConfigError> {
        let allow = &settings.secrets_allow;
        let regexes = if allow.regexes.is_empty() {
            None
        } else {
            Some(
                RegexSet::new(&allow.regexes).map_err(|e| ConfigError::BadPattern {
                    source_name: "secrets.allow-regexes".into(),
                    pattern: allow.regexes.join(", "),
                    message: e.to_string(),
                })?,
            )
        };
        Ok(SecretFilter {
            regexes,
            fingerprints: allow.fingerprints.iter().cloned().collect(),
        })
    }

    /// Whether `finding` is a secret finding (family `secrets`).
    pub fn is_secret(finding: &Finding) -> bool {
        finding.rule_id.starts_with("secrets.")
    }

    /// Whether the text a secret finding matched is allowed by a regex.
    pub fn allows_text(&self, text: &str) -> bool {
        self.regexes.as_ref().is_some_and(|r| r.is_match(text))
    }

    /// Whether a finished secret finding is allowed by its fingerprint: `FINGERPRINT` allows the
    /// same code wherever it appears, `PATH:FINGERPRINT` only in that file.
    pub fn allows_fingerprint(&self, finding: &Finding) -> bool {
        Self::is_secret(finding)
            && (self.fingerprints.contains(&finding.fingerprint)
                || self
                    .fingerprints
                    .contains(&format!("{}:{}", finding.path, finding.fingerprint)))
    }

    /// Whether regexes are configured (the matched text must then be read).
    pub fn has_regexes(&self) -> bool {
        self.regexes.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::glob_set;

    #[test]
    fn globs_without_a_slash_match_at_any_depth_and_folders_cover_their_files() {
        let set = glob_set(
            "t",
            &["fixtures".into(), "src/gen/".into(), "*.test.ts".into()],
        )
        .expect("compiles")
        .expect("some");
        assert!(set.is_match("a/fixtures/key.env"));
        assert!(set.is_match("fixtures"));
        assert!(set.is_match("src/gen/x/y.js"));
        assert!(!set.is_match("lib/src/gen/y.js"));
        assert!(set.is_match("api/user.test.ts"));
        assert!(!set.is_match("api/user.ts"));
    }
}

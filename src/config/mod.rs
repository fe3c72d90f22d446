//! [`Settings`]: everything a scan needs to know, built from `vibeward.toml` ([`file`]) and the
//! command-line flags, which override the file.

pub mod file;
pub mod filter;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::discover::DiscoverOptions;
use crate::engine::EngineOptions;
use crate::rules::Severity;

pub use file::{ConfigError, ConfigFile, STARTER};

/// The resolved settings of one scan.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Files and directories to scan.
    pub paths: Vec<PathBuf>,
    /// Discovery options (ignore files, excludes, size limit).
    pub discover: DiscoverOptions,
    /// Run the rules embedded in the binary.
    pub builtin_rules: bool,
    /// Extra rule folders (`--rules`).
    pub rule_dirs: Vec<PathBuf>,
    /// Only these rules or families (`--enable`); empty: all.
    pub enable: Vec<String>,
    /// Rules or families to leave out (`--disable`).
    pub disable: Vec<String>,
    /// Rule names that came from the configuration file, with the key that named them
    /// (`rules.disable`, `rules.severity`): each must name a rule or family, like the flags.
    pub rule_names: Vec<(String, String)>,
    /// Findings below this severity are dropped.
    pub min_severity: Severity,
    /// The exit threshold: findings at or above it fail the run; `None` never fails.
    pub fail_on: Option<Severity>,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Engine options.
    pub engine: EngineOptions,
    /// An OSV advisory database: a folder of OSV JSON files or an osv.dev `all.zip` archive.
    pub advisory_db: Option<PathBuf>,
    /// Without `advisory_db`, use the database `vibeward db update` stored, if any. Off by default
    /// so library users and tests are hermetic; the CLI turns it on.
    pub use_stored_advisory_db: bool,
    /// Only files matching one of these globs (relative to [`Settings::config_root`]) are
    /// analysed; empty: every discovered file.
    pub include: Vec<String>,
    /// Files matching one of these globs (relative to [`Settings::config_root`]) are left out
    /// (`exclude` in `vibeward.toml`; `--exclude` is applied by discovery).
    pub exclude: Vec<String>,
    /// The folder that `include` and allow-listed secret paths are relative to: the folder of
    /// the configuration file (default: the current directory).
    pub config_root: Option<PathBuf>,
    /// Severity overrides by rule id (or alias) or family; an id wins over its family.
    pub severity_overrides: BTreeMap<String, Severity>,
    /// Secret findings to leave out.
    pub secrets_allow: SecretAllow,
    /// Fingerprints of findings already known (`--baseline`): not reported again.
    pub baseline: Option<crate::baseline::Baseline>,
    /// Only these files are analysed, plus the project context (`--changed`, `--staged`);
    /// `None`: every discovered file.
    pub only_files: Option<Vec<PathBuf>>,
    /// `--shard I/N`: analyse only this shard's files (see [`crate::shard`]).
    pub shard: Option<crate::shard::Shard>,
    /// Allowed data regions (`[compliance] regions`, globs such as `eu-*`); empty: residency is
    /// not checked.
    pub regions: Vec<String>,
    /// Keep per-file outcomes in this folder between scans (`--cache`; see `crate::cache`).
    pub cache: Option<PathBuf>,
}

/// Secret findings allowed by the configuration (`[secrets]` in `vibeward.toml`).
#[derive(Clone, Debug, Default)]
pub struct SecretAllow {
    /// Globs of files whose secret findings are left out (test fixtures, sample data).
    pub paths: Vec<String>,
    /// Regexes: a secret finding whose matched text matches one is left out.
    pub regexes: Vec<String>,
    /// Fingerprints of secret findings that are known and accepted.
    pub fingerprints: Vec<String>,
}

impl SecretAllow {
    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.regexes.is_empty() && self.fingerprints.is_empty()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            paths: vec![PathBuf::from(".")],
            discover: DiscoverOptions::default(),
            builtin_rules: true,
            rule_dirs: Vec::new(),
            enable: Vec::new(),
            disable: Vec::new(),
            rule_names: Vec::new(),
            min_severity: Severity::Info,
            fail_on: Some(Severity::High),
            jobs: 0,
            engine: EngineOptions::default(),
            advisory_db: None,
            use_stored_advisory_db: false,
            include: Vec::new(),
            exclude: Vec::new(),
            config_root: None,
            severity_overrides: BTreeMap::new(),
            secrets_allow: SecretAllow::default(),
            baseline: None,
            only_files: None,
            shard: None,
            regions: Vec::new(),
            cache: None,
        }
    }
}

impl Settings {
    /// The settings of the editor and agent faces for a project folder: the defaults the CLI
    /// uses, and the `vibeward.toml` found from `root` upwards, provided it lies inside `root`
    /// (these faces read nothing outside the folders they were given).
    pub fn for_root(root: &std::path::Path) -> Result<Settings, ConfigError> {
        let mut settings = Settings {
            paths: vec![root.to_path_buf()],
            use_stored_advisory_db: true,
            ..Settings::default()
        };
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        if let Some(path) = file::find(&root).filter(|p| p.starts_with(&root)) {
            ConfigFile::load(&path)?.apply(&mut settings);
        }
        Ok(settings)
    }

    /// The severity a finding of `rule_id` (in `family`) is reported with, if overridden.
    pub fn severity_override(&self, rule_id: &str, family: &str) -> Option<Severity> {
        self.severity_overrides
            .get(rule_id)
            .or_else(|| self.severity_overrides.get(family))
            .copied()
    }
}

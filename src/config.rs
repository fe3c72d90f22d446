//! [`Settings`]: everything a scan needs to know, built from command-line flags.

use std::path::PathBuf;

use crate::discover::DiscoverOptions;
use crate::engine::EngineOptions;
use crate::rules::Severity;

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
    /// Findings below this severity are dropped.
    pub min_severity: Severity,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Engine options.
    pub engine: EngineOptions,
    /// An OSV advisory database: a folder of OSV JSON files or an osv.dev `all.zip` archive.
    pub advisory_db: Option<PathBuf>,
    /// Without `advisory_db`, use the database `vibeward db update` stored, if any. Off by default
    /// so library users and tests are hermetic; the CLI turns it on.
    pub use_stored_advisory_db: bool,
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
            min_severity: Severity::Info,
            jobs: 0,
            engine: EngineOptions::default(),
            advisory_db: None,
            use_stored_advisory_db: false,
        }
    }
}

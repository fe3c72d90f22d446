//! Baselines: the findings a project already knows about, recorded by fingerprint
//! (`--write-baseline FILE`), so that later scans (`--baseline FILE`) report only new ones.
//!
//! A finding is known when its file and fingerprint are both in the baseline. Fingerprints hash
//! the rule id and the normalised code of the finding, not its line (see
//! `finding::assign_fingerprints`), so edits elsewhere in the file, moving the code, or
//! re-indenting it keep it known. Inline suppressions stay in `suppress.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::finding::Finding;

/// The baseline file format version.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file that cannot be used.
#[derive(Debug, Error)]
pub enum BaselineError {
    /// Unreadable.
    #[error("--baseline {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a vibeward baseline.
    #[error(
        "--baseline {path}: not a vibeward baseline ({message}); write one with --write-baseline"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        message: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Document {
    version: u32,
    findings: Vec<Entry>,
}

/// One recorded finding; `rule_id`, `line` and `message` are for people reading the file.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    path: String,
    fingerprint: String,
    rule_id: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    message: String,
}

/// The known findings: (path, fingerprint) pairs.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    known: BTreeSet<(String, String)>,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let doc: Document = serde_json::from_str(&text).map_err(|e| BaselineError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Baseline {
            known: doc
                .findings
                .into_iter()
                .map(|e| (e.path, e.fingerprint))
                .collect(),
        })
    }

    /// Whether `finding` is already known.
    pub fn contains(&self, finding: &Finding) -> bool {
        // no allocation per lookup would need a borrowed tuple key; baselines are small
        self.known
            .contains(&(finding.path.clone(), finding.fingerprint.clone()))
    }

    /// Number of recorded findings.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// The baseline document for `findings` (sorted, deterministic, trailing newline).
pub fn render(findings: &[Finding]) -> String {
    let mut entries: Vec<Entry> = findings
        .iter()
        .map(|f| Entry {
            path: f.path.clone(),
            fingerprint: f.fingerprint.clone(),
            rule_id: f.rule_id.clone(),
            line: f.start.line,
            message: f.message.clone(),
        })
        .collect();
    entries.sort();
    let doc = Document {
        version: BASELINE_VERSION,
        findings: entries,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("baseline types always serialise");
    s.push('\n');
    s
}

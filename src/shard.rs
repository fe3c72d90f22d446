//! Sharding: `vibeward scan --shard I/N` on N machines, then `vibeward merge` of their JSON
//! reports, gives the report of one scan of the whole tree.
//!
//! A file belongs to the shard its display path hashes to (FNV-1a, so the split depends on the
//! path only, never on discovery order, thread count or machine). Each shard runs the per-file
//! pass on its own files only. The project pass needs the facts of every candidate, so a shard
//! reads the other shards' files for their facts only (as `--changed` does; a cheap read, no
//! rule runs), runs the project pass, and keeps the project findings of its own files: every
//! finding is finished (supersede, suppress, redact, fingerprint) by the one shard owning its
//! file, together with all the other findings of that file, exactly as a single scan would.
//! Project-level notes appear in every shard's report; [`merge`] keeps one of each.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;

use crate::discover::Skipped;
use crate::finding::{self, Finding};
use crate::rules::RuleSet;
use crate::{ScanReport, Stats};

/// One shard of N: `index` in `1..=count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// The shard (1-based) that owns the file or finding at `display`, among `count`.
    pub fn of(display: &str, count: u32) -> u32 {
        // FNV-1a, 64 bits: stable across platforms, versions and runs
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in display.as_bytes() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // the remainder is below `count`, a u32
        u32::try_from(hash % u64::from(count.max(1))).unwrap_or(0) + 1
    }

    /// Whether this shard owns `display`.
    pub fn owns(&self, display: &str) -> bool {
        Self::of(display, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("{why} (expected I/N with 1 <= I <= N, e.g. 2/4)");
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad("not of the form I/N"))?;
        let index: u32 = i.trim().parse().map_err(|_| bad("I is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(bad("I must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }
}

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input is not a vibeward JSON report.
    #[error("{0}: not a vibeward JSON report (scan each shard with --format json): {1}")]
    NotAReport(String, String),
    /// The inputs come from different trees, rule sets or versions.
    #[error("{0}: {1} differs from the first report's; merge the shards of one scan only")]
    Mismatch(String, &'static str),
    /// No input.
    #[error("merge needs at least one JSON report")]
    Empty,
}

#[derive(Deserialize)]
struct Document {
    version: u32,
    tool: Tool,
    findings: Vec<Finding>,
    skipped: Vec<Skipped>,
    summary: Summary,
}

#[derive(Deserialize, PartialEq, Eq)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Deserialize)]
struct Summary {
    files_discovered: usize,
    files_analysed: usize,
    files_parsed: usize,
    bytes_analysed: u64,
    suppressed: usize,
    rules: usize,
}

/// Combines the JSON reports of the shards of one scan (`(name, text)` each) into the report a
/// single scan of the whole tree gives: findings re-sorted and re-fingerprinted, notes
/// de-duplicated, counters added up. `rules` gives titles and metadata for the output (the
/// same rules the shards ran). Code frames of the text format are not available (the reports
/// carry snippets, not files).
pub fn merge(inputs: &[(String, String)], rules: Arc<RuleSet>) -> Result<ScanReport, MergeError> {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut stats = Stats::default();
    let mut first: Option<(Tool, usize, usize)> = None;
    for (name, text) in inputs {
        let doc: Document = serde_json::from_str(text)
            .map_err(|e| MergeError::NotAReport(name.clone(), e.to_string()))?;
        if doc.version != crate::report::json::JSON_VERSION || doc.tool.name != "vibeward" {
            return Err(MergeError::NotAReport(
                name.clone(),
                format!("tool {} report version {}", doc.tool.name, doc.version),
            ));
        }
        let summary = &doc.summary;
        match &first {
            None => {
                first = Some((doc.tool, summary.files_discovered, summary.rules));
            }
            Some((tool, discovered, rules)) => {
                if *tool != doc.tool {
                    return Err(MergeError::Mismatch(name.clone(), "the vibeward version"));
                }
                if *discovered != summary.files_discovered {
                    return Err(MergeError::Mismatch(name.clone(), "the set of files"));
                }
                if *rules != summary.rules {
                    return Err(MergeError::Mismatch(name.clone(), "the set of rules"));
                }
            }
        }
        stats.files_discovered = summary.files_discovered;
        stats.rules = summary.rules;
        stats.files_analysed += summary.files_analysed;
        stats.files_parsed += summary.files_parsed;
        stats.bytes_analysed += summary.bytes_analysed;
        stats.suppressed += summary.suppressed;
        findings.extend(doc.findings);
        notes.extend(doc.skipped);
    }
    if first.is_none() {
        return Err(MergeError::Empty);
    }
    finding::sort_findings(&mut findings);
    finding::assign_fingerprints(&mut findings);
    notes.sort();
    notes.dedup();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for note in &notes {
        *skipped.entry(note.reason.as_str().to_string()).or_default() += 1;
    }
    stats.skipped = skipped;
    Ok(ScanReport {
        findings,
        notes,
        stats,
        sources: BTreeMap::new(),
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn specs_parse_and_reject_what_is_out_of_range() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "x", "1/0", "1/", "/3", "a/b"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_path_has_exactly_one_owner_and_the_split_is_stable() {
        let paths: Vec<String> = (0..300).map(|i| format!("src/f{i}.ts")).collect();
        let mut sizes = [0usize; 3];
        for p in &paths {
            let owners: Vec<u32> = (1..=3)
                .filter(|i| {
                    Shard {
                        index: *i,
                        count: 3,
                    }
                    .owns(p)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{p}");
            sizes[owners[0] as usize - 1] += 1;
        }
        assert!(sizes.iter().all(|n| *n > 60), "{sizes:?}");
        assert_eq!(Shard::of("src/app.ts", 4), Shard::of("src/app.ts", 4));
    }
}

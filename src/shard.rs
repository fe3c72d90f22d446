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
//!
//! A shard's report names its shard (`summary.shard` in JSON, run property `vibeward/shard` in
//! SARIF, with the counters in `vibeward/summary`), so [`merge`] refuses a set with a shard
//! missing or given twice instead of writing a partial report. It reads JSON reports and SARIF
//! logs alike.

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
    /// An input is not a vibeward JSON report or SARIF log.
    #[error(
        "{0}: not a vibeward JSON report or SARIF log (scan each shard with --format json or sarif): {1}"
    )]
    NotAReport(String, String),
    /// The inputs come from different trees, rule sets or versions.
    #[error("{0}: {1} differs from the first report's; merge the shards of one scan only")]
    Mismatch(String, &'static str),
    /// No input.
    #[error("merge needs at least one JSON report or SARIF log")]
    Empty,
    /// Some inputs come from `--shard` scans and some do not.
    #[error(
        "{0}: not the report of a `--shard I/N` scan, unlike the others; merge the shards of one scan only"
    )]
    NotAShard(String),
    /// Two inputs are the same shard.
    #[error("{0}: shard {1} is given twice")]
    DuplicateShard(String, Shard),
    /// Shards of the scan are missing: the merge would be a partial report.
    #[error(
        "shard {} of {count} missing: the merged report would leave out their files; give the reports of all {count} shards",
        missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    )]
    MissingShards {
        /// How many shards the scan had.
        count: u32,
        /// The indices without a report, ascending.
        missing: Vec<u32>,
    },
    /// A SARIF log that left results out (GitHub's upload limits) cannot be merged whole.
    #[error(
        "{0}: this SARIF log left results out to stay within GitHub's limits; merge the shards' JSON reports instead"
    )]
    Truncated(String),
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
    #[serde(default)]
    shard: Option<String>,
}

/// One input of [`merge`], whichever format it came in.
struct ShardReport {
    version: String,
    shard: Option<Shard>,
    /// The counters (absent in the SARIF log of a scan without `--shard`).
    summary: Option<Summary>,
    findings: Vec<Finding>,
    notes: Vec<Skipped>,
}

/// Reads a JSON report or a SARIF log written by `vibeward scan`.
fn read_report(name: &str, text: &str) -> Result<ShardReport, MergeError> {
    let not_a_report = |why: String| MergeError::NotAReport(name.to_string(), why);
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| not_a_report(e.to_string()))?;
    if value.get("runs").is_some() {
        return sarif::read(name, &value);
    }
    let doc: Document = serde_json::from_value(value).map_err(|e| not_a_report(e.to_string()))?;
    if doc.version != crate::report::json::JSON_VERSION || doc.tool.name != "vibeward" {
        return Err(not_a_report(format!(
            "tool {} report version {}",
            doc.tool.name, doc.version
        )));
    }
    let shard = match &doc.summary.shard {
        Some(spec) => Some(spec.parse().map_err(not_a_report)?),
        None => None,
    };
    Ok(ShardReport {
        version: doc.tool.version,
        shard,
        summary: Some(doc.summary),
        findings: doc.findings,
        notes: doc.skipped,
    })
}

/// Checks that the inputs are every shard of one scan, once each (or none is a shard at all).
fn check_shards(reports: &[(String, ShardReport)]) -> Result<(), MergeError> {
    let Some(count) = reports.iter().find_map(|(_, r)| r.shard.map(|s| s.count)) else {
        return Ok(());
    };
    let mut seen = vec![false; count as usize];
    for (name, report) in reports {
        let Some(shard) = report.shard else {
            return Err(MergeError::NotAShard(name.clone()));
        };
        if shard.count != count {
            return Err(MergeError::Mismatch(name.clone(), "the number of shards"));
        }
        let slot = &mut seen[shard.index as usize - 1];
        if *slot {
            return Err(MergeError::DuplicateShard(name.clone(), shard));
        }
        *slot = true;
    }
    let missing: Vec<u32> = (1..=count).filter(|i| !seen[*i as usize - 1]).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MergeError::MissingShards { count, missing })
    }
}

/// Combines the reports of the shards of one scan (`(name, text)` each; JSON reports or SARIF
/// logs, even mixed) into the report a single scan of the whole tree gives: findings re-sorted
/// and re-fingerprinted, notes de-duplicated, counters added up. Reports of `--shard I/N` scans
/// name their shard, so a missing or repeated shard is an error rather than a partial report.
/// `rules` gives titles and metadata for the output (the same rules the shards ran). Code frames
/// of the text format are not available (the reports carry snippets, not files).
pub fn merge(inputs: &[(String, String)], rules: Arc<RuleSet>) -> Result<ScanReport, MergeError> {
    let reports = inputs
        .iter()
        .map(|(name, text)| Ok((name.clone(), read_report(name, text)?)))
        .collect::<Result<Vec<_>, MergeError>>()?;
    let Some((_, head)) = reports.first() else {
        return Err(MergeError::Empty);
    };
    let first = (
        head.version.clone(),
        head.summary.as_ref().map(|s| (s.files_discovered, s.rules)),
    );
    for (name, report) in &reports {
        if report.version != first.0 {
            return Err(MergeError::Mismatch(name.clone(), "the vibeward version"));
        }
        if let (Some((discovered, rules)), Some(summary)) = (first.1, &report.summary) {
            if discovered != summary.files_discovered {
                return Err(MergeError::Mismatch(name.clone(), "the set of files"));
            }
            if rules != summary.rules {
                return Err(MergeError::Mismatch(name.clone(), "the set of rules"));
            }
        }
    }
    check_shards(&reports)?;
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut stats = Stats::default();
    for (_, report) in reports {
        if let Some(summary) = &report.summary {
            stats.files_discovered = summary.files_discovered;
            stats.rules = summary.rules;
            stats.files_analysed += summary.files_analysed;
            stats.files_parsed += summary.files_parsed;
            stats.bytes_analysed += summary.bytes_analysed;
            stats.suppressed += summary.suppressed;
        }
        findings.extend(report.findings);
        notes.extend(report.notes);
    }
    // a cross-file taint flow is reported by the shard owning its source, and may end in a file
    // another shard finished alone: the rule it supersedes there still fired, so drop it here
    crate::finish::apply_supersedes(&rules, &mut findings);
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

/// Reading back the SARIF logs `report::sarif` writes: every field of a finding travels in a
/// result (rule, message, region with snippet, fingerprint, severity and confidence and the
/// finding's properties in its property bag, related locations, a code flow for data flows), and
/// every note in a notification (`path: reason (detail)`).
mod sarif {
    use serde_json::Value;

    use super::{MergeError, ShardReport, Summary};
    use crate::discover::Skipped;
    use crate::finding::{Finding, Related};
    use crate::source::Position;

    pub(super) fn read(name: &str, log: &Value) -> Result<ShardReport, MergeError> {
        let bad = |why: &str| MergeError::NotAReport(name.to_string(), format!("SARIF: {why}"));
        let runs = log["runs"].as_array().ok_or_else(|| bad("no runs"))?;
        let [run] = runs.as_slice() else {
            return Err(bad("not exactly one run"));
        };
        let driver = &run["tool"]["driver"];
        if driver["name"] != "vibeward" {
            return Err(bad("not written by vibeward"));
        }
        let version = driver["version"].as_str().unwrap_or_default().to_string();
        let properties = &run["properties"];
        let shard = match properties["vibeward/shard"].as_str() {
            Some(spec) => Some(spec.parse().map_err(|e: String| bad(&e))?),
            None => None,
        };
        let summary = match &properties["vibeward/summary"] {
            Value::Null => None,
            value => Some(
                serde_json::from_value::<Summary>(value.clone())
                    .map_err(|e| bad(&e.to_string()))?,
            ),
        };
        let findings = run["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|r| finding(r).ok_or_else(|| bad("a result without rule, message or location")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut notes = Vec::new();
        for n in run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(location) = n["locations"][0].as_object() else {
                // the one notification without a file says results were left out
                return Err(MergeError::Truncated(name.to_string()));
            };
            let path = path_of(&location["physicalLocation"]["artifactLocation"])
                .ok_or_else(|| bad("a notification without a path"))?;
            notes.push(
                note(&path, n["message"]["text"].as_str().unwrap_or_default())
                    .ok_or_else(|| bad("a notification vibeward did not write"))?,
            );
        }
        Ok(ShardReport {
            version,
            shard,
            summary,
            findings,
            notes,
        })
    }

    /// `path: reason (detail)`, as `report::sarif` writes a note.
    fn note(path: &str, message: &str) -> Option<Skipped> {
        let rest = message.strip_prefix(path)?.strip_prefix(": ")?;
        let (reason, detail) = rest.split_once(" (")?;
        Some(Skipped {
            path: path.to_string(),
            reason: serde_json::from_value(Value::String(reason.to_string())).ok()?,
            detail: detail.strip_suffix(')')?.to_string(),
        })
    }

    fn finding(result: &Value) -> Option<Finding> {
        let physical = &result["locations"][0]["physicalLocation"];
        let region = &physical["region"];
        let (start, end) = positions(region)?;
        let mut properties: std::collections::BTreeMap<String, String> = result["properties"]
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        let severity =
            serde_json::from_value(Value::String(properties.remove("severity")?)).ok()?;
        let confidence =
            serde_json::from_value(Value::String(properties.remove("confidence")?)).ok()?;
        let related = result["relatedLocations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|l| {
                let physical = &l["physicalLocation"];
                let (start, end) = positions(&physical["region"])?;
                Some(Related {
                    path: path_of(&physical["artifactLocation"])?,
                    start,
                    end,
                    message: l["message"]["text"].as_str()?.to_string(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Finding {
            rule_id: result["ruleId"].as_str()?.to_string(),
            severity,
            confidence,
            message: result["message"]["text"].as_str()?.to_string(),
            path: path_of(&physical["artifactLocation"])?,
            start,
            end,
            byte_range: 0..0,
            snippet: region["snippet"]["text"].as_str()?.to_string(),
            fingerprint: result["partialFingerprints"]["vibeward/v1"]
                .as_str()?
                .to_string(),
            related,
            is_flow: result.get("codeFlows").is_some(),
            properties,
            redactions: Vec::new(),
        })
    }

    fn positions(region: &Value) -> Option<(Position, Position)> {
        let at = |key: &str| region[key].as_u64().map(|n| n as usize);
        Some((
            Position {
                line: at("startLine")?,
                column: at("startColumn")?,
            },
            Position {
                line: at("endLine")?,
                column: at("endColumn")?,
            },
        ))
    }

    /// The display path of an artifact location: `%SRCROOT%`-relative URIs are percent-decoded,
    /// absolute ones lose their `file://`.
    fn path_of(artifact: &Value) -> Option<String> {
        let uri = artifact["uri"].as_str()?;
        if let Some(absolute) = uri.strip_prefix("file://") {
            return Some(absolute.to_string());
        }
        let bytes = uri.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && let Some(b) = uri
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }
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

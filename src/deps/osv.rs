//! Offline advisories in the OSV format: reading (embedded curated set, a folder of OSV files, or
//! an osv.dev per-ecosystem `all.zip`), indexing by (ecosystem, package) and version matching.
//!
//! Only the fields vibeward reports are deserialised; unknown fields are ignored so newer OSV
//! schema versions keep loading. Withdrawn advisories are dropped at load time.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use semver::Version;
use serde::Deserialize;

use super::version;

/// Package ecosystems vibeward reads lockfiles for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// npm (package.json, package-lock, yarn, pnpm).
    Npm,
    /// crates.io (Cargo.lock).
    Crates,
}

impl Ecosystem {
    fn from_osv(name: &str) -> Option<Self> {
        // OSV allows a `:suffix` (e.g. `Debian:11`); npm and crates.io never use one
        match name.split(':').next()? {
            "npm" => Some(Ecosystem::Npm),
            "crates.io" => Some(Ecosystem::Crates),
            _ => None,
        }
    }

    /// The osv.dev name of the ecosystem (its archive folder name).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Crates => "crates.io",
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawAdvisory {
    id: String,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    database_specific: Option<RawDatabaseSpecific>,
}

/// The few `database_specific` fields vibeward reads (GitHub: `severity`, `cwe_ids`; ours:
/// `vibeward_kind`). Typed rather than `serde_json::Value`, so no value tree is built per
/// advisory (part of what took loading the `RustSec` archive from ~700 to ~300 ms in debug builds).
/// Each field accepts any JSON (databases put what they like there) and keeps only strings.
#[derive(Debug, Default, Deserialize)]
struct RawDatabaseSpecific {
    #[serde(default, deserialize_with = "lenient_string")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    cwe_ids: Vec<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    vibeward_kind: Option<String>,
}

/// The `RustSec` per-package `database_specific.informational` (`unmaintained`, `unsound`, ...).
#[derive(Debug, Default, Deserialize)]
struct RawAffectedSpecific {
    #[serde(default, deserialize_with = "lenient_string")]
    informational: Option<String>,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

fn lenient_strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[derive(Debug, Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    url: String,
}

#[derive(Debug, Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    database_specific: Option<RawAffectedSpecific>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

/// What an advisory is about, which picks the rule that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A vulnerability (`deps.known-vulnerability`).
    Vulnerability,
    /// Malicious code in a published release (`deps.malicious-version`).
    Malicious,
    /// Unmaintained / deprecated notice (`deps.deprecated-package`).
    Unmaintained,
}

/// One advisory, reduced to what findings show.
#[derive(Debug)]
pub struct Advisory {
    /// The advisory id (`GHSA-...`, `RUSTSEC-...`, `MAL-...`, `x_vibeward-...`).
    pub id: String,
    /// Aliases (CVE, GHSA).
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// CVSS vector, when the advisory has one.
    pub cvss: Option<String>,
    /// Severity level derived from CVSS or the database's own label (`critical`..`low`).
    pub level: Option<&'static str>,
    /// What kind of advisory it is.
    pub kind: Kind,
    /// Up to two reference URLs.
    pub references: Vec<String>,
}

/// The affected versions of one package in one advisory.
#[derive(Debug)]
struct Affected {
    advisory: usize,
    ranges: Vec<Vec<Event>>,
    versions: Vec<String>,
}

#[derive(Debug, Clone)]
enum Event {
    Introduced(Option<Version>),
    Fixed(Version),
    LastAffected(Version),
    Limit(Version),
}

/// A match: the advisory and the first fixed version above the installed one.
#[derive(Debug)]
pub struct Hit<'a> {
    /// The advisory.
    pub advisory: &'a Advisory,
    /// The lowest `fixed` version greater than the installed version, if any.
    pub fixed: Option<String>,
}

/// Advisories indexed by (ecosystem, package name). Built once per scan.
#[derive(Debug, Default)]
pub struct Database {
    advisories: Vec<Advisory>,
    by_package: HashMap<(Ecosystem, String), Vec<Affected>>,
}

/// Why an advisory database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The path could not be read.
    #[error("cannot read advisory database {path}: {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// The error.
        message: String,
    },
}

impl Database {
    /// Number of advisories loaded (withdrawn ones are not counted).
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    /// Whether no advisory is loaded.
    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// Adds one OSV JSON document; returns false when it does not parse. Withdrawn entries and
    /// ecosystems vibeward does not read are skipped (and count as parsed).
    pub fn add_json(&mut self, text: &[u8]) -> bool {
        match serde_json::from_slice::<RawAdvisory>(text) {
            Ok(raw) => {
                self.add_raw(raw);
                true
            }
            Err(_) => false,
        }
    }

    fn add_raw(&mut self, raw: RawAdvisory) {
        if raw.withdrawn.is_some() {
            return;
        }
        let idx = self.advisories.len();
        let mut kind = advisory_kind(&raw);
        let mut is_unsound = false;
        let mut added = false;
        for affected in &raw.affected {
            let Some(pkg) = &affected.package else {
                continue;
            };
            let Some(eco) = Ecosystem::from_osv(&pkg.ecosystem) else {
                continue;
            };
            if let Some(info) = affected
                .database_specific
                .as_ref()
                .and_then(|d| d.informational.as_deref())
            {
                match info {
                    "unmaintained" | "notice" => kind = Kind::Unmaintained,
                    // unsound APIs are memory-safety bugs, not proven exploits
                    "unsound" => is_unsound = true,
                    _ => {}
                }
            }
            let ranges = affected
                .ranges
                .iter()
                .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
                .map(|r| r.events.iter().filter_map(event).collect())
                .collect();
            self.by_package
                .entry((eco, pkg.name.clone()))
                .or_default()
                .push(Affected {
                    advisory: idx,
                    ranges,
                    versions: affected.versions.clone(),
                });
            added = true;
        }
        if added {
            let severities = raw
                .severity
                .iter()
                .chain(raw.affected.iter().flat_map(|a| a.severity.iter()));
            // the database's own label first (GitHub's `database_specific.severity` is what
            // its reviewers decided); the CVSS vector's score otherwise
            let mut cvss = None;
            let mut level = database_level(raw.database_specific.as_ref());
            // v3 first (what most databases and reviewers quote), then v4
            let mut vectors: Vec<&RawSeverity> = severities
                .filter(|s| s.kind == "CVSS_V3" || s.kind == "CVSS_V4")
                .collect();
            vectors.sort_by_key(|s| s.kind != "CVSS_V3");
            if let Some(s) = vectors.first() {
                cvss = Some(s.score.clone());
                if level.is_none() {
                    level = vectors.iter().find_map(|s| super::cvss::level(&s.score));
                }
            }
            if level.is_none() && is_unsound {
                level = Some("medium");
            }
            self.advisories.push(Advisory {
                summary: raw
                    .summary
                    .clone()
                    .unwrap_or_else(|| "no summary".into())
                    .trim()
                    .to_string(),
                id: raw.id,
                aliases: raw.aliases,
                cvss,
                level,
                kind,
                references: raw.references.into_iter().take(2).map(|r| r.url).collect(),
            });
        }
    }

    /// Loads a folder of OSV files (recursively) or an osv.dev zip archive. Returns the number of
    /// entries that did not parse (skipped).
    pub fn load_path(&mut self, path: &Path) -> Result<usize, DatabaseError> {
        let io = |e: &dyn std::fmt::Display| DatabaseError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut bad = 0;
        crate::engine::depends_on(path);
        if path.is_dir() {
            let mut files: Vec<_> = walkdir::WalkDir::new(path)
                .follow_links(true)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(walkdir::DirEntry::into_path)
                .collect();
            files.sort();
            for file in files {
                crate::engine::depends_on(&file);
                match file.extension().and_then(|e| e.to_str()) {
                    Some("json") => {
                        let bytes = std::fs::read(&file).map_err(|e| io(&e))?;
                        bad += usize::from(!self.add_json(&bytes));
                    }
                    Some("zip") => bad += self.load_zip(&file).map_err(|e| io(&e))?,
                    _ => {}
                }
            }
        } else {
            bad += self.load_zip(path).map_err(|e| io(&e))?;
        }
        Ok(bad)
    }

    /// Reads every `.json` entry of an OSV zip archive.
    pub fn load_zip(&mut self, path: &Path) -> Result<usize, zip::result::ZipError> {
        let file = std::fs::File::open(path)?;
        self.load_zip_reader(std::io::BufReader::new(file))
    }

    /// Reads every `.json` entry of an OSV zip archive from any seekable reader.
    pub fn load_zip_reader<R: Read + std::io::Seek>(
        &mut self,
        reader: R,
    ) -> Result<usize, zip::result::ZipError> {
        let mut archive = zip::ZipArchive::new(reader)?;
        let mut files = Vec::with_capacity(archive.len());
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i)?;
            if !entry.is_file() || !is_json_name(entry.name()) {
                continue;
            }
            let mut buf = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
            entry.read_to_end(&mut buf)?;
            files.push(buf);
        }
        // inflating is sequential (one archive reader); JSON parsing is the larger half and
        // runs on every core, then entries are indexed in archive order (deterministic)
        let parsed: Vec<Option<RawAdvisory>> = files
            .par_iter()
            .map(|bytes| serde_json::from_slice(bytes).ok())
            .collect();
        let mut bad = 0;
        for raw in parsed {
            match raw {
                Some(raw) => self.add_raw(raw),
                None => bad += 1,
            }
        }
        Ok(bad)
    }

    /// The advisories affecting `name@version`, in load order.
    pub fn matches(&self, eco: Ecosystem, name: &str, version: &str) -> Vec<Hit<'_>> {
        let Some(list) = self.by_package.get(&(eco, name.to_string())) else {
            return Vec::new();
        };
        let parsed = version::parse(version);
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for affected in list {
            let explicit = affected.versions.iter().any(|v| v == version);
            let in_range = parsed
                .as_ref()
                .is_some_and(|v| affected.ranges.iter().any(|r| range_contains(r, v)));
            if !(explicit || in_range) {
                continue;
            }
            let fixed = parsed
                .as_ref()
                .and_then(|v| first_fixed(&affected.ranges, v));
            if let Some(prev) = hits
                .iter_mut()
                .find(|h| std::ptr::eq(h.advisory, &raw const self.advisories[affected.advisory]))
            {
                if prev.fixed.is_none() {
                    prev.fixed = fixed;
                }
                continue;
            }
            hits.push(Hit {
                advisory: &self.advisories[affected.advisory],
                fixed,
            });
        }
        hits
    }
}

/// Whether an archive entry name ends in `.json` (any case).
pub fn is_json_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn event(e: &RawEvent) -> Option<Event> {
    if let Some(v) = &e.introduced {
        return Some(Event::Introduced(if v == "0" {
            None
        } else {
            Some(version::parse(v)?)
        }));
    }
    if let Some(v) = &e.fixed {
        return Some(Event::Fixed(version::parse(v)?));
    }
    if let Some(v) = &e.last_affected {
        return Some(Event::LastAffected(version::parse(v)?));
    }
    e.limit
        .as_deref()
        .filter(|v| *v != "*")
        .and_then(version::parse)
        .map(Event::Limit)
}

fn event_version(e: &Event) -> Option<&Version> {
    match e {
        Event::Introduced(v) => v.as_ref(),
        Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => Some(v),
    }
}

/// OSV's evaluation: walk the events in version order; `introduced` opens, `fixed`/`limit`
/// close at their version, `last_affected` closes just after it.
fn range_contains(events: &[Event], v: &Version) -> bool {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| event_version(a).cmp(&event_version(b)));
    let mut affected = false;
    for e in sorted {
        match e {
            Event::Introduced(None) => affected = true,
            Event::Introduced(Some(at)) if v >= at => affected = true,
            Event::Fixed(at) | Event::Limit(at) if v >= at => affected = false,
            Event::LastAffected(at) if v > at => affected = false,
            _ => {}
        }
    }
    affected
}

fn first_fixed(ranges: &[Vec<Event>], v: &Version) -> Option<String> {
    ranges
        .iter()
        .flatten()
        .filter_map(|e| match e {
            Event::Fixed(f) if f > v => Some(f),
            _ => None,
        })
        .min()
        .map(ToString::to_string)
}

fn advisory_kind(raw: &RawAdvisory) -> Kind {
    let db = raw.database_specific.as_ref();
    let flagged = db.and_then(|d| d.vibeward_kind.as_deref());
    let cwe_506 = db.is_some_and(|d| d.cwe_ids.iter().any(|i| i == "CWE-506"));
    match flagged {
        Some("malicious") => Kind::Malicious,
        Some("unmaintained") => Kind::Unmaintained,
        _ if raw.id.starts_with("MAL-") || cwe_506 => Kind::Malicious,
        _ => Kind::Vulnerability,
    }
}

fn database_level(db: Option<&RawDatabaseSpecific>) -> Option<&'static str> {
    let label = db?.severity.as_deref()?;
    Some(match label.to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "high" => "high",
        "moderate" | "medium" => "medium",
        "low" => "low",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(json: &str) -> Database {
        let mut db = Database::default();
        assert!(db.add_json(json.as_bytes()));
        db
    }

    #[test]
    fn matches_ranges_versions_and_reports_first_fix() {
        let d = db(
            r#"{"id":"GHSA-x","modified":"2020-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"2.0.0"},{"last_affected":"2.1.0"}]}],
            "versions":["3.0.0-beta.1"]}]}"#,
        );
        let ids = |v: &str| d.matches(Ecosystem::Npm, "a", v).len();
        assert_eq!(ids("1.1.9"), 1);
        assert_eq!(ids("1.2.0"), 0);
        assert_eq!(
            ids("1.2.0-rc.1"),
            1,
            "a prerelease of the fix is still affected"
        );
        assert_eq!(ids("2.1.0"), 1);
        assert_eq!(ids("2.1.1"), 0);
        assert_eq!(ids("3.0.0-beta.1"), 1);
        assert_eq!(
            d.matches(Ecosystem::Npm, "a", "1.0.0")[0].fixed.as_deref(),
            Some("1.2.0")
        );
    }

    #[test]
    fn skips_withdrawn_and_limits() {
        let d = db(
            r#"{"id":"X","modified":"x","withdrawn":"2021-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#,
        );
        assert!(d.matches(Ecosystem::Npm, "a", "1.0.0").is_empty());
        let d = db(
            r#"{"id":"Y","modified":"x","affected":[{"package":{"ecosystem":"crates.io","name":"b"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"limit":"1.5.0"}]}]}]}"#,
        );
        assert_eq!(d.matches(Ecosystem::Crates, "b", "1.4.0").len(), 1);
        assert!(d.matches(Ecosystem::Crates, "b", "1.5.0").is_empty());
    }
}

//! vibeward: finds the security holes AI coding tools leave in backend code.
//!
//! The pipeline, top to bottom ([`scan`]): load rules → discover files → analyse each file in
//! parallel (read once, prefilter, parse at most once, every analyzer) → project-wide pass →
//! filter → sort and fingerprint → [`ScanReport`], which the `report` writers render.

pub mod authz;
pub mod config;
pub mod deps;
pub mod discover;
pub mod engine;
pub mod entry;
pub mod finding;
pub mod parse;
pub mod platform;
pub mod report;
pub mod rules;
pub mod secrets;
pub mod source;
pub mod suppress;
pub mod taint;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

pub use config::Settings;
use discover::{DiscoverError, Skipped};
use engine::{AnalyzerBuilder, Engine, FileOutcome, ProjectContext};
use finding::Finding;
use rules::{RuleError, RuleSet, Severity};

/// The capabilities beyond query rules, each owning its matcher kinds (see `engine::Analyzer`).
pub fn capabilities() -> [AnalyzerBuilder; 5] {
    [
        secrets::build,
        taint::build,
        platform::build,
        authz::build,
        deps::build,
    ]
}

/// Anything that stops a scan before it produces a report.
#[derive(Debug, Error)]
pub enum ScanError {
    /// A rule could not be loaded.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A path or flag for discovery is wrong.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--enable`/`--disable` named no known rule.
    #[error("{flag} {id}: no rule or family with this name (see `vibeward rules`)")]
    UnknownRule {
        /// The flag.
        flag: &'static str,
        /// The name given.
        id: String,
    },
    /// The thread pool could not be built.
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads {
        /// Requested threads.
        jobs: usize,
        /// Why it failed.
        message: String,
    },
}

/// Counters for `--stats`, JSON and SARIF.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Files found by discovery (including skipped ones).
    pub files_discovered: usize,
    /// Files analysed.
    pub files_analysed: usize,
    /// Files tree-sitter parsed.
    pub files_parsed: usize,
    /// Bytes of the analysed files.
    pub bytes_analysed: u64,
    /// Skipped (or degraded) files by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Findings silenced by inline comments.
    pub suppressed: usize,
    /// Rules that ran.
    pub rules: usize,
    /// Wall time (never written to JSON or SARIF, which stay byte-identical between runs).
    #[serde(skip)]
    pub elapsed: Duration,
}

/// The result of a scan, ready to report.
pub struct ScanReport {
    /// Findings, sorted and fingerprinted.
    pub findings: Vec<Finding>,
    /// Skipped and degraded files, sorted.
    pub notes: Vec<Skipped>,
    /// Counters.
    pub stats: Stats,
    /// Redacted text of the files that have findings, for code frames.
    pub sources: BTreeMap<String, Arc<str>>,
    /// The rules that ran.
    pub rules: Arc<RuleSet>,
}

impl ScanReport {
    /// Number of findings at or above `severity`.
    pub fn count_at_least(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= severity)
            .count()
    }
}

/// Loads the rules a scan will run: built-in ones (unless disabled), user folders, then
/// `--enable`/`--disable` filters (ids, aliases or families).
pub fn load_rules(settings: &Settings) -> Result<RuleSet, ScanError> {
    let mut all = if settings.builtin_rules {
        rules::load_builtin_rules()?
    } else {
        Vec::new()
    };
    for dir in &settings.rule_dirs {
        all.extend(rules::load_rule_dir(dir)?);
    }
    let mut set = RuleSet::new(all)?;
    let selects = |name: &str, rule: &rules::Rule| rule.is_named(name) || rule.family() == name;
    for (flag, names) in [
        ("--enable", &settings.enable),
        ("--disable", &settings.disable),
    ] {
        for name in names {
            if !set.rules().iter().any(|r| selects(name, r)) {
                return Err(ScanError::UnknownRule {
                    flag,
                    id: name.clone(),
                });
            }
        }
    }
    if !settings.enable.is_empty() {
        set.retain(|r| settings.enable.iter().any(|n| selects(n, r)));
    }
    set.retain(|r| !settings.disable.iter().any(|n| selects(n, r)));
    Ok(set)
}

/// Runs a whole scan.
pub fn scan(settings: &Settings) -> Result<ScanReport, ScanError> {
    let started = Instant::now();
    let scanner = Scanner::new(settings)?;
    let mut report = scanner.scan(&settings.paths)?;
    report.stats.elapsed = started.elapsed();
    Ok(report)
}

/// Compiled rules and a worker pool, reusable for several scans (tests scan many roots).
pub struct Scanner {
    engine: Engine,
    pool: rayon::ThreadPool,
    settings: Settings,
}

/// Stack size of the analysis threads.
const WORKER_STACK: usize = 64 << 20;

impl Scanner {
    /// Loads and compiles the rules and starts the worker pool.
    pub fn new(settings: &Settings) -> Result<Self, ScanError> {
        let rules = load_rules(settings)?;
        let engine = Engine::new(rules, settings)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.jobs)
            // analyzers recurse over syntax trees (bounded, but generated files nest deeply):
            // reserved address space, committed only as used
            .stack_size(WORKER_STACK)
            .build()
            .map_err(|e| ScanError::Threads {
                jobs: settings.jobs,
                message: e.to_string(),
            })?;
        Ok(Scanner {
            engine,
            pool,
            settings: settings.clone(),
        })
    }

    /// The compiled engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Scans `paths` with this scanner's rules and settings.
    pub fn scan(&self, paths: &[std::path::PathBuf]) -> Result<ScanReport, ScanError> {
        let started = Instant::now();
        let settings = &self.settings;
        let engine = &self.engine;
        let mut discover_options = settings.discover.clone();
        discover_options.threads = settings.jobs;
        let discovered = discover::discover(paths, &discover_options)?;

        // Per-file results come back in candidate order, so the merge is deterministic.
        let outcomes: Vec<FileOutcome> = self.pool.install(|| {
            discovered
                .candidates
                .par_iter()
                .map(|c| engine.scan_candidate(c))
                .collect()
        });

        let mut stats = Stats {
            files_discovered: discovered.candidates.len() + discovered.skipped.len(),
            rules: engine.rules().len(),
            ..Stats::default()
        };
        let mut findings = Vec::new();
        let mut notes = discovered.skipped;
        let mut sources = BTreeMap::new();
        for (candidate, outcome) in discovered.candidates.iter().zip(outcomes) {
            if outcome.analysed {
                stats.files_analysed += 1;
                stats.bytes_analysed += outcome.bytes;
            }
            stats.files_parsed += usize::from(outcome.parsed);
            stats.suppressed += outcome.suppressed;
            if let Some(source) = outcome.source {
                sources.insert(candidate.display.clone(), source);
            }
            findings.extend(outcome.findings);
            notes.extend(outcome.notes);
        }

        let project = ProjectContext {
            roots: paths,
            candidates: &discovered.candidates,
            rules: engine.rules(),
        };
        let (project_findings, project_notes) =
            self.pool.install(|| engine.analyze_project(&project));
        findings.extend(project_findings);
        notes.extend(project_notes);

        findings.retain(|f| f.severity >= settings.min_severity);
        finding::sort_findings(&mut findings);
        finding::assign_fingerprints(&mut findings);
        notes.sort();
        notes.dedup();
        for note in &notes {
            *stats
                .skipped
                .entry(note.reason.as_str().to_string())
                .or_default() += 1;
        }
        stats.elapsed = started.elapsed();
        Ok(ScanReport {
            findings,
            notes,
            stats,
            sources,
            rules: engine.shared_rules(),
        })
    }
}

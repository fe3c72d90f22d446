//! vibeward: finds the security holes AI coding tools leave in backend code.
//!
//! The pipeline, top to bottom ([`Scanner::scan`]): load rules and build the analyzers of
//! [`capabilities`] → discover files → analyse each file in parallel (read once, prefilter, parse
//! at most once, every analyzer, and the [`engine::facts`] each project pass needs) →
//! project-wide pass over those facts → [`finish`] every finding alike (supersede,
//! suppress, redact, snippet, filter, sort, fingerprint) → [`ScanReport`], which the `report`
//! writers render. Layers point one way: rules are data, analyzers create findings, `finish`
//! finishes them, reporters read them; none of them calls back into this file.

pub mod ascii_regex;
pub mod authz;
pub mod baseline;
pub mod cache;
pub mod changed;
pub mod compliance;
pub mod config;
pub mod deploy;
pub mod deps;
pub mod discover;
pub mod engine;
pub mod entry;
pub mod finding;
pub mod finish;
pub mod fix;
pub mod lsp;
pub mod mcp;
pub mod parse;
pub mod platform;
pub mod privacy;
pub mod query;
pub mod report;
pub mod rules;
pub mod secrets;
pub mod shard;
pub mod source;
pub mod suppress;
pub mod taint;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

pub use config::Settings;
use discover::{DiscoverError, Skipped};
use engine::{Capability, Engine, FileOutcome, ProjectContext};
use finding::Finding;
use rules::{RuleError, RuleSet, Severity};

/// The capabilities beyond query rules, each owning its matcher kinds (see `engine::Analyzer`),
/// and the registry of builtin checks; the pipeline hands them to the engine.
pub const CAPABILITIES: &[Capability] = &[
    Capability::new(secrets::build),
    Capability::new(taint::build),
    Capability {
        build: platform::build,
        builtins: platform::builtin_names,
    },
    Capability {
        build: authz::build,
        builtins: authz::builtin_names,
    },
    Capability {
        build: deps::build,
        builtins: deps::builtin_names,
    },
    Capability {
        build: deploy::build,
        builtins: deploy::builtin_names,
    },
    Capability {
        build: privacy::build,
        builtins: privacy::builtin_names,
    },
    Capability {
        build: template::build,
        builtins: template::builtin_names,
    },
];

/// Anything that stops a scan before it produces a report.
#[derive(Debug, Error)]
pub enum ScanError {
    /// A rule could not be loaded.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A path or flag for discovery is wrong.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--enable`/`--disable` or the configuration named no known rule.
    #[error(
        "{flag} {id}: no rule or family with this name{} (see `vibeward rules`)",
        config::file::did_you_mean(suggestion.as_deref())
    )]
    UnknownRule {
        /// The flag, or the configuration file and key.
        flag: String,
        /// The name given.
        id: String,
        /// The closest rule id or family.
        suggestion: Option<String>,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
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
    /// Files tree-sitter parsed (with `--cache`, including the cached files that were parsed
    /// when their outcome was stored, so output does not depend on the cache).
    pub files_parsed: usize,
    /// Files whose outcome came from the cache (`--cache`; `--stats` only).
    #[serde(skip)]
    pub files_cached: usize,
    /// Bytes of the analysed files.
    pub bytes_analysed: u64,
    /// Skipped (or degraded) files by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Findings silenced by inline comments.
    pub suppressed: usize,
    /// Findings left out because the baseline (`--baseline`) knows them.
    pub baselined: usize,
    /// Secret findings the configuration allows (`[secrets]` allow-lists).
    pub allowed: usize,
    /// Rules that ran.
    pub rules: usize,
    /// The shard this report covers (`--shard I/N`), so `vibeward merge` can tell a missing one.
    #[serde(skip)]
    pub shard: Option<shard::Shard>,
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
    let flags = [
        ("--enable", &settings.enable),
        ("--disable", &settings.disable),
    ];
    // names from the configuration file first, so an error names the file and its key
    let named = settings.rule_names.iter().cloned().chain(
        flags
            .iter()
            .flat_map(|(flag, names)| names.iter().map(|n| ((*flag).to_string(), n.clone()))),
    );
    for (flag, name) in named {
        if !set.rules().iter().any(|r| selects(&name, r)) {
            let mut known: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
            known.extend(set.rules().iter().map(rules::Rule::family));
            return Err(ScanError::UnknownRule {
                suggestion: config::file::closest(&name, known),
                flag,
                id: name,
            });
        }
    }
    if !settings.enable.is_empty() {
        set.retain(|r| settings.enable.iter().any(|n| selects(n, r)));
    }
    set.retain(|r| !settings.disable.iter().any(|n| selects(n, r)));
    if !settings.severity_overrides.is_empty() {
        set.set_severities(|r| severity_override(settings, r));
    }
    Ok(set)
}

/// The severity `vibeward.toml` gives `rule`: by id or alias first, then by family.
fn severity_override(settings: &Settings, rule: &rules::Rule) -> Option<Severity> {
    std::iter::once(&rule.id)
        .chain(&rule.aliases)
        .find_map(|name| settings.severity_overrides.get(name))
        .or_else(|| settings.severity_overrides.get(rule.family()))
        .copied()
}

/// Loads the rules and compiles every matcher of every kind (queries, secrets, taint specs,
/// builtin names), as a scan would: `vibeward rules` and `explain` use it so that a broken rule
/// of any kind is the same one-line error there as in a scan.
pub fn compile_rules(settings: &Settings) -> Result<Arc<RuleSet>, ScanError> {
    let rules = load_rules(settings)?;
    Ok(Engine::new(rules, settings, CAPABILITIES)?.shared_rules())
}

/// Runs a whole scan.
pub fn scan(settings: &Settings) -> Result<ScanReport, ScanError> {
    scan_with_progress(settings, &NoProgress)
}

/// Runs a whole scan, telling `progress` how the per-file pass advances.
pub fn scan_with_progress(
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<ScanReport, ScanError> {
    let started = Instant::now();
    let scanner = Scanner::new(settings)?;
    scanner
        .engine()
        .timings()
        .add("start-up (rules, analyzers)", started.elapsed());
    let mut report = scanner.scan_reporting(&settings.paths, progress);
    if let Ok(report) = &mut report {
        report.stats.elapsed = started.elapsed();
    }
    // freeing the compiled rules, automata and thread pool took a tenth of a scan of an empty
    // directory: a thread of its own does it, which a process about to exit never waits for
    let _ = std::thread::Builder::new()
        .name("drop-scanner".into())
        .spawn(move || drop(scanner));
    report
}

/// Receives the progress of the per-file pass (a progress bar); called from worker threads.
pub trait Progress: Sync {
    /// The pass starts over `files` files.
    fn start(&self, files: u64);
    /// One more file is done.
    fn advance(&self);
    /// The pass is over (the project pass and reporting follow).
    fn finish(&self);
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// The result of [`Scanner::scan_text`].
#[derive(Debug, Default)]
pub struct TextScan {
    /// Findings, finished (sorted, redacted, fingerprinted).
    pub findings: Vec<Finding>,
    /// Why the text was not (or only partly) analysed.
    pub notes: Vec<Skipped>,
    /// Findings silenced by inline `vibeward-ignore` comments.
    pub suppressed: usize,
    /// The text with every secret masked (offsets unchanged), when there are findings.
    pub redacted: Option<Arc<str>>,
}

/// Compiled rules and a worker pool, reusable for several scans (tests scan many roots).
pub struct Scanner {
    engine: Engine,
    pool: rayon::ThreadPool,
    settings: Settings,
    paths: config::filter::PathFilter,
    secrets: config::filter::SecretFilter,
    severities: BTreeMap<String, Severity>,
}

/// The most worker threads a scan starts, whatever `--jobs` asks: past a few per core they only
/// add memory and contention (`-j 10000` once pushed the load average to 229).
pub fn max_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(4, std::num::NonZeroUsize::get);
    (cores * 4).clamp(4, 64)
}

/// The worker threads a scan uses for `requested` (0: one per core), capped at [`max_jobs`].
pub fn effective_jobs(requested: usize) -> usize {
    requested.min(max_jobs())
}

/// Stack size of the analysis threads: reserved address space, committed only as used. Every
/// walk over a syntax tree stays within `engine::stack::BUDGET` (1 MiB) of where a file's
/// analysis starts; the rest is headroom for libraries that recurse with limits of their own.
const WORKER_STACK: usize = 64 << 20;

impl Scanner {
    /// Loads and compiles the rules, builds the analyzers of [`CAPABILITIES`] and starts the
    /// worker pool.
    pub fn new(settings: &Settings) -> Result<Self, ScanError> {
        Self::with_capabilities(settings, CAPABILITIES)
    }

    /// [`Scanner::new`] with other analyzers (tests inject failing ones).
    pub fn with_capabilities(
        settings: &Settings,
        capabilities: &[Capability],
    ) -> Result<Self, ScanError> {
        let mut settings = settings.clone();
        settings.jobs = effective_jobs(settings.jobs);
        let settings = &settings;
        // the pool first: the rules are read and the analyzers built on its threads, so a scan
        // starts no other (rayon's global pool was two more threads to start, issue 22)
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
        let (engine, severities, paths, secrets) = pool.install(|| {
            let rules = load_rules(settings)?;
            let severities = rules
                .rules()
                .iter()
                .filter_map(|r| Some((r.id.clone(), severity_override(settings, r)?)))
                .collect();
            let paths = config::filter::PathFilter::new(settings)?;
            let secrets = config::filter::SecretFilter::new(settings)?;
            let engine = Engine::new(rules, settings, capabilities)?;
            Ok::<_, ScanError>((engine, severities, paths, secrets))
        })?;
        Ok(Scanner {
            engine,
            pool,
            settings: settings.clone(),
            paths,
            secrets,
            severities,
        })
    }

    /// The compiled engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs the per-file pass on one file already in memory and finishes its findings (for
    /// editors and tests: no project pass). Returns the finished findings and the file's notes.
    pub fn scan_file(&self, file: source::SourceFile) -> (Vec<Finding>, Vec<Skipped>) {
        let outcome = self.engine.scan_source(file);
        let kept = outcome.file;
        let file_of = |path: &str| kept.clone().filter(|f| f.display == path);
        let finished = finish::finish(
            self.engine.rules(),
            outcome.findings,
            &file_of,
            self.settings.min_severity,
        );
        (finished.findings, outcome.notes)
    }

    /// Analyses text that is not on disk (an editor's unsaved buffer, code an agent has not
    /// written yet) as the file at `display` (relative, `/`-separated) would be: its kind comes
    /// from the name, the content checks, `include`/`exclude`, severity overrides and secret
    /// allow-lists of the configuration apply, and the findings are finished like a scan's
    /// (supersede, inline suppressions, redaction, snippets). Only the per-file pass runs: rules
    /// that need the rest of the project (migration histories, manifests with their lockfiles)
    /// run in [`Scanner::scan`]. Reads nothing from disk.
    pub fn scan_text(&self, display: &str, text: String) -> TextScan {
        let path = std::path::Path::new(display);
        let skipped = |reason, detail| TextScan {
            notes: vec![Skipped {
                path: display.to_string(),
                reason,
                detail,
            }],
            ..TextScan::default()
        };
        let Some(kind) = discover::FileKind::classify(path) else {
            return skipped(
                discover::SkipReason::Binary,
                "a binary file type by its name".into(),
            );
        };
        if !self.paths.keeps(path) {
            return TextScan::default();
        }
        let (file, degraded) = match source::load_bytes(display, path, kind, text.into_bytes()) {
            Ok(source::Loaded::File(file, degraded)) => (file, degraded),
            Ok(source::Loaded::Skip(note)) => {
                return TextScan {
                    notes: vec![note],
                    ..TextScan::default()
                };
            }
            Err((reason, detail)) => return skipped(reason, detail),
        };
        let mut outcome = self.engine.scan_source(file);
        outcome.notes.extend(degraded);
        let mut findings = outcome.findings;
        for f in &mut findings {
            if let Some(severity) = self.severities.get(&f.rule_id) {
                f.severity = *severity;
            }
        }
        let kept = outcome.file;
        let file_of = |p: &str| kept.clone().filter(|f| f.display == p);
        self.allow_secrets(&mut findings, &BTreeMap::new(), &file_of);
        let mut finished = finish::finish(
            self.engine.rules(),
            findings,
            &file_of,
            self.settings.min_severity,
        );
        finished
            .findings
            .retain(|f| !self.secrets.allows_fingerprint(f));
        TextScan {
            redacted: finished.sources.remove(display),
            findings: finished.findings,
            notes: outcome.notes,
            suppressed: finished.suppressed,
        }
    }

    /// The settings this scanner was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Scans `paths` with this scanner's rules and settings.
    pub fn scan(&self, paths: &[std::path::PathBuf]) -> Result<ScanReport, ScanError> {
        self.scan_reporting(paths, &NoProgress)
    }

    /// [`Scanner::scan`], telling `progress` how the per-file pass advances.
    pub fn scan_reporting(
        &self,
        paths: &[std::path::PathBuf],
        progress: &dyn Progress,
    ) -> Result<ScanReport, ScanError> {
        let started = Instant::now();
        let settings = &self.settings;
        let engine = &self.engine;
        let mut discover_options = settings.discover.clone();
        discover_options.threads = settings.jobs;
        let timings = engine.timings();
        let mut discovered = timings.time("scan: discover", || {
            discover::discover(paths, &discover_options)
        })?;
        if !self.paths.is_empty() {
            // a file named on the command line is scanned whatever `include`/`exclude` say, as
            // it is whatever ignore files and `--exclude` say (see `discover`)
            let named: Vec<&std::path::Path> = paths
                .iter()
                .filter(|p| p.is_file())
                .map(std::path::PathBuf::as_path)
                .collect();
            discovered
                .candidates
                .retain(|c| named.contains(&c.path.as_path()) || self.paths.keeps(&c.path));
        }
        // `--changed`/`--staged`: the per-file pass reads the selected files only; the project
        // pass still sees every candidate (lockfiles, migrations, Cloud Code modules)
        // `--shard I/N`: the same, over this shard's files (see `shard`)
        let is_selected = |c: &discover::Candidate| {
            self.paths.is_selected(&c.path) && settings.shard.is_none_or(|s| s.owns(&c.display))
        };
        let selected: Vec<&discover::Candidate> = discovered
            .candidates
            .iter()
            .filter(|c| is_selected(c))
            .collect();

        // `--cache`: outcomes of files seen before, under the same rules, settings and binary
        let cache = settings
            .cache
            .as_ref()
            .map(|dir| cache::Cache::open(dir, cache::scan_key(engine.rules(), settings)));

        // A whole tree the cache saw unchanged (every file's stamp, every other file read) is
        // replayed, project passes included; otherwise the files it cannot hold are analysed.
        let fingerprint = cache
            .as_ref()
            .filter(|_| selected.len() == discovered.candidates.len() && settings.shard.is_none())
            .and_then(|c| c.fingerprint(paths, &discovered.candidates));
        let replayed = fingerprint
            .as_deref()
            .and_then(|fp| cache.as_ref()?.replay(fp, &selected));
        let (outcomes, replayed_project) = if let Some((outcomes, findings, notes)) = replayed {
            (outcomes, Some((findings, notes)))
        } else {
            // Per-file results come back in candidate order, so the merge is deterministic.
            progress.start(selected.len() as u64);
            let outcomes: Vec<FileOutcome> = timings.time("scan: per-file pass", || {
                self.pool.install(|| {
                    selected
                        .par_iter()
                        .map(|c| {
                            let outcome = engine.scan_candidate_cached(c, cache.as_ref());
                            progress.advance();
                            outcome
                        })
                        .collect()
                })
            });
            progress.finish();
            (outcomes, None)
        };
        // what the next scan needs to replay this one: the outcomes the cache does not hold
        let mut whole = fingerprint
            .filter(|_| replayed_project.is_none())
            .map(|fp| (fp, BTreeMap::new()));

        let mut stats = Stats {
            files_discovered: discovered.candidates.len() + discovered.skipped.len(),
            rules: engine.rules().len(),
            files_cached: cache.as_ref().map_or(0, cache::Cache::hits),
            // a shard of one is the whole scan, and says nothing of shards
            shard: settings.shard.filter(|s| s.count > 1),
            ..Stats::default()
        };
        let mut findings = Vec::new();
        let mut notes = discovered.skipped;
        let mut kept: BTreeMap<String, Arc<source::SourceFile>> = BTreeMap::new();
        let mut facts = engine::Facts::default();
        for (candidate, outcome) in selected.iter().zip(outcomes) {
            if let Some((_, held)) = &mut whole
                && !outcome.cacheable
            {
                if outcome.notes.iter().any(|n| n.reason.is_failure()) {
                    // a timeout or a failure is not an outcome to replay
                    whole = None;
                } else {
                    let kind = candidate.kind.as_str();
                    let entry = cache::Entry::of(String::new(), None, kind, &outcome);
                    held.insert(candidate.display.clone(), entry);
                }
            }
            facts.add(&candidate.display, outcome.facts);
            if outcome.analysed {
                stats.files_analysed += 1;
                stats.bytes_analysed += outcome.bytes;
            }
            stats.files_parsed += usize::from(outcome.parsed);
            if let Some(file) = outcome.file {
                kept.insert(candidate.display.clone(), file);
            }
            findings.extend(outcome.findings);
            notes.extend(outcome.notes);
        }

        // The project pass works from the facts of every candidate: the files `--changed` or
        // `--shard` left out of the per-file pass are read for their facts only.
        if selected.len() < discovered.candidates.len() {
            let left_out: Vec<&discover::Candidate> = discovered
                .candidates
                .iter()
                .filter(|c| !is_selected(c) && engine.wants_facts(c))
                .collect();
            let extracted: Vec<Vec<engine::Fact>> = self
                .pool
                .install(|| left_out.par_iter().map(|c| engine.facts_of(c)).collect());
            for (candidate, file_facts) in left_out.iter().zip(extracted) {
                facts.add(&candidate.display, file_facts);
            }
        }
        facts.sort();
        let project = ProjectContext {
            roots: paths,
            candidates: &discovered.candidates,
            rules: engine.rules(),
            facts: &facts,
        };
        let (project_findings, project_notes) = match replayed_project {
            Some(replayed) => replayed,
            None => timings.time("scan: project pass", || {
                self.pool.install(|| engine.analyze_project(&project))
            }),
        };
        if let Some(cache) = cache {
            if let Some((fp, held)) = whole
                && !project_notes.iter().any(|n| n.reason.is_failure())
            {
                cache.keep_tree(fp, held, &project_findings, &project_notes);
            }
            notes.extend(cache.note());
            if let Err(why) = cache.save() {
                notes.push(discover::Skipped {
                    path: settings
                        .cache
                        .as_ref()
                        .map_or_else(String::new, |d| d.display().to_string()),
                    reason: discover::SkipReason::Notice,
                    detail: format!("the cache could not be written ({why})"),
                });
            }
        }
        let project_len = project_findings.len();
        findings.extend(project_findings);
        if let Some(shard) = settings.shard {
            // each finding is finished, with the rest of its file's, by the shard owning the
            // file; cross-file taint flows come from the state of this shard's files only, so
            // this shard reports them wherever they end
            let rules = engine.rules();
            let per_file = findings.len() - project_len;
            let mut index = 0;
            findings.retain(|f| {
                index += 1;
                index <= per_file
                    || shard.owns(&f.path)
                    || rules
                        .get(&f.rule_id)
                        .is_some_and(|r| r.matcher.kind() == rules::MatcherKind::Taint)
            });
        }
        notes.extend(project_notes);
        drop(facts);

        // Project findings may lie in files the per-file pass did not keep: read those again.
        let by_path: BTreeMap<&str, &discover::Candidate> = discovered
            .candidates
            .iter()
            .map(|c| (c.display.as_str(), c))
            .collect();
        let file_of = |path: &str| -> Option<Arc<source::SourceFile>> {
            kept.get(path)
                .cloned()
                .or_else(|| match source::load(by_path.get(path)?) {
                    source::Loaded::File(file, _) => Some(Arc::new(file)),
                    source::Loaded::Skip(_) => None,
                })
        };
        for f in &mut findings {
            if let Some(severity) = self.severities.get(&f.rule_id) {
                f.severity = *severity;
            }
        }
        let before = findings.len();
        self.allow_secrets(&mut findings, &by_path, &file_of);
        stats.allowed = before - findings.len();
        let mut finished = timings.time("scan: finish", || {
            self.pool.install(|| {
                finish::finish(engine.rules(), findings, &file_of, settings.min_severity)
            })
        });
        stats.suppressed = finished.suppressed;
        let before = finished.findings.len();
        finished
            .findings
            .retain(|f| !self.secrets.allows_fingerprint(f));
        stats.allowed += before - finished.findings.len();
        if settings.only_files.is_some() {
            let chosen: std::collections::BTreeSet<&str> =
                selected.iter().map(|c| c.display.as_str()).collect();
            finished.findings.retain(|f| {
                chosen.contains(f.path.as_str())
                    || f.related.iter().any(|r| chosen.contains(r.path.as_str()))
            });
        }
        if let Some(baseline) = &settings.baseline {
            let before = finished.findings.len();
            finished.findings.retain(|f| !baseline.contains(f));
            stats.baselined = before - finished.findings.len();
        }
        finished
            .sources
            .retain(|path, _| finished.findings.iter().any(|f| f.path == *path));
        notes.sort();
        notes.dedup();
        for note in &notes {
            *stats
                .skipped
                .entry(note.reason.as_str().to_string())
                .or_default() += 1;
        }
        stats.elapsed = started.elapsed();
        if timings.is_enabled() {
            timings.add("scan: total (after start-up)", stats.elapsed);
            // profiling output on request (`VIBEWARD_TIMINGS`), never part of a report
            let _ = std::io::Write::write_all(
                &mut std::io::stderr().lock(),
                timings.render().as_bytes(),
            );
        }
        Ok(ScanReport {
            findings: finished.findings,
            notes,
            stats,
            sources: finished.sources,
            rules: engine.shared_rules(),
        })
    }

    /// Drops the secret findings `[secrets]` allows by path or by the text they matched.
    fn allow_secrets(
        &self,
        findings: &mut Vec<Finding>,
        by_path: &BTreeMap<&str, &discover::Candidate>,
        file_of: &dyn Fn(&str) -> Option<Arc<source::SourceFile>>,
    ) {
        if self.settings.secrets_allow.is_empty() {
            return;
        }
        findings.retain(|f| {
            if !config::filter::SecretFilter::is_secret(f) {
                return true;
            }
            let path = by_path
                .get(f.path.as_str())
                .map_or_else(|| std::path::PathBuf::from(&f.path), |c| c.path.clone());
            if self.paths.allows_secrets_in(&path) {
                return false;
            }
            !(self.secrets.has_regexes()
                && file_of(&f.path).is_some_and(|file| {
                    file.text
                        .get(f.byte_range.clone())
                        .is_some_and(|text| self.secrets.allows_text(text))
                }))
        });
    }
}

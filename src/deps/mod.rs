//! The `deps` capability: risky dependencies in manifests and lockfiles, fully offline.
//!
//! It owns the `builtin:` rules of the `deps` family. Per file it reads `package.json`,
//! `Cargo.toml` and every supported lockfile ([`npm`], [`cargo`]) and checks specs, sources,
//! integrity, install scripts, typosquats and advisories ([`osv`]: the curated set embedded from
//! `rules/advisories/`, plus `--advisory-db` or the database `vibeward db update` stored). The
//! project pass pairs each manifest with its lockfile for `missing-lockfile` and `lockfile-drift`
//! ([`project`]). Nothing here touches the network except [`db::update_database`].

mod cargo;
mod checks;
mod cvss;
pub mod db;
mod extra;
mod json;
mod model;
mod names;
mod npm;
pub mod osv;
mod project;
pub mod sbom;
mod version;

use std::collections::HashMap;
use std::path::Path;

use crate::discover::{SkipReason, Skipped};
use crate::engine::{Analyzer, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet};

pub use db::update_database;

/// The checks a `deps` rule can name in `builtin: { check: ... }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Check {
    KnownVulnerability,
    MaliciousVersion,
    DeprecatedPackage,
    GitDependency,
    UrlDependency,
    LocalTarballDependency,
    UnboundedRange,
    MissingLockfile,
    LockfileDrift,
    MergeConflict,
    MissingIntegrity,
    NonRegistrySource,
    InstallScript,
    Typosquat,
    DuplicateMajor,
}

/// The builtin check names this capability runs (`builtin: deps-...` in a rule).
pub fn builtin_names() -> Vec<String> {
    Check::ALL
        .iter()
        .map(|(n, _)| format!("deps-{n}"))
        .collect()
}

impl Check {
    fn from_name(name: &str) -> Option<Check> {
        let name = name.strip_prefix("deps-")?;
        Check::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }

    const ALL: [(&'static str, Check); 15] = [
        ("known-vulnerability", Check::KnownVulnerability),
        ("malicious-version", Check::MaliciousVersion),
        ("deprecated-package", Check::DeprecatedPackage),
        ("git-dependency", Check::GitDependency),
        ("url-dependency", Check::UrlDependency),
        ("local-tarball-dependency", Check::LocalTarballDependency),
        ("unbounded-range", Check::UnboundedRange),
        ("missing-lockfile", Check::MissingLockfile),
        ("lockfile-drift", Check::LockfileDrift),
        ("lockfile-merge-conflict", Check::MergeConflict),
        ("missing-integrity", Check::MissingIntegrity),
        ("non-registry-source", Check::NonRegistrySource),
        ("install-script", Check::InstallScript),
        ("typosquat", Check::Typosquat),
        ("duplicate-major-version", Check::DuplicateMajor),
    ];
}

/// The compiled `deps` analyzer: which rule runs each check, and the data loaded once per scan.
pub struct DepsAnalyzer {
    /// (check, rule index), sorted by check.
    checks: Vec<(Check, usize)>,
    db: osv::Database,
    db_source: DbSource,
    /// The popular, known and deprecated package lists, read by the first dependency file
    /// checked (a twentieth of the start-up of a scan without one, issue 22).
    names: std::sync::OnceLock<names::Names>,
}

/// Which advisory data the scan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbSource {
    /// The curated set embedded in the binary, nothing else.
    BuiltinOnly,
    /// Plus `--advisory-db` or the database `vibeward db update` stored.
    Downloaded,
    /// No advisory rule runs.
    Unused,
}

/// Builds the analyzer from the `deps` rules, loading the advisory database once.
pub fn build(
    rules: &RuleSet,
    settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let mut checks = Vec::new();
    for (idx, rule) in rules.rules().iter().enumerate() {
        let Matcher::Spec {
            kind: MatcherKind::Builtin,
            spec,
        } = &rule.matcher
        else {
            continue;
        };
        // claimed by name, whatever the rule's family: `team.x` may run `builtin: deps-typosquat`
        let Some(check) = spec.as_str().and_then(Check::from_name) else {
            continue;
        };
        checks.push((check, idx));
    }
    if checks.is_empty() {
        return Ok(None);
    }
    checks.sort_unstable();
    let needs_db = checks.iter().any(|(c, _)| {
        matches!(
            c,
            Check::KnownVulnerability | Check::MaliciousVersion | Check::DeprecatedPackage
        )
    });
    let (db, db_source) = if needs_db {
        load_database(
            settings.advisory_db.as_deref(),
            settings.use_stored_advisory_db,
        )?
    } else {
        (osv::Database::default(), DbSource::Unused)
    };
    Ok(Some(Box::new(DepsAnalyzer {
        checks,
        db,
        db_source,
        names: std::sync::OnceLock::new(),
    })))
}

/// The embedded curated advisories, then `--advisory-db` (an error when unreadable) or else the
/// database `vibeward db update` stored, when there is one.
fn load_database(
    explicit: Option<&Path>,
    use_stored: bool,
) -> Result<(osv::Database, DbSource), RuleError> {
    let mut db = osv::Database::default();
    for (path, text) in crate::rules::load::embedded_files() {
        if path.starts_with("rules/advisories/") && !db.add_json(text.as_bytes()) {
            return Err(RuleError::Syntax {
                source_name: (*path).to_string(),
                message: "not a valid OSV advisory".into(),
            });
        }
    }
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None if use_stored => db::default_dir().filter(|d| d.is_dir()),
        None => None,
    };
    let Some(path) = path else {
        return Ok((db, DbSource::BuiltinOnly));
    };
    db.load_path(&path).map_err(|e| RuleError::Io {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok((db, DbSource::Downloaded))
}

impl DepsAnalyzer {
    fn rule(&self, check: Check) -> Option<usize> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, i)| *i)
    }
}

/// What kind of dependency file a path is, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepFile {
    PackageJson,
    PackageLock,
    YarnLock,
    PnpmLock,
    CargoLock,
    CargoToml,
    BunLock,
    DenoLock,
}

fn dep_file(display: &str) -> Option<DepFile> {
    let name = display.rsplit(['/', '\\']).next()?;
    Some(match name {
        "package.json" => DepFile::PackageJson,
        "package-lock.json" | "npm-shrinkwrap.json" => DepFile::PackageLock,
        "yarn.lock" => DepFile::YarnLock,
        "pnpm-lock.yaml" => DepFile::PnpmLock,
        "Cargo.lock" => DepFile::CargoLock,
        "Cargo.toml" => DepFile::CargoToml,
        "bun.lock" => DepFile::BunLock,
        "deno.lock" => DepFile::DenoLock,
        _ => return None,
    })
}

/// Why a dependency file could not be read: where reading stopped and what was wrong.
#[derive(Debug)]
pub struct Unreadable {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was wrong (`not valid JSON`, the YAML/TOML parser's message).
    pub message: String,
}

/// The parsed content of a dependency file.
enum Parsed {
    Manifest(model::Manifest),
    CargoManifest(model::Manifest),
    Lock(model::Lockfile),
}

/// Reads a dependency file; `Err` when it is not what its name says (a `parse-error` note).
fn read(kind: DepFile, text: &str) -> Result<Parsed, Unreadable> {
    let json = |offset| Unreadable {
        offset,
        message: "not valid JSON".into(),
    };
    Ok(match kind {
        DepFile::PackageJson => Parsed::Manifest(npm::parse_manifest_at(text).map_err(json)?),
        DepFile::PackageLock => Parsed::Lock(npm::parse_package_lock_at(text).map_err(json)?),
        DepFile::BunLock => Parsed::Lock(extra::parse_bun_lock(text).map_err(json)?),
        DepFile::DenoLock => Parsed::Lock(extra::parse_deno_lock(text).map_err(json)?),
        DepFile::YarnLock => {
            let lock = npm::parse_yarn_lock(text);
            // Berry lockfiles are YAML; classic ones are not, and are read line by line
            if lock.format == model::LockFormat::YarnBerry {
                check_yaml(text)?;
            }
            Parsed::Lock(lock)
        }
        DepFile::PnpmLock => {
            check_yaml(text)?;
            Parsed::Lock(npm::parse_pnpm_lock(text))
        }
        DepFile::CargoToml => {
            check_toml(text)?;
            Parsed::CargoManifest(cargo::parse_manifest(text))
        }
        DepFile::CargoLock => {
            check_toml(text)?;
            Parsed::Lock(cargo::parse_lock(text).ok_or(Unreadable {
                offset: 0,
                message: "no [[package]] entries".into(),
            })?)
        }
    })
}

fn check_yaml(text: &str) -> Result<(), Unreadable> {
    serde_yaml_ng::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| Unreadable {
            offset: e.location().map_or(0, |l| l.index()),
            message: format!(
                "not valid YAML: {}",
                e.to_string().split(" at line").next().unwrap_or_default()
            ),
        })
}

fn check_toml(text: &str) -> Result<(), Unreadable> {
    text.parse::<toml::Table>()
        .map(|_| ())
        .map_err(|e| Unreadable {
            offset: e.span().map_or(0, |s| s.start),
            message: format!(
                "not valid TOML: {}",
                e.message().lines().next().unwrap_or_default()
            ),
        })
}

/// The byte offset of the first merge-conflict marker line (`<<<<<<< `, `=======`, `>>>>>>> `).
fn conflict_marker(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end();
        if body.starts_with("<<<<<<< ") || body == "<<<<<<<" || body.starts_with(">>>>>>> ") {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Direct dependencies from the `package.json` beside a lockfile that does not list them
/// (yarn, npm v1): name -> whether only `devDependencies` declares it. Empty when there is none.
fn manifest_beside(lock_display: &str) -> HashMap<String, bool> {
    crate::engine::not_cacheable(); // reads other files
    let path = Path::new(lock_display).with_file_name("package.json");
    crate::engine::depends_on(&path);
    let mut out = HashMap::new();
    let Some(m) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| npm::parse_manifest(&t))
    else {
        return out;
    };
    for d in m.deps.iter().filter(|d| d.section != "peerDependencies") {
        let is_dev = d.section == "devDependencies";
        *out.entry(d.name.clone()).or_insert(is_dev) &= is_dev;
    }
    out
}

impl Analyzer for DepsAnalyzer {
    fn name(&self) -> &'static str {
        "deps"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.checks.iter().map(|(_, i)| *i).collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let Some(kind) = dep_file(&ctx.file.display) else {
            return;
        };
        // advisory data and the manifests beside a lockfile are not part of the cache key
        crate::engine::not_cacheable();
        // Inside node_modules sit published packages: npm ignores their manifests' dev specs and
        // their package-lock.json / yarn.lock files (the project's own lockfile covers what is
        // installed). Only npm-shrinkwrap.json is honoured there, so only it is checked.
        let is_installed_copy = ctx
            .file
            .display
            .split(['/', '\\'])
            .any(|c| c == "node_modules");
        if is_installed_copy && !ctx.file.display.ends_with("npm-shrinkwrap.json") {
            return;
        }
        let active = |check: Check| self.rule(check).filter(|i| ctx.is_active(*i));
        let mut c = checks::Checker {
            ctx,
            db: &self.db,
            names: self.names.get_or_init(names::Names::load),
            active: &active,
            out,
        };
        let text = &ctx.file.text;
        let is_lockfile = !matches!(kind, DepFile::PackageJson | DepFile::CargoToml);
        if let Some(at) = conflict_marker(text) {
            let line = ctx.file.position(at).line;
            ctx.note(
                SkipReason::ParseError,
                format!("merge-conflict markers at line {line}; dependencies not checked"),
            );
            if is_lockfile {
                c.merge_conflict(at);
            }
            return;
        }
        match read(kind, text) {
            Err(e) => ctx.note(
                SkipReason::ParseError,
                format!(
                    "{} at line {}; dependencies not checked",
                    e.message,
                    ctx.file.position(e.offset).line
                ),
            ),
            Ok(Parsed::Manifest(m)) => c.npm_manifest(&m),
            Ok(Parsed::CargoManifest(m)) => c.cargo_manifest(&m),
            Ok(Parsed::Lock(lock)) => {
                let direct = if lock.direct.is_empty() && lock.ecosystem == osv::Ecosystem::Npm {
                    manifest_beside(&ctx.file.display)
                } else {
                    lock.direct.clone()
                };
                c.lockfile(&lock, &direct);
            }
        }
    }

    fn wants_facts(&self, _kind: crate::discover::FileKind, display: &str) -> bool {
        (self.rule(Check::MissingLockfile).is_some() || self.rule(Check::LockfileDrift).is_some())
            && project::wants_facts(display)
    }

    fn file_facts(&self, ctx: &FileContext<'_>) {
        if let Some(facts) = project::facts(ctx.file) {
            ctx.emit(facts);
        }
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        let missing = self.rule(Check::MissingLockfile);
        let drift = self.rule(Check::LockfileDrift);
        if missing.is_none() && drift.is_none() {
            return;
        }
        project::run(project, missing, drift, out);
    }

    fn project_notes(&self, project: &ProjectContext<'_>) -> Vec<Skipped> {
        let checks_advisories = self.rule(Check::KnownVulnerability).is_some();
        let has_lockfile = project
            .candidates
            .iter()
            .any(|c| c.kind == crate::discover::FileKind::Lockfile);
        if !checks_advisories || !has_lockfile || self.db_source != DbSource::BuiltinOnly {
            return Vec::new();
        }
        vec![Skipped {
            path: "<advisories>".into(),
            reason: SkipReason::Notice,
            detail: format!(
                "known vulnerabilities were checked against the {} built-in advisories only (no downloaded database); run `vibeward db update` for the full OSV data",
                self.db.len()
            ),
        }]
    }
}

/// Parses a lockfile by its file name, for benchmarks and tools; `None` for other files or
/// unparseable content. Returns the number of entries.
pub fn count_lockfile_entries(file_name: &str, text: &str) -> Option<usize> {
    match read(dep_file(file_name)?, text).ok()? {
        Parsed::Lock(lock) => Some(lock.entries.len()),
        Parsed::Manifest(_) | Parsed::CargoManifest(_) => None,
    }
}

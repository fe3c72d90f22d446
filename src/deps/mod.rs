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
mod json;
mod model;
mod names;
mod npm;
pub mod osv;
mod project;
mod version;

use std::path::Path;

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

    const ALL: [(&'static str, Check); 14] = [
        ("known-vulnerability", Check::KnownVulnerability),
        ("malicious-version", Check::MaliciousVersion),
        ("deprecated-package", Check::DeprecatedPackage),
        ("git-dependency", Check::GitDependency),
        ("url-dependency", Check::UrlDependency),
        ("local-tarball-dependency", Check::LocalTarballDependency),
        ("unbounded-range", Check::UnboundedRange),
        ("missing-lockfile", Check::MissingLockfile),
        ("lockfile-drift", Check::LockfileDrift),
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
    names: names::Names,
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
    let db = if needs_db {
        load_database(
            settings.advisory_db.as_deref(),
            settings.use_stored_advisory_db,
        )?
    } else {
        osv::Database::default()
    };
    Ok(Some(Box::new(DepsAnalyzer {
        checks,
        db,
        names: names::Names::load(),
    })))
}

/// The embedded curated advisories, then `--advisory-db` (an error when unreadable) or else the
/// database `vibeward db update` stored, when there is one.
fn load_database(explicit: Option<&Path>, use_stored: bool) -> Result<osv::Database, RuleError> {
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
    if let Some(path) = path {
        db.load_path(&path).map_err(|e| RuleError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(db)
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
        _ => return None,
    })
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
            names: &self.names,
            active: &active,
            out,
        };
        let text = &ctx.file.text;
        match kind {
            DepFile::PackageJson => {
                if let Some(m) = npm::parse_manifest(text) {
                    c.npm_manifest(&m);
                }
            }
            DepFile::CargoToml => c.cargo_manifest(&cargo::parse_manifest(text)),
            DepFile::PackageLock => {
                if let Some(lock) = npm::parse_package_lock(text) {
                    c.lockfile(&lock);
                }
            }
            DepFile::YarnLock => c.lockfile(&npm::parse_yarn_lock(text)),
            DepFile::PnpmLock => c.lockfile(&npm::parse_pnpm_lock(text)),
            DepFile::CargoLock => {
                if let Some(lock) = cargo::parse_lock(text) {
                    c.lockfile(&lock);
                }
            }
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
}

/// Parses a lockfile by its file name, for benchmarks and tools; `None` for other files or
/// unparseable content. Returns the number of entries.
pub fn count_lockfile_entries(file_name: &str, text: &str) -> Option<usize> {
    let lock = match dep_file(file_name)? {
        DepFile::PackageLock => npm::parse_package_lock(text)?,
        DepFile::YarnLock => npm::parse_yarn_lock(text),
        DepFile::PnpmLock => npm::parse_pnpm_lock(text),
        DepFile::CargoLock => cargo::parse_lock(text)?,
        DepFile::PackageJson | DepFile::CargoToml => return None,
    };
    Some(lock.entries.len())
}

//! The project pass: each `package.json` with its lockfile, grouped per folder.
//!
//! The lockfile is looked up on disk (the manifest's folder, then its parents, for workspaces
//! whose lockfile sits at the root), not among the scanned files, so `vibeward scan package.json`
//! alone still sees the lockfile next to it. Manifests inside `node_modules` are published
//! packages, which never ship lockfiles, and are skipped. Manifests come from the per-file pass
//! as [`ManifestFacts`] (engine facts), so they are read and parsed once.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::model::{LockFormat, Lockfile, Manifest};
use super::npm;
use super::version::{self, NpmRange};
use crate::discover::FileKind;
use crate::engine::{self, ProjectContext};
use crate::finding::{Finding, Related};
use crate::source::{LineIndex, SourceFile};

/// npm-family lockfile names, in the order package managers prefer them.
const LOCKFILES: [&str; 6] = [
    "npm-shrinkwrap.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
];

/// What the per-file pass keeps of a `package.json` for the project pass: its declarations and
/// where its lines start.
#[derive(Debug)]
pub struct ManifestFacts {
    manifest: Manifest,
    lines: LineIndex,
}

/// Whether the project pass wants the facts of the file at `display`: manifests outside
/// `node_modules`.
pub fn wants_facts(display: &str) -> bool {
    (display == "package.json" || display.ends_with("/package.json"))
        && !display.split('/').any(|c| c == "node_modules")
}

/// Extracts the facts of a `package.json` (none when it is not valid JSON).
pub fn facts(file: &SourceFile) -> Option<ManifestFacts> {
    Some(ManifestFacts {
        manifest: npm::parse_manifest(&file.text)?,
        lines: LineIndex::of(file),
    })
}

/// Runs `missing-lockfile` and `lockfile-drift` over every manifest of the scan.
pub fn run(
    project: &ProjectContext<'_>,
    missing: Option<usize>,
    drift: Option<usize>,
    out: &mut Vec<Finding>,
) {
    for (candidate, facts) in project.facts::<ManifestFacts>() {
        if !wants_facts(&candidate.display)
            || !(missing.is_some_and(|i| project.applies(i, candidate))
                || drift.is_some_and(|i| project.applies(i, candidate)))
        {
            continue;
        }
        let manifest = &facts.manifest;
        let Some(section) = manifest.install_section.clone() else {
            continue;
        };
        let dir = candidate
            .path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let display = candidate.display.as_str();
        match find_lockfile(&dir) {
            None if manifest.is_published_library => {}
            None => {
                if let Some(idx) = missing.filter(|i| project.applies(*i, candidate)) {
                    let mut f =
                        engine::finding_at(display, &facts.lines, project.rules, idx, section);
                    let count = manifest
                        .deps
                        .iter()
                        .filter(|d| d.section != "peerDependencies")
                        .count();
                    let rule = &project.rules.rules()[idx];
                    f.message = if count == 1 {
                        rule.message_for("one", &[])
                    } else {
                        rule.message_for("many", &[("count", &count.to_string())])
                    };
                    out.push(f);
                }
            }
            Some(lock_path) => {
                if let Some(idx) = drift.filter(|i| project.applies(*i, candidate)) {
                    check_drift(display, facts, &dir, &lock_path, project, idx, out);
                }
            }
        }
    }
}

fn find_lockfile(dir: &Path) -> Option<PathBuf> {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute.ancestors().find_map(|d| {
        LOCKFILES
            .iter()
            .map(|name| d.join(name))
            .find(|p| p.is_file())
    })
}

/// What the lockfile says about one declared dependency.
enum Resolution {
    /// Locked at this version (with the entry's range in the lockfile, when known).
    Locked(String, Option<Range<usize>>),
    /// The lockfile records a different spec (yarn/pnpm key the lock by spec).
    OtherSpec,
    /// Not in the lockfile at all.
    Absent,
    /// The lockfile agrees, or this pair cannot be judged (format, spec kind).
    Unknown,
}

/// `lockfile-drift` for one manifest. The lockfile is read here: it may lie outside the scan
/// (a workspace root above the scanned folder), so it is not a fact of the per-file pass.
fn check_drift(
    display: &str,
    facts: &ManifestFacts,
    dir: &Path,
    lock_path: &Path,
    project: &ProjectContext<'_>,
    idx: usize,
    out: &mut Vec<Finding>,
) {
    let manifest = &facts.manifest;
    crate::engine::depends_on(lock_path);
    let Ok(text) = std::fs::read_to_string(lock_path) else {
        return;
    };
    let lock_name = lock_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let lock = match lock_name {
        "package-lock.json" | "npm-shrinkwrap.json" => npm::parse_package_lock(&text),
        "yarn.lock" => Some(npm::parse_yarn_lock(&text)),
        "pnpm-lock.yaml" => Some(npm::parse_pnpm_lock(&text)),
        _ => None,
    };
    let Some(lock) = lock else {
        return;
    };
    let lock_dir = lock_path.parent().unwrap_or(Path::new("."));
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let importer = absolute
        .strip_prefix(lock_dir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let is_same_dir = importer.is_empty();
    // display path of the lockfile, for the related location
    let lock_display = is_same_dir.then(|| {
        let base = display.rsplit_once('/').map_or("", |(d, _)| d);
        if base.is_empty() {
            lock_name.to_string()
        } else {
            format!("{base}/{lock_name}")
        }
    });
    // a lockfile in a parent folder covers this manifest only when it lists it as a workspace
    // (a stray package.json under a project's folder is not installed from it)
    if !is_same_dir && !knows_importer(&lock, &importer) {
        return;
    }
    let lock_file = lock_display
        .as_ref()
        .map(|d| SourceFile::new(d.clone(), FileKind::Lockfile, text.clone()));
    // (declaration, short description, lockfile location)
    let mut stale: Vec<(Range<usize>, String, Option<Related>)> = Vec::new();
    for dep in &manifest.deps {
        if dep.section == "peerDependencies" {
            continue;
        }
        let Some(range) = NpmRange::parse(&dep.spec) else {
            continue;
        };
        let (name, spec) = (&dep.name, &dep.spec);
        match resolve(&lock, &importer, name, spec) {
            Resolution::Locked(v, at) => {
                let Some(parsed) = version::parse(&v) else {
                    continue;
                };
                if range.satisfies(&parsed) {
                    continue;
                }
                let related = lock_file.as_ref().zip(at).map(|(lf, at)| Related {
                    path: lf.display.clone(),
                    start: lf.position(at.start),
                    end: lf.position(at.end),
                    message: format!("{lock_name} pins {name}@{v} here"),
                });
                stale.push((
                    dep.span.clone(),
                    format!("`{name}` asks for `{spec}` but {lock_name} pins {v}"),
                    related,
                ));
            }
            Resolution::OtherSpec => stale.push((
                dep.span.clone(),
                format!("`{name}: {spec}` is not what {lock_name} was generated from"),
                None,
            )),
            Resolution::Absent => stale.push((
                dep.span.clone(),
                format!("`{name}` is missing from {lock_name}"),
                None,
            )),
            Resolution::Unknown => {}
        }
    }
    let Some((first, _, _)) = stale.first() else {
        return;
    };
    // one finding per manifest: the problem is one stale lockfile, whatever the count
    let mut f = engine::finding_at(display, &facts.lines, project.rules, idx, first.clone());
    let shown: Vec<&str> = stale.iter().take(3).map(|(_, m, _)| m.as_str()).collect();
    f.message = if stale.len() == 1 {
        format!(
            "{}; installs from the lockfile do not run what this manifest says (run the install again and commit the lockfile)",
            shown[0]
        )
    } else {
        format!(
            "{} dependencies disagree with {lock_name} ({}{}); installs from the lockfile do not run what this manifest says (run the install again and commit the lockfile)",
            stale.len(),
            shown.join("; "),
            if stale.len() > 3 { "; ..." } else { "" }
        )
    };
    f.properties.insert("count".into(), stale.len().to_string());
    f.properties.insert(
        "packages".into(),
        stale
            .iter()
            .map(|(_, m, _)| m.replace('`', ""))
            .collect::<Vec<_>>()
            .join("; "),
    );
    for (span, m, related) in &stale {
        f.related.push(engine::related_at(
            display,
            &facts.lines,
            span.clone(),
            m.replace('`', ""),
        ));
        f.related.extend(related.clone());
    }
    out.push(f);
}

/// Whether a lockfile in a parent folder lists `importer` (a relative folder) as a workspace.
fn knows_importer(lock: &Lockfile, importer: &str) -> bool {
    match lock.format {
        LockFormat::NpmV2 => {
            let recorded = format!("{importer}\0");
            let installed = format!("{importer}/node_modules/");
            lock.recorded.keys().any(|k| k.starts_with(&recorded))
                || lock.top.keys().any(|k| k.starts_with(&installed))
        }
        LockFormat::Pnpm => {
            let key = format!("{importer}\0");
            lock.top.keys().any(|k| k.starts_with(&key))
        }
        LockFormat::YarnBerry => {
            let suffix = format!("@workspace:{importer}");
            lock.top.keys().any(|k| k.ends_with(&suffix))
        }
        _ => true,
    }
}

/// The version an npm lockfile installs at `key` (`node_modules/<name>` path), with its entry's span.
fn locked_at(lock: &Lockfile, name: &str, key: &str) -> Resolution {
    match lock.top.get(key) {
        Some(v) => {
            let at = lock
                .entries
                .iter()
                .find(|e| e.name == name && &e.version == v)
                .map(|e| e.span.clone());
            Resolution::Locked(v.clone(), at)
        }
        None => Resolution::Absent,
    }
}

fn resolve(lock: &Lockfile, importer: &str, name: &str, spec: &str) -> Resolution {
    let prefix = if importer.is_empty() {
        String::new()
    } else {
        format!("{importer}/")
    };
    match lock.format {
        LockFormat::NpmV2 => {
            // the lockfile's own record agrees: any disagreement is internal, reported per file
            if lock
                .recorded
                .get(&format!("{importer}\0{name}"))
                .is_some_and(|(s, _)| s == spec)
            {
                return Resolution::Unknown;
            }
            let local = format!("{prefix}node_modules/{name}");
            let hoisted = format!("node_modules/{name}");
            let key = if lock.top.contains_key(&local) {
                local
            } else {
                hoisted
            };
            locked_at(lock, name, &key)
        }
        LockFormat::NpmV1 if importer.is_empty() => {
            locked_at(lock, name, &format!("node_modules/{name}"))
        }
        LockFormat::YarnClassic | LockFormat::YarnBerry => {
            let keys = [format!("{name}@{spec}"), format!("{name}@npm:{spec}")];
            if keys.iter().any(|k| lock.top.contains_key(k)) {
                Resolution::Unknown
            } else if lock.entries.iter().any(|e| e.name == name) {
                Resolution::OtherSpec
            } else {
                Resolution::Absent
            }
        }
        LockFormat::Pnpm => {
            let importer = if importer.is_empty() { "." } else { importer };
            match lock.top.get(&format!("{importer}\0{name}")) {
                Some(s) if s == spec => Resolution::Unknown,
                Some(_) => Resolution::OtherSpec,
                // old lockfiles without specifiers cannot be judged
                None if lock.top.is_empty() => Resolution::Unknown,
                None => Resolution::Absent,
            }
        }
        _ => Resolution::Unknown,
    }
}

//! The per-file checks: specs in manifests, and sources, integrity, install scripts, advisories
//! and duplicated majors in lockfiles. Each check reports only when its rule is active.

use std::collections::BTreeMap;
use std::ops::Range;

use super::Check;
use super::model::{CargoSource, Declared, LockFormat, Locked, Lockfile, Manifest};
use super::names::{Names, SECURITY_CRITICAL};
use super::osv::{Database, Ecosystem, Hit, Kind};
use super::version::{self, NpmRange};
use crate::engine::FileContext;
use crate::finding::Finding;
use crate::rules::Severity;

/// One file's checks, with the sink for findings.
pub struct Checker<'a, 'b> {
    pub ctx: &'a FileContext<'b>,
    pub db: &'a Database,
    pub names: &'a Names,
    pub active: &'a dyn Fn(Check) -> Option<usize>,
    pub out: &'a mut Vec<Finding>,
}

/// How a manifest spec obtains the package.
#[derive(Debug, PartialEq, Eq)]
enum SpecKind<'s> {
    /// A semver range or exact version.
    Range(NpmRange),
    /// A dist-tag or wildcard that follows whatever is published next.
    Floating(&'s str),
    /// A git source; `true` when a full commit hash pins it.
    Git(bool),
    /// An `http(s)://` tarball; `true` for plain `http:`.
    Url(bool),
    /// `file:` / `link:` / relative path; `true` when it names a tarball.
    Local(bool),
    /// `workspace:`, `npm:` aliases, `catalog:` and other protocols.
    Other,
}

fn spec_kind(spec: &str) -> SpecKind<'_> {
    let s = spec.trim();
    let lower = s.to_ascii_lowercase();
    let is_commit = |s: &str| {
        s.rsplit_once('#')
            .is_some_and(|(_, h)| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if [
        "git+",
        "git://",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || (lower.starts_with("https://") || lower.starts_with("http://"))
            && (lower.contains(".git#") || has_suffix(&lower, ".git"))
    {
        return SpecKind::Git(is_commit(s));
    }
    if lower.starts_with("http://") {
        return SpecKind::Url(true);
    }
    if lower.starts_with("https://") {
        return SpecKind::Url(false);
    }
    let is_tarball = has_suffix(&lower, ".tgz") || has_suffix(&lower, ".tar.gz");
    if ["file:", "link:", "./", "../", "/", "~/"]
        .iter()
        .any(|p| lower.starts_with(p))
        || s == "."
        || s == ".."
    {
        return SpecKind::Local(is_tarball);
    }
    if lower.contains(':') {
        return SpecKind::Other;
    }
    // GitHub shorthand `user/repo` or `user/repo#ref`
    if !s.starts_with('@')
        && s.split_once('/').is_some_and(|(u, r)| {
            !u.is_empty()
                && !r.is_empty()
                && !r.contains('/')
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
    {
        return SpecKind::Git(is_commit(s));
    }
    if matches!(s, "" | "*" | "x" | "X" | "latest") {
        return SpecKind::Floating(s);
    }
    match NpmRange::parse(s) {
        Some(r) => SpecKind::Range(r),
        None => SpecKind::Other,
    }
}

/// Whether a `resolved` URL is a registry tarball (`<registry>/<name>/-/<file>.tgz`, any host:
/// private registries and mirrors use the same layout).
fn is_registry_url(url: &str) -> bool {
    url.starts_with("https://")
        && url.contains("/-/")
        && url.split('#').next().is_some_and(|u| has_suffix(u, ".tgz"))
}

/// Case-insensitive suffix test (URLs and specs are not paths, so `Path::extension` does not fit).
fn has_suffix(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

impl Checker<'_, '_> {
    fn report(
        &mut self,
        check: Check,
        range: Range<usize>,
        message: String,
    ) -> Option<&mut Finding> {
        let idx = (self.active)(check)?;
        let mut f = self.ctx.finding(idx, range);
        f.message = message;
        self.out.push(f);
        self.out.last_mut()
    }

    /// `package.json`: how each dependency is specified, typosquats and deprecated names.
    pub fn npm_manifest(&mut self, m: &Manifest) {
        let has_workspaces = !m.workspaces.is_empty();
        for dep in &m.deps {
            self.npm_spec(dep, has_workspaces);
            if let Some(target) = self.names.typosquat_of(&dep.name) {
                let msg = format!(
                    "`{}` is one letter away from the popular package `{target}` and is not a known package itself; check that it is not a typosquat",
                    dep.name
                );
                self.report(Check::Typosquat, dep.span.clone(), msg);
            }
            if let Some(d) = self.names.deprecated.get(&dep.name) {
                let msg = format!("`{}` is {}; use {} instead", dep.name, d.reason, d.instead);
                if let Some(f) = self.report(Check::DeprecatedPackage, dep.span.clone(), msg) {
                    f.properties.insert("source".into(), d.source.clone());
                }
            }
        }
    }

    fn npm_spec(&mut self, dep: &Declared, has_workspaces: bool) {
        let name = &dep.name;
        let spec = &dep.spec;
        let is_peer = dep.section == "peerDependencies";
        match spec_kind(spec) {
            SpecKind::Git(false) => {
                let msg = format!(
                    "`{name}` is installed from git (`{spec}`) without a commit hash, so every install can fetch different, unreviewed code with no integrity check"
                );
                self.report(Check::GitDependency, dep.span.clone(), msg);
            }
            SpecKind::Url(is_http) => {
                let msg = if is_http {
                    format!(
                        "`{name}` is downloaded over plain HTTP (`{spec}`); anyone on the network path can swap the code"
                    )
                } else {
                    format!(
                        "`{name}` is installed from a URL (`{spec}`) outside the registry; its content can change with no version or advisory tracking"
                    )
                };
                if let Some(f) = self.report(Check::UrlDependency, dep.span.clone(), msg)
                    && is_http
                {
                    f.severity = Severity::High;
                }
            }
            SpecKind::Local(true) if !has_workspaces => {
                let msg = format!(
                    "`{name}` is installed from a local tarball (`{spec}`): a binary blob in the repository that no registry, advisory or review covers"
                );
                self.report(Check::LocalTarballDependency, dep.span.clone(), msg);
            }
            SpecKind::Floating(tag) if !is_peer => {
                let shown = if tag.is_empty() { "\"\"" } else { tag };
                let msg = format!(
                    "`{name}` accepts any version (`{shown}`), so the next install takes whatever is published next, including a hijacked release"
                );
                self.report(Check::UnboundedRange, dep.span.clone(), msg);
            }
            SpecKind::Range(r) if !is_peer && r.is_unbounded() => {
                let msg = format!(
                    "`{name}` has no upper bound (`{spec}`), so a future major release, or a hijacked one, installs without review"
                );
                self.report(Check::UnboundedRange, dep.span.clone(), msg);
            }
            _ => {}
        }
    }

    /// `Cargo.toml`: unpinned git dependencies and `*` versions.
    pub fn cargo_manifest(&mut self, m: &Manifest) {
        for dep in &m.deps {
            let name = &dep.name;
            match dep.cargo_source {
                Some(CargoSource::Git { is_pinned: false }) => {
                    let msg = format!(
                        "`{name}` comes from a git branch with no `rev` or `tag`, so `cargo update` pulls whatever was pushed last"
                    );
                    self.report(Check::GitDependency, dep.span.clone(), msg);
                }
                None if dep.spec.trim() == "*" => {
                    let msg = format!(
                        "`{name}` accepts any version (`*`), so `cargo update` takes whatever is published next"
                    );
                    self.report(Check::UnboundedRange, dep.span.clone(), msg);
                }
                _ => {}
            }
        }
    }

    /// Every lockfile: advisories, sources, integrity, install scripts, duplicated majors and
    /// (npm v2/v3) entries that disagree with the specs the lockfile itself recorded.
    pub fn lockfile(&mut self, lock: &Lockfile) {
        for entry in &lock.entries {
            if !entry.is_local {
                self.advisories(lock.ecosystem, entry);
                self.source(lock, entry);
            }
            if entry.has_install_script {
                let msg = format!(
                    "`{}@{}` runs an install script on every machine that installs it; review it or install with `--ignore-scripts`",
                    entry.name, entry.version
                );
                self.report(Check::InstallScript, entry.span.clone(), msg);
            }
            if let Some(note) = &entry.deprecated {
                let msg = format!(
                    "`{}@{}` is deprecated by its author: {}",
                    entry.name,
                    entry.version,
                    note.chars().take(160).collect::<String>()
                );
                self.report(Check::DeprecatedPackage, entry.span.clone(), msg);
            }
        }
        if lock.ecosystem == Ecosystem::Npm {
            self.duplicate_majors(lock);
        }
        if lock.format == LockFormat::NpmV2 {
            self.internal_drift(lock);
        }
    }

    fn advisories(&mut self, eco: Ecosystem, entry: &Locked) {
        let hits = self.db.matches(eco, &entry.name, &entry.version);
        for hit in hits {
            let check = match hit.advisory.kind {
                Kind::Vulnerability => Check::KnownVulnerability,
                Kind::Malicious => Check::MaliciousVersion,
                Kind::Unmaintained => Check::DeprecatedPackage,
            };
            let msg = advisory_message(entry, &hit);
            let Some(f) = self.report(check, entry.span.clone(), msg) else {
                continue;
            };
            let a = hit.advisory;
            if check == Check::KnownVulnerability {
                f.severity = match a.level {
                    Some("critical") => Severity::Critical,
                    Some("medium") => Severity::Medium,
                    Some("low") => Severity::Low,
                    _ => Severity::High,
                };
            }
            f.properties.insert("advisory".into(), a.id.clone());
            if !a.aliases.is_empty() {
                f.properties.insert("aliases".into(), a.aliases.join(","));
            }
            if let Some(v) = &a.cvss {
                f.properties.insert("cvss".into(), v.clone());
            }
            if let Some(fixed) = &hit.fixed {
                f.properties.insert("fixed".into(), fixed.clone());
            }
            if let Some(url) = a.references.first() {
                f.properties.insert("reference".into(), url.clone());
            }
        }
    }

    fn source(&mut self, lock: &Lockfile, entry: &Locked) {
        let Some((url, range)) = &entry.resolved else {
            if !entry.has_integrity
                && lock.ecosystem == Ecosystem::Npm
                && lock.format != LockFormat::YarnBerry
            {
                let msg = format!(
                    "`{}@{}` has no integrity hash in the lockfile, so a tampered download installs without error",
                    entry.name, entry.version
                );
                self.report(Check::MissingIntegrity, entry.span.clone(), msg);
            }
            return;
        };
        let lower = url.to_ascii_lowercase();
        if lock.format == LockFormat::Cargo {
            let msg = format!(
                "`{} {}` is built from git ({url}) instead of a registry, outside RustSec advisories and crates.io checksums",
                entry.name, entry.version
            );
            self.report(Check::NonRegistrySource, entry.span.clone(), msg);
            return;
        }
        if lower.starts_with("file:") {
            return;
        }
        if lower.starts_with("http://") {
            let msg = format!(
                "`{}@{}` was resolved over plain HTTP ({url}); the download can be swapped in transit",
                entry.name, entry.version
            );
            if let Some(f) = self.report(Check::NonRegistrySource, range.clone(), msg) {
                f.severity = Severity::High;
            }
        } else if !is_registry_url(&lower) {
            let msg = format!(
                "`{}@{}` was resolved from {url}, not from a package registry, so no registry integrity or advisory applies",
                entry.name, entry.version
            );
            self.report(Check::NonRegistrySource, range.clone(), msg);
        } else if !entry.has_integrity && lock.format != LockFormat::YarnBerry {
            let msg = format!(
                "`{}@{}` has no integrity hash in the lockfile, so a tampered download installs without error",
                entry.name, entry.version
            );
            self.report(Check::MissingIntegrity, entry.span.clone(), msg);
        }
    }

    fn duplicate_majors(&mut self, lock: &Lockfile) {
        let mut majors: BTreeMap<(&str, u64), &Locked> = BTreeMap::new();
        for e in &lock.entries {
            if SECURITY_CRITICAL.contains(&e.name.as_str())
                && let Some(v) = version::parse(&e.version)
            {
                majors.entry((e.name.as_str(), v.major)).or_insert(e);
            }
        }
        for name in SECURITY_CRITICAL {
            let found: Vec<(u64, &Locked)> = majors
                .range((name, 0)..=(name, u64::MAX))
                .map(|((_, m), e)| (*m, *e))
                .collect();
            let Some((newest, _)) = found.last() else {
                continue;
            };
            for (major, e) in &found[..found.len() - 1] {
                let msg = format!(
                    "`{name}` is installed in major versions {major} and {newest}; the older copy (`{}`) may miss security fixes that only the newer major gets",
                    e.version
                );
                self.report(Check::DuplicateMajor, e.span.clone(), msg);
            }
        }
    }

    /// npm v2/v3: the lockfile's own record of what each project asked for disagrees with what it
    /// installed (a hand edit or a merge gone wrong; `npm ci` then installs the wrong version).
    fn internal_drift(&mut self, lock: &Lockfile) {
        let mut recorded: Vec<(&String, &(String, Range<usize>))> = lock.recorded.iter().collect();
        recorded.sort_by_key(|(_, (_, r))| r.start);
        for (key, (spec, range)) in recorded {
            let Some((importer, name)) = key.split_once('\0') else {
                continue;
            };
            let Some(r) = NpmRange::parse(spec) else {
                continue;
            };
            let local = if importer.is_empty() {
                format!("node_modules/{name}")
            } else {
                format!("{importer}/node_modules/{name}")
            };
            let Some(installed) = lock
                .top
                .get(&local)
                .or_else(|| lock.top.get(&format!("node_modules/{name}")))
            else {
                continue;
            };
            let Some(v) = version::parse(installed) else {
                continue;
            };
            if !r.satisfies(&v) {
                let msg = format!(
                    "the lockfile records `{name}: {spec}` for this project but pins {installed}, which does not satisfy it; run `npm install` to regenerate it"
                );
                self.report(Check::LockfileDrift, range.clone(), msg);
            }
        }
    }
}

fn advisory_message(entry: &Locked, hit: &Hit<'_>) -> String {
    let a = hit.advisory;
    let ids = if a.aliases.is_empty() {
        a.id.clone()
    } else {
        format!("{} ({})", a.id, a.aliases.join(", "))
    };
    let fix = match (&hit.fixed, a.kind) {
        (_, Kind::Malicious) => {
            "; remove this version and rotate any secrets the install could reach".to_string()
        }
        (Some(v), _) => format!("; fixed in {v}"),
        (None, _) => "; no fixed version is published".to_string(),
    };
    let severity = match (&a.level, &a.cvss) {
        (Some(l), Some(v)) => format!(" [{l}, {v}]"),
        (Some(l), None) => format!(" [{l}]"),
        (None, Some(v)) => format!(" [{v}]"),
        (None, None) => String::new(),
    };
    format!(
        "`{}@{}` is affected by {ids}: {}{severity}{fix}",
        entry.name,
        entry.version,
        a.summary.trim_end_matches('.')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_specs() {
        assert_eq!(spec_kind("github:a/b"), SpecKind::Git(false));
        assert_eq!(spec_kind("a/b#v1.0.0"), SpecKind::Git(false));
        assert_eq!(
            spec_kind("git+https://github.com/a/b.git#0123456789abcdef0123456789abcdef01234567"),
            SpecKind::Git(true)
        );
        assert_eq!(spec_kind("http://x/a.tgz"), SpecKind::Url(true));
        assert_eq!(spec_kind("file:vendor/a-1.0.0.tgz"), SpecKind::Local(true));
        assert_eq!(spec_kind("file:../shared"), SpecKind::Local(false));
        assert_eq!(spec_kind("workspace:*"), SpecKind::Other);
        assert_eq!(spec_kind("latest"), SpecKind::Floating("latest"));
        assert!(matches!(spec_kind("^1.2.3"), SpecKind::Range(_)));
        assert!(is_registry_url(
            "https://registry.npmjs.org/a/-/a-1.0.0.tgz"
        ));
        assert!(!is_registry_url(
            "https://codeload.github.com/a/b/tar.gz/abc"
        ));
    }
}

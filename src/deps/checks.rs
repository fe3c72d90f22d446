//! The per-file checks: specs in manifests, and sources, integrity, install scripts, advisories
//! and duplicated majors in lockfiles. Each check reports only when its rule is active.

use std::collections::{BTreeMap, HashMap};
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
            // in a workspace, `*` is how npm and yarn name a sibling workspace package
            SpecKind::Floating("*") if has_workspaces || self.is_workspace_member() => {}
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

    /// Whether a `package.json` in a parent folder declares `workspaces` (this manifest is then
    /// probably one of them).
    fn is_workspace_member(&self) -> bool {
        crate::engine::not_cacheable(); // reads other files
        let own = std::path::Path::new(&self.ctx.file.display);
        own.ancestors().skip(2).any(|dir| {
            crate::engine::depends_on(&dir.join("package.json"));
            std::fs::read_to_string(dir.join("package.json"))
                .ok()
                .and_then(|t| super::npm::parse_manifest(&t))
                .is_some_and(|m| !m.workspaces.is_empty())
        })
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
    ///
    /// Problems most lockfiles have many of (install scripts of popular packages, missing hashes,
    /// transitive deprecations) are one finding per lockfile listing the packages; advisories are
    /// one finding per package version listing every advisory (issue 19).
    pub fn lockfile(&mut self, lock: &Lockfile, direct: &HashMap<String, bool>) {
        let mut scripts: Vec<&Locked> = Vec::new();
        let mut unhashed: Vec<&Locked> = Vec::new();
        let mut old: Vec<&Locked> = Vec::new();
        // (name, version) -> every entry installing it, in file order
        let mut versions: Vec<(&Locked, Vec<&Locked>)> = Vec::new();
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        // packages per npm scope: an organisation's family (`@firebase/*`) in this tree
        let mut scopes: HashMap<&str, usize> = HashMap::new();
        for e in &lock.entries {
            if let Some((scope, _)) = e.name.split_once('/') {
                *scopes.entry(scope).or_default() += 1;
            }
        }
        for entry in &lock.entries {
            if !entry.is_local {
                match seen.entry((entry.name.as_str(), entry.version.as_str())) {
                    std::collections::hash_map::Entry::Occupied(i) => {
                        versions[*i.get()].1.push(entry);
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(versions.len());
                        versions.push((entry, Vec::new()));
                    }
                }
                if self.source(lock, entry) {
                    unhashed.push(entry);
                }
            }
            if entry.has_install_script {
                if self.is_expected_script(&entry.name, direct, &scopes) {
                    scripts.push(entry);
                } else {
                    let msg = format!(
                        "`{}@{}` runs an install script on every machine that installs it and is not among the widely used npm packages; read what the script does before installing, or install with `--ignore-scripts`",
                        entry.name, entry.version
                    );
                    if let Some(f) = self.report(Check::InstallScript, entry.span.clone(), msg) {
                        f.severity = Severity::Medium;
                    }
                }
            }
            if let Some(note) = &entry.deprecated {
                if direct.is_empty() || direct.contains_key(&entry.name) {
                    let msg = format!(
                        "`{}@{}` is deprecated by its author: {}",
                        entry.name,
                        entry.version,
                        note.chars().take(160).collect::<String>()
                    );
                    self.report(Check::DeprecatedPackage, entry.span.clone(), msg);
                } else {
                    old.push(entry);
                }
            }
        }
        for (first, copies) in &versions {
            self.advisories(lock.ecosystem, first, copies, direct);
        }
        self.aggregate(
            Check::InstallScript,
            &scripts,
            None,
            "widely used packages run install scripts (native builds, binary downloads) on every machine that installs this lockfile",
            "review that each is expected, or install with `--ignore-scripts` and allow only the builds you need",
        );
        self.aggregate(
            Check::MissingIntegrity,
            &unhashed,
            None,
            "registry packages have no integrity hash in this lockfile, so a tampered download installs without error",
            "regenerate the lockfile (`npm install --package-lock-only`) and commit it",
        );
        self.aggregate(
            Check::DeprecatedPackage,
            &old,
            Some(Severity::Info),
            "transitive packages are deprecated by their authors",
            "they come in through other packages; updating those usually drops them",
        );
        if lock.ecosystem == Ecosystem::Npm {
            self.duplicate_majors(lock);
        }
        if lock.format == LockFormat::NpmV2 {
            self.internal_drift(lock);
        }
    }

    /// A lockfile committed with merge-conflict markers (`at`: the first marker).
    pub fn merge_conflict(&mut self, at: usize) {
        let end = self.ctx.file.text[at..]
            .find('\n')
            .map_or(self.ctx.file.text.len(), |i| at + i);
        let msg = "this lockfile was committed in the middle of a merge (conflict markers); package managers reject it or install from a half-merged list, and its dependencies cannot be checked".to_string();
        self.report(Check::MergeConflict, at..end, msg);
    }

    /// Whether an install script is the expected kind: a widely used package, one the project
    /// asked for itself, a package in the scope of a direct dependency (`@prisma/engines` beside
    /// `prisma`) or of an organisation with several packages in the tree (`@firebase/util` among
    /// `@firebase/*`: nobody else can publish in a scope), or a platform build of a popular
    /// package (`esbuild-linux-64`). Anything else is reported on its own.
    fn is_expected_script(
        &self,
        name: &str,
        direct: &HashMap<String, bool>,
        scopes: &HashMap<&str, usize>,
    ) -> bool {
        const PLATFORMS: [&str; 9] = [
            "android", "darwin", "freebsd", "linux", "netbsd", "openbsd", "sunos", "win32",
            "windows",
        ];
        if self.names.is_popular(name) || direct.contains_key(name) {
            return true;
        }
        if let Some((scope, _)) = name.split_once('/') {
            let bare = scope.trim_start_matches('@');
            return scopes.get(scope).is_some_and(|n| *n > 3)
                || direct
                    .keys()
                    .any(|d| d == bare || d.split_once('/').is_some_and(|(s, _)| s == scope));
        }
        name.split_once('-').is_some_and(|(base, rest)| {
            self.names.is_popular(base) && PLATFORMS.iter().any(|p| rest.starts_with(p))
        })
    }

    /// One finding for many entries: at the first one, the count and the first names in the
    /// message, every `name@version` in the `packages` property and as a related location.
    fn aggregate(
        &mut self,
        check: Check,
        entries: &[&Locked],
        severity: Option<Severity>,
        what: &str,
        fix: &str,
    ) {
        let Some(first) = entries.first() else {
            return;
        };
        let ctx = self.ctx;
        let names: Vec<String> = entries
            .iter()
            .map(|e| format!("{}@{}", e.name, e.version))
            .collect();
        let shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        let more = if names.len() > 5 {
            format!(" and {} more", names.len() - 5)
        } else {
            String::new()
        };
        let count = names.len();
        let msg = if count == 1 {
            format!("1 of this lockfile's {what}: {shown}; {fix}").replacen(
                "1 of this lockfile's ",
                "",
                1,
            )
        } else {
            format!("{count} {what}: {shown}{more}; {fix}")
        };
        let Some(f) = self.report(check, first.span.clone(), msg) else {
            return;
        };
        if let Some(s) = severity {
            f.severity = s;
        }
        f.properties.insert("count".into(), count.to_string());
        f.properties.insert("packages".into(), names.join(", "));
        f.related = entries
            .iter()
            .zip(&names)
            .map(|(e, n)| ctx.related(e.span.clone(), n.clone()))
            .collect();
    }

    fn advisories(
        &mut self,
        eco: Ecosystem,
        entry: &Locked,
        copies: &[&Locked],
        direct: &HashMap<String, bool>,
    ) {
        let hits = self.db.matches(eco, &entry.name, &entry.version);
        if hits.is_empty() {
            return;
        }
        let is_dev = direct
            .get(&entry.name)
            .copied()
            .unwrap_or_else(|| entry.is_dev && copies.iter().all(|c| c.is_dev));
        // `None`: the lockfile and manifest do not say which packages are direct
        let is_direct = (!direct.is_empty()).then(|| direct.contains_key(&entry.name));
        for (check, kind) in [
            (Check::MaliciousVersion, Kind::Malicious),
            (Check::KnownVulnerability, Kind::Vulnerability),
            (Check::DeprecatedPackage, Kind::Unmaintained),
        ] {
            let group: Vec<&Hit<'_>> = hits.iter().filter(|h| h.advisory.kind == kind).collect();
            if group.is_empty() {
                continue;
            }
            // only vulnerabilities are graded by reach; malware and notices keep their level
            let (msg, severity) = if kind == Kind::Vulnerability {
                advisory_message(entry, &group, is_direct, is_dev)
            } else {
                advisory_message(entry, &group, None, false)
            };
            let ctx = self.ctx;
            let Some(f) = self.report(check, entry.span.clone(), msg) else {
                continue;
            };
            if check == Check::KnownVulnerability {
                f.severity = severity;
            }
            let ids: Vec<&str> = group.iter().map(|h| h.advisory.id.as_str()).collect();
            f.properties.insert("advisory".into(), ids.join(","));
            let aliases: Vec<&str> = group
                .iter()
                .flat_map(|h| h.advisory.aliases.iter().map(String::as_str))
                .collect();
            if !aliases.is_empty() {
                f.properties.insert("aliases".into(), aliases.join(","));
            }
            let vectors: Vec<&str> = group
                .iter()
                .filter_map(|h| h.advisory.cvss.as_deref())
                .collect();
            if !vectors.is_empty() {
                f.properties.insert("cvss".into(), vectors.join(" "));
            }
            if let Some(fixed) = fixed_for_all(&group) {
                f.properties.insert("fixed".into(), fixed);
            }
            if let Some(url) = group[0].advisory.references.first() {
                f.properties.insert("reference".into(), url.clone());
            }
            if let Some(d) = is_direct {
                f.properties.insert(
                    "dependency".into(),
                    if d { "direct" } else { "transitive" }.into(),
                );
            }
            f.properties.insert(
                "scope".into(),
                if is_dev { "dev" } else { "runtime" }.into(),
            );
            f.related = copies
                .iter()
                .map(|c| ctx.related(c.span.clone(), "another copy of this version"))
                .collect();
        }
    }

    /// Reports non-registry and plain-HTTP sources; returns whether the entry is a registry
    /// download without an integrity hash (aggregated by the caller).
    fn source(&mut self, lock: &Lockfile, entry: &Locked) -> bool {
        let checks_hash = lock.ecosystem == Ecosystem::Npm && lock.format != LockFormat::YarnBerry;
        let Some((url, range)) = &entry.resolved else {
            return !entry.has_integrity && checks_hash;
        };
        let lower = url.to_ascii_lowercase();
        if lock.format == LockFormat::Cargo {
            let msg = format!(
                "`{} {}` is built from git ({url}) instead of a registry, outside RustSec advisories and crates.io checksums",
                entry.name, entry.version
            );
            self.report(Check::NonRegistrySource, entry.span.clone(), msg);
            return false;
        }
        if lower.starts_with("file:") {
            return false;
        }
        if lower.starts_with("http://") {
            let msg = format!(
                "`{}@{}` was resolved over plain HTTP ({url}); the download can be swapped in transit",
                entry.name, entry.version
            );
            if let Some(f) = self.report(Check::NonRegistrySource, range.clone(), msg) {
                f.severity = Severity::High;
            }
            false
        } else if !is_registry_url(&lower) {
            let msg = format!(
                "`{}@{}` was resolved from {url}, not from a package registry, so no registry integrity or advisory applies",
                entry.name, entry.version
            );
            self.report(Check::NonRegistrySource, range.clone(), msg);
            false
        } else {
            !entry.has_integrity && checks_hash
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

/// The smallest version that fixes every advisory: the highest of their first fixes (`None`
/// when one has no fix).
fn fixed_for_all(group: &[&Hit<'_>]) -> Option<String> {
    let mut best: Option<semver::Version> = None;
    for h in group {
        let v = version::parse(h.fixed.as_deref()?)?;
        if best.as_ref().is_none_or(|b| v > *b) {
            best = Some(v);
        }
    }
    best.map(|v| v.to_string())
}

fn level_severity(level: Option<&str>) -> Severity {
    match level {
        Some("critical") => Severity::Critical,
        Some("medium") => Severity::Medium,
        Some("low") => Severity::Low,
        _ => Severity::High,
    }
}

fn one_lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// The message and severity of one package version's advisories of one kind: the highest
/// advisory severity, one level lower for dev-only or transitive-only packages (with the reason).
fn advisory_message(
    entry: &Locked,
    group: &[&Hit<'_>],
    is_direct: Option<bool>,
    is_dev: bool,
) -> (String, Severity) {
    let top = group
        .iter()
        .map(|h| level_severity(h.advisory.level))
        .max()
        .unwrap_or(Severity::High);
    let listed: Vec<String> = group
        .iter()
        .map(|h| {
            let a = h.advisory;
            let ids = if a.aliases.is_empty() {
                a.id.clone()
            } else {
                format!("{} ({})", a.id, a.aliases.join(", "))
            };
            let level = a.level.map(|l| format!(" [{l}]")).unwrap_or_default();
            format!("{ids}: {}{level}", a.summary.trim_end_matches('.'))
        })
        .collect();
    let is_malicious = group[0].advisory.kind == Kind::Malicious;
    let fix = if is_malicious {
        "; remove this version and rotate any secrets the install could reach".to_string()
    } else {
        match fixed_for_all(group) {
            Some(v) => format!(
                "; {v} fixes {}",
                if group.len() > 1 { "all of them" } else { "it" }
            ),
            None => "; no fixed version is published".to_string(),
        }
    };
    let mut severity = top;
    let scope = match (is_direct, is_dev) {
        (Some(true), false) => " (a direct dependency)".to_string(),
        (Some(true), true) => {
            severity = one_lower(top);
            format!(
                " (a direct development dependency; {} rather than {} because it does not ship to production)",
                severity.as_str(),
                top.as_str()
            )
        }
        (Some(false), dev) => {
            severity = one_lower(top);
            format!(
                " (transitive{}; {} rather than {} because it is reached only through other packages, which may not call the affected code)",
                if dev { ", development only" } else { "" },
                severity.as_str(),
                top.as_str()
            )
        }
        (None, true) => {
            severity = one_lower(top);
            format!(
                " (development only; {} rather than {} because it does not ship to production)",
                severity.as_str(),
                top.as_str()
            )
        }
        (None, false) => String::new(),
    };
    let count = if group.len() > 1 {
        format!("{} advisories: ", group.len())
    } else {
        String::new()
    };
    (
        format!(
            "`{}@{}`{scope} is affected by {count}{}{fix}",
            entry.name,
            entry.version,
            listed.join("; ")
        ),
        severity,
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

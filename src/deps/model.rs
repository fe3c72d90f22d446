//! The parsed shapes every dependency file turns into: manifest specs and locked packages, each
//! with the byte range of the line that declares it.

use std::collections::HashMap;
use std::ops::Range;

use super::osv::Ecosystem;

/// A dependency as a manifest (`package.json`, `Cargo.toml`) declares it.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Package name.
    pub name: String,
    /// The requested spec as written (`^1.2.3`, `github:a/b`, `file:../x`, `latest`).
    pub spec: String,
    /// The section (`dependencies`, `devDependencies`, `[dependencies]`, ...).
    pub section: String,
    /// Byte range of the declaration (key through value).
    pub span: Range<usize>,
    /// Cargo only: `git = ...` with no `rev`/`tag`/`branch`, or a `path`.
    pub cargo_source: Option<CargoSource>,
}

/// A Cargo.toml dependency's non-registry source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CargoSource {
    /// `git = URL`, with whether a `rev` or `tag` pins it.
    Git {
        /// Pinned by `rev` or `tag`.
        is_pinned: bool,
    },
    /// `path = ...`.
    Path,
}

/// A manifest: its declared dependencies and workspace globs.
#[derive(Debug, Default)]
pub struct Manifest {
    /// Every declared dependency, in file order.
    pub deps: Vec<Declared>,
    /// The package's own `name`.
    pub name: Option<String>,
    /// `workspaces` patterns (npm/yarn) as written.
    pub workspaces: Vec<String>,
    /// The key of the first non-empty section that installs packages (`"dependencies"`,
    /// `"devDependencies"`, `"optionalDependencies"`): where a missing lockfile is reported.
    pub install_section: Option<std::ops::Range<usize>>,
    /// The manifest lists `files` to publish: a library, which npm publishes without its
    /// lockfile (so a published copy never has one).
    pub is_published_library: bool,
}

/// One package version pinned by a lockfile.
#[derive(Debug, Clone, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts a lockfile records per entry, not a state machine"
)]
pub struct Locked {
    /// Package name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Byte range of the entry's key or header line.
    pub span: Range<usize>,
    /// Where it was downloaded from (`resolved`, pnpm `tarball`/`repo`, Cargo `source`), with
    /// the byte range of that value.
    pub resolved: Option<(String, Range<usize>)>,
    /// Whether the entry carries an integrity hash (`integrity`, `checksum`, `#sha1`).
    pub has_integrity: bool,
    /// `hasInstallScript` / `requiresBuild`.
    pub has_install_script: bool,
    /// A workspace, link or local folder entry (no download, so no integrity or registry).
    pub is_local: bool,
    /// A deprecation notice recorded in the lockfile (pnpm).
    pub deprecated: Option<String>,
    /// The lockfile marks it as needed only for development (npm `dev`, pnpm v6 `dev: true`).
    pub is_dev: bool,
    /// The lockfile marks it optional (npm `optional`, pnpm `optional: true`).
    pub is_optional: bool,
    /// The integrity hash as written (`sha512-...`, Cargo `checksum`), for the SBOM.
    pub integrity: Option<String>,
    /// The licence the lockfile records (npm v2/v3 `license`).
    pub license: Option<String>,
    /// The names this entry depends on, as the lockfile lists them (for the SBOM graph).
    pub dependencies: Vec<String>,
    /// npm only: the install path (`node_modules/a/node_modules/b`), which decides which copy a
    /// dependency name resolves to.
    pub path: String,
}

/// Which lockfile format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFormat {
    /// package-lock.json / npm-shrinkwrap.json v1 (nested `dependencies`).
    NpmV1,
    /// package-lock.json v2/v3 (`packages` keyed by install path).
    NpmV2,
    /// yarn.lock v1 (classic).
    YarnClassic,
    /// yarn.lock from Yarn 2+ (Berry).
    YarnBerry,
    /// pnpm-lock.yaml.
    Pnpm,
    /// Cargo.lock.
    Cargo,
    /// bun.lock (text, Bun 1.2+).
    Bun,
    /// deno.lock (v3 to v5).
    Deno,
}

/// A parsed lockfile.
#[derive(Debug)]
pub struct Lockfile {
    /// Format.
    pub format: LockFormat,
    /// Ecosystem of every entry.
    pub ecosystem: Ecosystem,
    /// Every locked package, in file order.
    pub entries: Vec<Locked>,
    /// What the lockfile says each direct dependency resolves to, keyed per format:
    /// npm: install path (`node_modules/x`, `packages/a/node_modules/x`) -> version;
    /// yarn: descriptor (`x@^1.0.0`, `x@npm:^1.0.0`) -> version;
    /// pnpm: `importer\0name` -> specifier.
    pub top: HashMap<String, String>,
    /// npm v2/v3 only: the specs the lockfile recorded for each importer (`""` = root), as
    /// `importer\0name` -> (spec, byte range of that line).
    pub recorded: HashMap<String, (String, Range<usize>)>,
    /// Direct dependencies of the root project and workspaces: name -> whether only development
    /// sections declare it. Empty when the lockfile does not say (yarn, npm v1).
    pub direct: HashMap<String, bool>,
}

impl Lockfile {
    /// An empty lockfile of `format`.
    pub fn new(format: LockFormat, ecosystem: Ecosystem) -> Self {
        Lockfile {
            format,
            ecosystem,
            entries: Vec::new(),
            top: HashMap::new(),
            recorded: HashMap::new(),
            direct: HashMap::new(),
        }
    }
}

/// Splits `name@rest` where the name may be scoped (`@scope/name@rest`).
pub fn split_at_version(descriptor: &str) -> Option<(&str, &str)> {
    let i = descriptor.get(1..)?.find('@')? + 1;
    Some((&descriptor[..i], &descriptor[i + 1..]))
}

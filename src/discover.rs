//! Finding the files to scan: parallel, .gitignore-aware walking, file kinds, and skip reasons.
//!
//! Discovery only looks at paths and metadata; reading and content checks (binary, minified) happen
//! in the engine, which reads each file once. The result is sorted, so everything downstream is
//! deterministic whatever the thread count.
//!
//! `.gitignore` says what git should not pick up, not what it holds: a `.env` committed before its
//! ignore line was added is the classic leak (issue 17). So, when ignore files are honoured, the
//! walk is completed by [`committed_or_secret_stores`]: inside a git work tree the files git
//! tracks although an ignore rule matches them (from `git ls-files`, so the index is read by git
//! itself: every index version, split and sparse indexes, no new dependency to build); outside git,
//! files that look like secret stores (`.env*`, keys, key stores, service-account JSON), whatever
//! `.gitignore` says. An ignored file git does not track (a local `.env`) stays out.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What a file is, decided from its path (and, for a few, its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// JavaScript, including JSX: `.js .mjs .cjs .jsx`.
    Js,
    /// TypeScript: `.ts .mts .cts`.
    Ts,
    /// TypeScript with JSX: `.tsx`.
    Tsx,
    /// TypeScript declaration files (`.d.ts`): types only, no runtime code.
    Dts,
    /// JSON (not lockfiles).
    Json,
    /// YAML (not lockfiles).
    Yaml,
    /// TOML (not lockfiles).
    Toml,
    /// dotenv files: `.env`, `.env.local`, `.env.production`, ...
    Dotenv,
    /// SQL, including Supabase migrations.
    Sql,
    /// Firebase security rules: `firestore.rules`, `storage.rules`, `*.rules`.
    FirebaseRules,
    /// Dependency lockfiles: package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml, Cargo.lock.
    Lockfile,
    /// Any other text file.
    Text,
    /// Rule target only: every kind.
    Any,
}

impl FileKind {
    /// Names usable in a rule's `languages` list.
    pub const RULE_NAMES: [&'static str; 13] = [
        "js",
        "ts",
        "tsx",
        "dts",
        "json",
        "yaml",
        "toml",
        "env",
        "sql",
        "firebase-rules",
        "lockfile",
        "text",
        "any",
    ];

    /// Parses a name from a rule's `languages` list.
    pub fn from_rule_name(name: &str) -> Option<FileKind> {
        Some(match name {
            "js" | "javascript" | "jsx" => FileKind::Js,
            "ts" | "typescript" => FileKind::Ts,
            "tsx" => FileKind::Tsx,
            "dts" => FileKind::Dts,
            "json" => FileKind::Json,
            "yaml" => FileKind::Yaml,
            "toml" => FileKind::Toml,
            "env" | "dotenv" => FileKind::Dotenv,
            "sql" => FileKind::Sql,
            "firebase-rules" => FileKind::FirebaseRules,
            "lockfile" => FileKind::Lockfile,
            "text" => FileKind::Text,
            "any" => FileKind::Any,
            _ => return None,
        })
    }

    /// The name used in rule files and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Js => "js",
            FileKind::Ts => "ts",
            FileKind::Tsx => "tsx",
            FileKind::Dts => "dts",
            FileKind::Json => "json",
            FileKind::Yaml => "yaml",
            FileKind::Toml => "toml",
            FileKind::Dotenv => "env",
            FileKind::Sql => "sql",
            FileKind::FirebaseRules => "firebase-rules",
            FileKind::Lockfile => "lockfile",
            FileKind::Text => "text",
            FileKind::Any => "any",
        }
    }

    /// Whether a rule targeting `self` also applies to files of kind `other` (`ts` covers `tsx`).
    pub fn covers(self, other: FileKind) -> bool {
        self == other || (self == FileKind::Ts && other == FileKind::Tsx)
    }

    /// Whether tree-sitter parses this kind.
    pub fn is_code(self) -> bool {
        matches!(self, FileKind::Js | FileKind::Ts | FileKind::Tsx)
    }

    /// Classifies a path. `None` for files that are never scanned (images, archives, ...).
    pub fn classify(path: &Path) -> Option<FileKind> {
        // a name that is not UTF-8 is still classified by its extension (it was taken for binary)
        let name = path.file_name()?.to_string_lossy();
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "package-lock.json"
            | "npm-shrinkwrap.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "cargo.lock"
            | "bun.lock"
            | "deno.lock" => return Some(FileKind::Lockfile),
            "firestore.rules" | "storage.rules" | "database.rules" => {
                return Some(FileKind::FirebaseRules);
            }
            _ => {}
        }
        if lower == ".env"
            || lower.starts_with(".env.")
            || Path::new(&lower).extension().is_some_and(|e| e == "env")
        {
            return Some(FileKind::Dotenv);
        }
        if lower.ends_with(".d.ts") || lower.ends_with(".d.mts") || lower.ends_with(".d.cts") {
            return Some(FileKind::Dts);
        }
        let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
        Some(match ext {
            "js" | "mjs" | "cjs" | "jsx" => FileKind::Js,
            "ts" | "mts" | "cts" => FileKind::Ts,
            "tsx" => FileKind::Tsx,
            "json" | "jsonc" | "json5" => FileKind::Json,
            "yaml" | "yml" => FileKind::Yaml,
            "toml" => FileKind::Toml,
            "sql" | "psql" | "pgsql" => FileKind::Sql,
            "rules" => FileKind::FirebaseRules,
            e if is_binary_extension(e) => return None,
            _ => FileKind::Text,
        })
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_binary_extension(ext: &str) -> bool {
    matches!(
        ext,
        "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "webp"
            | "ico"
            | "bmp"
            | "tiff"
            | "avif"
            | "svgz"
            | "woff"
            | "woff2"
            | "ttf"
            | "otf"
            | "eot"
            | "zip"
            | "gz"
            | "tgz"
            | "bz2"
            | "xz"
            | "zst"
            | "7z"
            | "rar"
            | "tar"
            | "jar"
            | "war"
            | "pdf"
            | "doc"
            | "docx"
            | "xls"
            | "xlsx"
            | "ppt"
            | "pptx"
            | "mp3"
            | "mp4"
            | "wav"
            | "ogg"
            | "webm"
            | "mov"
            | "avi"
            | "flac"
            | "wasm"
            | "node"
            | "so"
            | "dylib"
            | "dll"
            | "exe"
            | "bin"
            | "o"
            | "a"
            | "class"
            | "pyc"
            | "sqlite"
            | "db"
            | "rlib"
            | "rmeta"
            | "map"
            | "snap"
            | "lockb"
    )
}

/// Directory names skipped by default: dependencies, VCS data, build output and caches.
pub const DEFAULT_EXCLUDED_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".output",
    ".vercel",
    ".netlify",
    ".turbo",
    ".cache",
    crate::cache::DEFAULT_DIR,
    ".parcel-cache",
    "coverage",
    ".nyc_output",
    "vendor",
    "bower_components",
    "jspm_packages",
    "target",
];

/// How discovery behaves.
#[derive(Clone, Debug)]
pub struct DiscoverOptions {
    /// Honour .gitignore, .ignore and git's global excludes.
    pub respect_ignore_files: bool,
    /// Skip [`DEFAULT_EXCLUDED_DIRS`].
    pub default_excludes: bool,
    /// gitignore-style globs of paths to leave out (`--exclude`).
    pub excludes: Vec<String>,
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Worker threads for the walk.
    pub threads: usize,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            respect_ignore_files: true,
            default_excludes: true,
            excludes: Vec::new(),
            max_file_size: 4 * 1024 * 1024,
            threads: 0,
        }
    }
}

/// A file to analyse.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// Path as displayed and reported: relative to the current directory when possible, `/`-separated.
    pub display: String,
    /// Path to open.
    pub path: PathBuf,
    /// What kind of file it is.
    pub kind: FileKind,
    /// Size in bytes at discovery.
    pub size: u64,
}

/// Why a file was not analysed (or only partly).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Contains NUL bytes or has a binary extension.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// A minified bundle (very long lines).
    Minified,
    /// Marked as generated (`@generated`, `DO NOT EDIT`).
    Generated,
    /// Could not be read.
    Unreadable,
    /// Not valid UTF-8: analysed after lossy decoding.
    InvalidUtf8,
    /// Tree-sitter reported syntax errors: analysed as far as the tree allows.
    ParseError,
    /// The analysis of this file failed internally; the rest of the scan went on.
    InternalError,
    /// A walk error: broken symlink, symlink loop, permission denied.
    WalkError,
    /// The analysis of this file ran past the per-file time budget and was cut off: findings of
    /// the analyzers that finished are kept.
    Timeout,
    /// Code nested too deeply to follow within the analysis stack (see `engine::stack`): the
    /// deeper code was not analysed, the rest of the file was.
    TooDeep,
    /// Not about one file: something the reader of the results should know (e.g. the scan used
    /// only the built-in advisory set). Nothing was skipped.
    Notice,
}

impl SkipReason {
    /// Whether the analysis ran out of time or failed (an outcome `--cache` does not keep).
    pub fn is_failure(&self) -> bool {
        matches!(self, SkipReason::Timeout | SkipReason::InternalError)
    }

    /// The kebab-case name shown in `--stats`, JSON and SARIF.
    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too-large",
            SkipReason::Minified => "minified",
            SkipReason::Generated => "generated",
            SkipReason::Unreadable => "unreadable",
            SkipReason::InvalidUtf8 => "invalid-utf8",
            SkipReason::ParseError => "parse-error",
            SkipReason::InternalError => "internal-error",
            SkipReason::WalkError => "walk-error",
            SkipReason::Timeout => "timeout",
            SkipReason::TooDeep => "too-deep",
            SkipReason::Notice => "notice",
        }
    }

    /// Whether the file was still analysed (degraded) rather than skipped.
    pub fn is_degraded(&self) -> bool {
        matches!(
            self,
            SkipReason::InvalidUtf8
                | SkipReason::ParseError
                | SkipReason::Notice
                | SkipReason::Timeout
                | SkipReason::TooDeep
        )
    }
}

/// A file that was skipped or degraded, with the reason and a human detail.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Skipped {
    /// The file (display path).
    pub path: String,
    /// Why.
    pub reason: SkipReason,
    /// Detail, e.g. the size or the I/O error.
    pub detail: String,
}

/// An error that stops discovery before it starts.
#[derive(Debug, Error)]
pub enum DiscoverError {
    /// A path given on the command line does not exist.
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    /// A path given on the command line is a symbolic link that cannot be followed.
    #[error("{path}: cannot follow this symbolic link: {message}")]
    BrokenLink {
        /// The link.
        path: PathBuf,
        /// Why (a loop, a missing target).
        message: String,
    },
    /// An `--exclude` glob is invalid.
    #[error("--exclude `{glob}`: {message}")]
    BadExclude {
        /// The glob.
        glob: String,
        /// Why it is invalid.
        message: String,
    },
}

/// The outcome of discovery: files to analyse and files skipped, both sorted.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to analyse, sorted by display path.
    pub candidates: Vec<Candidate>,
    /// Files skipped at discovery, sorted.
    pub skipped: Vec<Skipped>,
}

/// Walks `roots` in parallel and returns the candidates in a deterministic order.
///
/// A root that is a file is always scanned (explicit paths bypass ignore files and excludes,
/// as in ripgrep), except when it is binary by extension.
pub fn discover(roots: &[PathBuf], options: &DiscoverOptions) -> Result<Discovered, DiscoverError> {
    let mut out = Discovered::default();
    let cwd = std::env::current_dir().ok();
    for root in roots {
        if let Err(e) = std::fs::metadata(root) {
            // a symlink that exists but cannot be followed (a loop, a dangling target) is not
            // "missing": say what is wrong with it
            return Err(if std::fs::symlink_metadata(root).is_ok() {
                DiscoverError::BrokenLink {
                    path: root.clone(),
                    message: e.to_string(),
                }
            } else {
                DiscoverError::Missing(root.clone())
            });
        }
    }
    let (files, dirs): (Vec<&PathBuf>, Vec<&PathBuf>) = roots.iter().partition(|r| r.is_file());
    for file in files {
        let display = display_path(file, cwd.as_deref());
        let size = file.metadata().map_or(0, |m| m.len());
        match FileKind::classify(file) {
            Some(kind) if size <= size_limit(kind, file, options.max_file_size) => {
                out.candidates.push(Candidate {
                    display,
                    path: file.clone(),
                    kind,
                    size,
                });
            }
            Some(kind) => out.skipped.push(too_large(
                display,
                size,
                size_limit(kind, file, options.max_file_size),
            )),
            None => out.skipped.push(Skipped {
                path: display,
                reason: SkipReason::Binary,
                detail: "binary file extension".into(),
            }),
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        walk_dirs(first, rest, options, cwd.as_deref(), &mut out)?;
        if options.respect_ignore_files {
            for dir in &dirs {
                committed_or_secret_stores(dir, options, cwd.as_deref(), &mut out);
            }
        }
    }
    out.candidates.sort();
    out.candidates.dedup_by(|a, b| a.path == b.path);
    out.skipped.sort();
    out.skipped.dedup();
    Ok(out)
}

/// Lockfiles and dependency manifests are read up to this size whatever `--max-file-size` says:
/// a 50,000-package `package-lock.json` is about 13 MB, and skipping it would hide every
/// dependency (issue 19).
pub const DEPENDENCY_FILE_LIMIT: u64 = 128 * 1024 * 1024;

/// The size limit for one file: [`DEPENDENCY_FILE_LIMIT`] for lockfiles and manifests.
fn size_limit(kind: FileKind, path: &Path, max: u64) -> u64 {
    let is_manifest = path
        .file_name()
        .is_some_and(|n| n == "package.json" || n == "Cargo.toml");
    if kind == FileKind::Lockfile || is_manifest {
        max.max(DEPENDENCY_FILE_LIMIT)
    } else {
        max
    }
}

fn too_large(path: String, size: u64, limit: u64) -> Skipped {
    Skipped {
        path,
        reason: SkipReason::TooLarge,
        detail: format!("{size} bytes, limit {limit}"),
    }
}

fn walk_dirs(
    first: &Path,
    rest: &[&PathBuf],
    options: &DiscoverOptions,
    cwd: Option<&Path>,
    out: &mut Discovered,
) -> Result<(), DiscoverError> {
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    let respect = options.respect_ignore_files;
    builder
        .hidden(false)
        .git_ignore(respect)
        .git_global(respect)
        .git_exclude(respect)
        .ignore(respect)
        .parents(respect)
        .require_git(false)
        .follow_links(false)
        .threads(options.threads);
    if !options.excludes.is_empty() {
        let mut overrides = OverrideBuilder::new(first);
        for glob in &options.excludes {
            overrides
                .add(&format!("!{glob}"))
                .map_err(|e| DiscoverError::BadExclude {
                    glob: glob.clone(),
                    // the glob is added negated (`!glob`); show it as the user wrote it
                    message: e
                        .to_string()
                        .replace(&format!("'!{glob}'"), &format!("'{glob}'")),
                })?;
        }
        let overrides = overrides.build().map_err(|e| DiscoverError::BadExclude {
            glob: options.excludes.join(", "),
            message: e.to_string(),
        })?;
        builder.overrides(overrides);
    }
    if options.default_excludes {
        builder.filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && entry.depth() > 0
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| DEFAULT_EXCLUDED_DIRS.contains(&n)))
        });
    }

    let found = Mutex::new(Discovered::default());
    let max = options.max_file_size;
    builder.build_parallel().run(|| {
        let found = &found;
        Box::new(move |entry| {
            let mut local_candidate = None;
            let mut local_skip = None;
            match entry {
                Err(err) => {
                    let path =
                        err_path(&err).map_or_else(|| "<walk>".into(), |p| display_path(&p, cwd));
                    local_skip = Some(Skipped {
                        path,
                        reason: SkipReason::WalkError,
                        detail: err.to_string(),
                    });
                }
                Ok(entry) => {
                    if entry.file_type().is_some_and(|t| t.is_file()) {
                        let path = entry.path();
                        let display = display_path(path, cwd);
                        match FileKind::classify(path) {
                            None => {
                                local_skip = Some(Skipped {
                                    path: display,
                                    reason: SkipReason::Binary,
                                    detail: "binary file extension".into(),
                                });
                            }
                            Some(kind) => {
                                let size = entry.metadata().map_or(0, |m| m.len());
                                let limit = size_limit(kind, path, max);
                                if size > limit {
                                    local_skip = Some(too_large(display, size, limit));
                                } else {
                                    local_candidate = Some(Candidate {
                                        display,
                                        path: path.to_path_buf(),
                                        kind,
                                        size,
                                    });
                                }
                            }
                        }
                    }
                }
            }
            if local_candidate.is_some() || local_skip.is_some() {
                // Discovery is cheap next to analysis; a short lock per file is not the hot path.
                let mut found = found
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                found.candidates.extend(local_candidate);
                found.skipped.extend(local_skip);
            }
            WalkState::Continue
        })
    });
    let found = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    out.candidates.extend(found.candidates);
    out.skipped.extend(found.skipped);
    Ok(())
}

/// Adds the files the ignore-aware walk left out that must be scanned all the same: tracked files
/// that an ignore rule matches (inside git) and secret stores (outside git). Honours `--exclude`
/// and never enters dependency or build folders.
fn committed_or_secret_stores(
    root: &Path,
    options: &DiscoverOptions,
    cwd: Option<&Path>,
    out: &mut Discovered,
) {
    let excludes = exclude_matcher(root, &options.excludes);
    let add = |path: PathBuf, out: &mut Discovered| {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        if rel.components().any(|c| {
            c.as_os_str()
                .to_str()
                .is_some_and(|n| DEFAULT_EXCLUDED_DIRS.contains(&n))
        }) || excludes
            .as_ref()
            .is_some_and(|m| m.matched(&path, false).is_ignore())
        {
            return;
        }
        let Ok(meta) = path.symlink_metadata() else {
            return;
        };
        if !meta.is_file() {
            return;
        }
        let display = display_path(&path, cwd);
        match FileKind::classify(&path) {
            Some(kind) if meta.len() <= options.max_file_size => out.candidates.push(Candidate {
                display,
                path,
                kind,
                size: meta.len(),
            }),
            Some(_) => out
                .skipped
                .push(too_large(display, meta.len(), options.max_file_size)),
            None => {}
        }
    };
    if is_in_git_work_tree(root)
        && let Some(files) = git_tracked_but_ignored(root)
    {
        for f in files {
            add(f, out);
        }
        return;
    }
    // Outside git (or without a `git` command): secret stores whatever `.gitignore` says; a
    // repository nested below the root is asked what it tracks instead.
    let nested = std::sync::Arc::new(Mutex::new(Vec::new()));
    let stores = Mutex::new(Vec::new());
    let mut builder = WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .threads(options.threads);
    let nested_ref = std::sync::Arc::clone(&nested);
    builder.filter_entry(move |entry| {
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if !is_dir || entry.depth() == 0 {
            return true;
        }
        let name = entry.file_name().to_str().unwrap_or("");
        if DEFAULT_EXCLUDED_DIRS.contains(&name) {
            return false;
        }
        if entry.path().join(".git").exists() {
            nested_ref
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(entry.path().to_path_buf());
            return false;
        }
        true
    });
    builder.build_parallel().run(|| {
        let stores = &stores;
        Box::new(move |entry| {
            if let Ok(entry) = entry
                && entry.file_type().is_some_and(|t| t.is_file())
                && is_secret_store(entry.path())
            {
                stores
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(entry.path().to_path_buf());
            }
            WalkState::Continue
        })
    });
    let mut stores = stores
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    stores.sort();
    for f in stores {
        add(f, out);
    }
    drop(builder);
    let mut nested = std::mem::take(
        &mut *nested
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    nested.sort();
    for repo in nested {
        for f in git_tracked_but_ignored(&repo).unwrap_or_default() {
            add(f, out);
        }
    }
}

fn exclude_matcher(root: &Path, globs: &[String]) -> Option<ignore::overrides::Override> {
    if globs.is_empty() {
        return None;
    }
    let mut b = OverrideBuilder::new(root);
    for g in globs {
        b.add(&format!("!{g}")).ok()?;
    }
    b.build().ok()
}

/// Whether `dir` is inside a git work tree (a `.git` folder or file in it or above it).
fn is_in_git_work_tree(dir: &Path) -> bool {
    let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    abs.ancestors().any(|d| d.join(".git").exists())
}

/// The files under `dir` that git tracks although an ignore rule matches them, as paths below
/// `dir`; `None` when git cannot answer (no `git` command, not a work tree, a broken repository).
pub fn git_tracked_but_ignored(dir: &Path) -> Option<Vec<PathBuf>> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--ignored",
            "--exclude-standard",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        output
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .filter_map(|p| std::str::from_utf8(p).ok())
            .map(|p| dir.join(p))
            .collect(),
    )
}

/// Whether the file name says it holds credentials: dotenv files, private keys and key stores,
/// service-account and credential JSON, tool credential files, and the MCP server configs of AI
/// editors and agents (`.cursor/mcp.json`, `.mcp.json`, `claude_desktop_config.json`), whose
/// `env` blocks hold the servers' API tokens.
pub fn is_secret_store(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    lower == ".env"
        || lower.starts_with(".env.")
        || matches!(
            ext,
            "env" | "pem" | "key" | "p12" | "pfx" | "jks" | "keystore" | "bcfks" | "ppk" | "p8"
        )
        || matches!(
            lower.as_str(),
            "id_rsa"
                | "id_dsa"
                | "id_ecdsa"
                | "id_ed25519"
                | ".npmrc"
                | ".pypirc"
                | ".netrc"
                | ".git-credentials"
                | ".dockercfg"
                | "secrets.json"
                | "secrets.yaml"
                | "secrets.yml"
                | "secrets.toml"
                | "mcp.json"
                | ".mcp.json"
                | "mcp_config.json"
                | "claude_desktop_config.json"
        )
        || (ext == "json"
            && (lower.starts_with("credentials")
                || lower.contains("service-account")
                || lower.contains("service_account")
                || lower.contains("serviceaccount")
                || lower.contains("firebase-adminsdk")
                || lower.starts_with("client_secret")))
}

fn err_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            err_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// The path as reported: relative to `cwd` when below it, `/`-separated, without a leading `./`.
pub fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    let rel = match cwd {
        Some(cwd) if path.is_absolute() => path.strip_prefix(cwd).unwrap_or(path),
        _ => path,
    };
    let mut s = rel.to_string_lossy().replace('\\', "/");
    while let Some(stripped) = s.strip_prefix("./") {
        s = stripped.to_string();
    }
    if s.is_empty() { ".".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &Discovered, root: &Path) -> Vec<String> {
        found
            .candidates
            .iter()
            .map(|c| {
                c.path
                    .strip_prefix(root)
                    .unwrap_or(&c.path)
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    fn git(dir: &Path, args: &[&str]) -> bool {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.email=t@example.test", "-c", "user.name=t"])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Issue 17: a `.env` committed before `.gitignore` listed it is scanned; a local, untracked
    /// `.env.local` that git ignores is not.
    #[test]
    fn scans_committed_files_that_gitignore_lists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        if !git(root, &["init", "-q"]) {
            return; // no git on this machine
        }
        std::fs::write(root.join(".gitignore"), ".env\n.env.local\n").expect("write");
        std::fs::write(root.join(".env"), "API_SECRET=x\n").expect("write");
        std::fs::write(root.join("app.js"), "1;\n").expect("write");
        assert!(git(root, &["add", "-f", ".env", ".gitignore", "app.js"]));
        assert!(git(root, &["commit", "-q", "-m", "x"]));
        std::fs::write(root.join(".env.local"), "API_SECRET=y\n").expect("write");
        let found = discover(&[root.to_path_buf()], &DiscoverOptions::default()).expect("walk");
        let names = names(&found, root);
        assert!(names.contains(&".env".to_string()), "{names:?}");
        assert!(names.contains(&"app.js".to_string()), "{names:?}");
        assert!(!names.contains(&".env.local".to_string()), "{names:?}");
    }

    /// Outside git, secret stores are scanned whatever `.gitignore` says.
    #[test]
    fn scans_secret_stores_outside_git() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        if is_in_git_work_tree(root) {
            return; // the temp folder sits inside a work tree on this machine
        }
        std::fs::write(
            root.join(".gitignore"),
            ".env\n*.pem\nbuild.log\n.cursor/\n",
        )
        .expect("write");
        std::fs::write(root.join(".env"), "API_SECRET=x\n").expect("write");
        std::fs::write(root.join("server.pem"), "x\n").expect("write");
        std::fs::create_dir(root.join(".cursor")).expect("mkdir");
        std::fs::write(root.join(".cursor/mcp.json"), "{}\n").expect("write");
        std::fs::write(root.join("build.log"), "x\n").expect("write");
        std::fs::create_dir(root.join("node_modules")).expect("mkdir");
        std::fs::write(root.join("node_modules/.env"), "x\n").expect("write");
        let found = discover(&[root.to_path_buf()], &DiscoverOptions::default()).expect("walk");
        let names = names(&found, root);
        assert!(names.contains(&".env".to_string()), "{names:?}");
        assert!(names.contains(&"server.pem".to_string()), "{names:?}");
        assert!(names.contains(&".cursor/mcp.json".to_string()), "{names:?}");
        assert!(!names.contains(&"build.log".to_string()), "{names:?}");
        assert!(
            !names.contains(&"node_modules/.env".to_string()),
            "{names:?}"
        );
    }
}

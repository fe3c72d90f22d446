//! The files a change touches, read from git with the `git` command: `--changed` (the working
//! tree against the merge-base with a base branch, plus untracked files) and `--staged` (the
//! index against `HEAD`). Deleted files are left out; paths come back absolute.
//!
//! The rest of the scan (discovery, the project pass) does not depend on git; this module only
//! narrows which files the per-file pass reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// Why the changed files could not be listed.
#[derive(Debug, Error)]
pub enum ChangedError {
    /// `git` is not installed or could not start.
    #[error("{flag}: cannot run git: {message}")]
    NoGit {
        /// `--changed` or `--staged`.
        flag: &'static str,
        /// The error.
        message: String,
    },
    /// git failed (not a repository, unknown base, ...).
    #[error("{flag}: `git {command}` failed: {message}")]
    Git {
        /// `--changed` or `--staged`.
        flag: &'static str,
        /// The git command line.
        command: String,
        /// git's own message.
        message: String,
    },
    /// No base given and no default branch found.
    #[error(
        "--changed: no default branch found (tried origin/HEAD, main, master); name one with --base REF"
    )]
    NoBase,
}

fn git(dir: &Path, flag: &'static str, args: &[&str]) -> Result<String, ChangedError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| ChangedError::NoGit {
            flag,
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ChangedError::Git {
            flag,
            command: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The folder git commands run in: `path` itself, or its folder for a file.
fn work_dir(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// NUL-separated repository-relative paths, made absolute under `top`, existing files only.
fn files(top: &Path, listing: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = listing
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(|p| top.join(p))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn toplevel(dir: &Path, flag: &'static str) -> Result<PathBuf, ChangedError> {
    Ok(PathBuf::from(
        git(dir, flag, &["rev-parse", "--show-toplevel"])?.trim_end(),
    ))
}

/// The default base: `$GITHUB_BASE_REF` on a pull request, else origin's HEAD, `main`,
/// `master` (local or on origin), the first that exists.
fn default_base(dir: &Path) -> Result<String, ChangedError> {
    let mut candidates = Vec::new();
    if let Some(base) = std::env::var("GITHUB_BASE_REF")
        .ok()
        .filter(|b| !b.is_empty())
    {
        candidates.push(format!("origin/{base}"));
    }
    if let Ok(head) = git(
        dir,
        "--changed",
        &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
    ) {
        candidates.push(head.trim().trim_start_matches("refs/remotes/").to_string());
    }
    candidates.extend(["main", "master", "origin/main", "origin/master"].map(String::from));
    candidates
        .into_iter()
        .find(|c| {
            git(
                dir,
                "--changed",
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{c}^{{commit}}"),
                ],
            )
            .is_ok()
        })
        .ok_or(ChangedError::NoBase)
}

/// Files changed since the merge-base of `base` (default: the default branch) and `HEAD`:
/// committed, staged and unstaged changes, and untracked files that are not ignored.
pub fn changed_files(root: &Path, base: Option<&str>) -> Result<Vec<PathBuf>, ChangedError> {
    let dir = work_dir(root);
    let top = toplevel(&dir, "--changed")?;
    let base = match base {
        Some(b) => b.to_string(),
        None => default_base(&dir)?,
    };
    let merge_base = git(&dir, "--changed", &["merge-base", &base, "HEAD"])?;
    let mut listing = git(
        &dir,
        "--changed",
        &[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=d",
            merge_base.trim(),
        ],
    )?;
    listing.push('\0');
    listing.push_str(&git(
        &dir,
        "--changed",
        &[
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--full-name",
        ],
    )?);
    Ok(files(&top, &listing))
}

/// Files staged for the next commit (added, copied, modified, renamed).
pub fn staged_files(root: &Path) -> Result<Vec<PathBuf>, ChangedError> {
    let dir = work_dir(root);
    let top = toplevel(&dir, "--staged")?;
    let listing = git(
        &dir,
        "--staged",
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=d",
        ],
    )?;
    Ok(files(&top, &listing))
}

//! Helpers shared by the test crates that run the built binary (`tests/cli.rs`,
//! `tests/usage.rs`, `tests/action.rs`).

#![allow(
    dead_code,
    reason = "each test crate compiles this module and uses only some of the helpers"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary, without colour and without the pull-request base a CI runner may set.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vibeward"));
    cmd.env("NO_COLOR", "1").env_remove("GITHUB_BASE_REF");
    cmd
}

/// Runs the binary in `dir` with `args`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("binary runs")
}

/// The exit code (the binary is never killed by a signal in these tests).
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

/// Standard output, lossily decoded.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error, lossily decoded.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `text` to `root/rel`, creating its folders.
pub fn write(root: &Path, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

/// A copy of the repository's fixtures (every family, project-wide and cross-file findings
/// included) in a temporary folder the test may change.
pub fn copy_of_fixtures() -> tempfile::TempDir {
    copy_of_fixture_families(&[])
}

/// A copy of the named fixture families (`injection`, `deps`, ...; all of them when `families` is
/// empty) in a temporary folder the test may change: a smaller tree for tests that scan many
/// times.
pub fn copy_of_fixture_families(families: &[&str]) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read fixtures") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let dir = tempfile::tempdir().expect("temp dir");
    if families.is_empty() {
        copy(&fixtures, dir.path());
    } else {
        for family in families {
            copy(&fixtures.join(family), &dir.path().join(family));
        }
    }
    dir
}

//! `vibeward db update`: downloads the osv.dev archives for npm and crates.io, checks them, and
//! stores them atomically where scans find them by default. The only network code in vibeward.
//!
//! Layout: `<data dir>/vibeward/osv/<ecosystem>.zip` (e.g. `~/.local/share/vibeward/osv/npm.zip`
//! on Linux). Each archive is written to a temporary file in the same folder, verified (a valid
//! zip whose `.json` entries parse as OSV), then renamed over the old one, so a failed or partial
//! download never replaces a good database.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::osv::{Database, Ecosystem};

/// The osv.dev bucket; `<base>/<Ecosystem>/all.zip` is one ecosystem's archive.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Archives larger than this are refused (npm's `all.zip` is tens of MB).
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;

/// Where `db update` stores the archives and scans look for them: `<data dir>/vibeward/osv`.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("vibeward").join("osv"))
}

/// Downloads, verifies and stores the npm and crates.io archives. Returns a summary line.
pub fn update_database(dir: Option<&Path>, url: Option<&str>) -> anyhow::Result<String> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => default_dir().context("no platform data directory; pass --dir")?,
    };
    let base = url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(300)))
            .build(),
    );
    // download and verify every archive before touching the folder: a failed update leaves the
    // previous database as it was (and creates no empty folder)
    let mut verified = Vec::new();
    for eco in [Ecosystem::Npm, Ecosystem::Crates] {
        let url = format!("{base}/{}/all.zip", eco.osv_name());
        let bytes = download(&agent, &url)?;
        let count = verify(&bytes).with_context(|| format!("{url} is not a valid OSV archive"))?;
        verified.push((eco, bytes, count));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut parts = Vec::new();
    for (eco, bytes, count) in verified {
        let target = dir.join(format!("{}.zip", eco.osv_name()));
        store(&dir, &target, &bytes)?;
        parts.push(format!("{}: {count} advisories", eco.osv_name()));
    }
    Ok(format!(
        "stored the OSV database in {} ({})",
        dir.display(),
        parts.join(", ")
    ))
}

fn download(agent: &ureq::Agent, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = agent
        .get(url)
        .call()
        .with_context(|| format!("cannot download {url}"))?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_ARCHIVE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("download of {url} failed"))?;
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        bail!("{url} is larger than {MAX_ARCHIVE_BYTES} bytes");
    }
    Ok(bytes)
}

/// Checks that `bytes` is a zip of OSV files; returns how many advisories it has. A few entries
/// in a newer schema may not parse (they are skipped at scan time); more than 1% means the
/// download is not an OSV archive.
pub fn verify(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut db = Database::default();
    let bad = db.load_zip_reader(std::io::Cursor::new(bytes))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let entries = (0..archive.len())
        .filter(|i| {
            archive
                .by_index(*i)
                .is_ok_and(|e| e.is_file() && super::osv::is_json_name(e.name()))
        })
        .count();
    if entries == 0 {
        bail!("the archive holds no advisories");
    }
    if bad * 100 > entries {
        bail!("{bad} of {entries} entries are not OSV JSON");
    }
    Ok(entries - bad)
}

/// Writes to a temporary file beside `target`, syncs, then renames (atomic on one filesystem).
fn store(dir: &Path, target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        target.file_name().and_then(|n| n.to_str()).unwrap_or("osv"),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot store {}", target.display()));
    }
    Ok(())
}

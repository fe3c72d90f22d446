//! The incremental cache (`vibeward scan --cache [DIR]`): per-file outcomes kept between scans.
//!
//! A file's outcome (its findings as the analyzers made them, before the finish step, and its
//! notes) is stored under its display path, with a hash of its path, kind and content and a
//! *stamp* of its metadata (size, modification time, inode). The whole cache belongs to one *scan
//! key*: the binary (version and the executable's size and modification time), the compiled rules
//! and the settings. A different key starts an empty cache, so any change of rules, configuration
//! or binary invalidates every entry at once. The project passes (lockfiles, migrations,
//! cross-file flows) and the finish step run as always, so the output is byte-identical with and
//! without the cache.
//!
//! A file whose stamp matches the stored one is not even read (issue 22: reading and hashing
//! every file was most of a warm scan); a file whose stamp changed is read and hashed, and served
//! from the cache when its content did not change (a `touch`, a fresh checkout). This is git's
//! index and ruff's cache trade-off: an edit that keeps size, modification time and inode (a tool
//! that restores timestamps after writing) is not seen until the rules, settings or binary change
//! or the cache is deleted. As git does for "racily clean" entries, a stamp is only trusted when
//! the file was last modified well before the scan that stored it ([`RACY`]), so an edit in the
//! same second as a scan is never missed.
//!
//! Not stored: outcomes that depend on more than the file (see [`crate::engine::not_cacheable`]),
//! that timed out or failed. The cache is one file, `scan.cache`, whose first line carries a
//! checksum of the rest; it is rewritten after each scan with the entries that scan used (so it
//! never outgrows the tree). An unreadable, truncated or tampered cache file is ignored with a
//! `notice` and the scan runs cold; writing it is best effort and never fails a scan.
//!
//! The default folder is `.vibeward-cache/` in the working directory, as ruff (`.ruff_cache/`),
//! mypy and `ESLint` keep theirs beside the project: it holds a `.gitignore` of `*` and a
//! `CACHEDIR.TAG`, and discovery never descends into a folder of that name.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::discover::{SkipReason, Skipped};
use crate::engine::FileOutcome;
use crate::finding::Finding;
use crate::source::SourceFile;

/// The folder `--cache` uses when given no DIR.
pub const DEFAULT_DIR: &str = ".vibeward-cache";

/// The cache file inside the folder.
const FILE: &str = "scan.cache";

/// The first word of the cache file and the layout version; a new layout is a new word.
const MAGIC: &str = "vibeward-cache-v2";

/// How long before a scan a file must have been modified for its stamp to be stored: within
/// this window a later edit could keep the same modification time (coarse timestamps).
pub const RACY: std::time::Duration = std::time::Duration::from_secs(2);

/// A file's metadata, which changes whenever its content is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    modified_secs: u64,
    modified_nanos: u32,
    inode: u64,
}

impl Stamp {
    /// The stamp of `path`, if its metadata can be read and it is older than `RACY` before
    /// `now` (a younger file is hashed on every scan until it has aged).
    pub fn of(path: &Path, now: std::time::SystemTime) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok()?;
        if now.duration_since(modified).ok()? < RACY {
            return None;
        }
        let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp {
            size: meta.len(),
            modified_secs: since.as_secs(),
            modified_nanos: since.subsec_nanos(),
            inode,
        })
    }
}

/// What a cached file produced, enough to rebuild its [`FileOutcome`] without the analysis.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// [`file_key`] of the content the outcome belongs to.
    content: String,
    /// The file's metadata when the outcome was stored, if old enough to trust.
    stamp: Option<Stamp>,
    /// The file kind (a stamp match must be of the same kind).
    kind: String,
    findings: Vec<StoredFinding>,
    /// The analysis notes and, last, the loading note (invalid UTF-8), if any.
    notes: Vec<Skipped>,
    parsed: bool,
    bytes: u64,
}

/// A finding with the fields JSON output leaves out (byte ranges, redactions).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredFinding {
    finding: Finding,
    range: (usize, usize),
    redactions: Vec<(usize, usize)>,
}

impl Entry {
    /// The entry for `outcome` of the file with content key `content` (`notes` include the
    /// loading note).
    pub fn of(content: String, stamp: Option<Stamp>, kind: &str, outcome: &FileOutcome) -> Self {
        Entry {
            content,
            stamp,
            kind: kind.to_string(),
            bytes: outcome.bytes,
            findings: outcome
                .findings
                .iter()
                .map(|f| StoredFinding {
                    finding: f.clone(),
                    range: (f.byte_range.start, f.byte_range.end),
                    redactions: f.redactions.iter().map(|r| (r.start, r.end)).collect(),
                })
                .collect(),
            notes: outcome.notes.clone(),
            parsed: outcome.parsed,
        }
    }

    /// The outcome of the file as its analysis produced it when it was stored, without the
    /// file: the finish step reads a file with findings again when it needs its text.
    pub fn outcome(self) -> FileOutcome {
        let findings: Vec<Finding> = self
            .findings
            .into_iter()
            .map(|s| {
                let mut f = s.finding;
                f.byte_range = s.range.0..s.range.1;
                f.redactions = s.redactions.into_iter().map(|(a, b)| a..b).collect();
                f
            })
            .collect();
        FileOutcome {
            bytes: self.bytes,
            file: None,
            findings,
            facts: Vec::new(),
            notes: self.notes,
            analysed: true,
            parsed: self.parsed,
            cacheable: true,
        }
    }
}

/// The cache file's content after its header line.
#[derive(Serialize, Deserialize)]
struct Stored {
    scan_key: String,
    entries: BTreeMap<String, Entry>,
}

/// An open cache: the entries read at the start, and the ones this scan used or made.
pub struct Cache {
    dir: PathBuf,
    scan_key: String,
    known: BTreeMap<String, Entry>,
    used: Mutex<BTreeMap<String, Entry>>,
    hits: AtomicUsize,
    /// Why the stored cache could not be used (a `notice` for the report).
    problem: Option<String>,
    /// When the scan started (for [`RACY`]).
    started: std::time::SystemTime,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The key of one file: display path, kind and content.
pub fn file_key(file: &SourceFile) -> String {
    let mut h = Sha256::new();
    h.update(file.display.as_bytes());
    h.update([0]);
    h.update(file.kind.as_str().as_bytes());
    h.update([0]);
    h.update(file.text.as_bytes());
    hex(&h.finalize()[..16])
}

/// The key of the whole cache: this binary, the rules and the settings (without the ones that
/// cannot change a file's outcome: where the cache is, which paths and how many threads).
pub fn scan_key(rules: &crate::rules::RuleSet, settings: &crate::Settings) -> String {
    let mut h = Sha256::new();
    h.update(MAGIC.as_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
        h.update(meta.len().to_le_bytes());
        if let Ok(since) = meta
            .modified()
            .map(|m| m.duration_since(std::time::UNIX_EPOCH).unwrap_or_default())
        {
            h.update(since.as_nanos().to_le_bytes());
        }
    }
    h.update(format!("{:?}", rules.rules()).as_bytes());
    let mut settings = settings.clone();
    settings.cache = None;
    settings.paths = Vec::new();
    settings.jobs = 0;
    settings.discover.threads = 0;
    // applied after the per-file pass: they change what is reported, not what a file produced
    settings.only_files = None;
    settings.baseline = None;
    settings.fail_on = None;
    h.update(format!("{settings:?}").as_bytes());
    hex(&h.finalize()[..16])
}

impl Cache {
    /// Opens the cache in `dir` for `scan_key`: its entries when the stored key matches, else
    /// none (and, when the file is unreadable or damaged, a problem to report).
    pub fn open(dir: &Path, scan_key: String) -> Cache {
        let (known, problem) = match std::fs::read(dir.join(FILE)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeMap::new(), None),
            Err(e) => (BTreeMap::new(), Some(format!("cannot read it ({e})"))),
            Ok(bytes) => match decode(&bytes) {
                Ok(stored) if stored.scan_key == scan_key => (stored.entries, None),
                // rules, configuration or binary changed: a normal invalidation
                Ok(_) => (BTreeMap::new(), None),
                Err(why) => (BTreeMap::new(), Some(why)),
            },
        };
        Cache {
            dir: dir.to_path_buf(),
            scan_key,
            known,
            used: Mutex::new(BTreeMap::new()),
            hits: AtomicUsize::new(0),
            problem,
            started: std::time::SystemTime::now(),
        }
    }

    /// The stamp of the file at `path` for this scan (see [`Stamp::of`]).
    pub fn stamp(&self, path: &Path) -> Option<Stamp> {
        Stamp::of(path, self.started)
    }

    /// The stored outcome of the file at `display`, if its kind and `stamp` match the stored
    /// ones (and keeps it for the next scan): the file need not be read.
    pub fn get_by_stamp(&self, display: &str, kind: &str, stamp: Option<Stamp>) -> Option<Entry> {
        let entry = self.known.get(display)?;
        if stamp.is_none() || entry.stamp != stamp || entry.kind != kind {
            return None;
        }
        Some(self.hit(display, entry.clone()))
    }

    /// The stored outcome of the file at `display` with content key `content`, if any (and
    /// keeps it for the next scan, under the file's new `stamp`).
    pub fn get_by_content(
        &self,
        display: &str,
        content: &str,
        stamp: Option<Stamp>,
    ) -> Option<Entry> {
        let entry = self.known.get(display)?;
        if entry.content != content {
            return None;
        }
        let mut entry = entry.clone();
        entry.stamp = stamp;
        Some(self.hit(display, entry))
    }

    fn hit(&self, display: &str, entry: Entry) -> Entry {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(display.to_string(), entry.clone());
        entry
    }

    /// Stores the outcome of the file at `display`.
    pub fn put(&self, display: &str, entry: Entry) {
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(display.to_string(), entry);
    }

    /// How many files this scan took from the cache.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many stored outcomes were read at the start.
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// A `notice` when the stored cache was damaged or unreadable and the scan ran cold.
    pub fn note(&self) -> Option<Skipped> {
        self.problem.as_ref().map(|why| Skipped {
            path: self.dir.join(FILE).display().to_string(),
            reason: SkipReason::Notice,
            detail: format!("the cache could not be used ({why}); every file was analysed again"),
        })
    }

    /// Writes the entries this scan used or made (best effort: a read-only or full disk leaves
    /// the old cache, and the error is returned for a warning).
    pub fn save(self) -> Result<(), String> {
        let entries = self
            .used
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let stored = Stored {
            scan_key: self.scan_key,
            entries,
        };
        let body = serde_json::to_vec(&stored).map_err(|e| e.to_string())?;
        let mut out = format!("{MAGIC} {}\n", hex(&Sha256::digest(&body))).into_bytes();
        out.extend_from_slice(&body);
        let dir = &self.dir;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, text) in [
            (".gitignore", "# written by vibeward --cache\n*\n"),
            (
                "CACHEDIR.TAG",
                "Signature: 8a477f597d28d172789f06886806bc55\n# vibeward's scan cache: safe to delete.\n",
            ),
        ] {
            let path = dir.join(name);
            if !path.exists() {
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        // a whole new file, then a rename: a reader never sees half of one
        let tmp = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &out).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(FILE)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: {e}", dir.join(FILE).display())
        })
    }
}

/// Checks the header and checksum, then reads the entries.
fn decode(bytes: &[u8]) -> Result<Stored, String> {
    let newline = memchr::memchr(b'\n', bytes).ok_or("no header line")?;
    let header = std::str::from_utf8(&bytes[..newline]).map_err(|_| "a damaged header")?;
    let body = &bytes[newline + 1..];
    let Some(sum) = header.strip_prefix(MAGIC).map(str::trim) else {
        return Err("written by another version of vibeward, or not a vibeward cache".into());
    };
    if hex(&Sha256::digest(body)) != sum {
        return Err("its checksum does not match: truncated or modified".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("unreadable entries: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_cache_files_are_reported_and_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::open(dir.path(), "k".into());
        assert!(cache.note().is_none() && cache.known() == 0);
        cache.save().expect("save");
        let cache = Cache::open(dir.path(), "k".into());
        assert!(cache.note().is_none());
        let path = dir.path().join(FILE);
        let good = std::fs::read(&path).expect("read");
        for bad in [
            Vec::new(),
            b"garbage".to_vec(),
            good[..good.len() - 3].to_vec(),
            [&good[..good.len() - 2], b"]}"].concat(),
            good.iter().map(|b| b ^ 0x20).collect(),
        ] {
            std::fs::write(&path, &bad).expect("write");
            let cache = Cache::open(dir.path(), "k".into());
            assert!(cache.note().is_some(), "{}", String::from_utf8_lossy(&bad));
            assert_eq!(cache.known(), 0);
        }
        // another key is a silent invalidation
        std::fs::write(&path, &good).expect("write");
        let cache = Cache::open(dir.path(), "other".into());
        assert!(cache.note().is_none() && cache.known() == 0);
    }
}

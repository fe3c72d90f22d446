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
//! Not stored one by one: outcomes that depend on more than the file (see
//! [`crate::engine::not_cacheable`]), that timed out or failed. Those, with the project passes'
//! findings and notes, are stored as a snapshot of the whole scan ([`TreeSnapshot`]): the next
//! scan replays it, without reading or analysing any file, when the discovered files are the
//! same with the same stamps and every other file the analyses read ([`crate::engine::depends_on`]:
//! a `config.toml` above the tree, a `tsconfig.json`, the git index, advisory data) has kept its
//! stamp (or is still absent). Any change is a scan as above, which stores a new snapshot; a
//! scan with a timeout or a failure stores none. The cache is one file, `scan.cache`, whose first line carries a
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
const MAGIC: &str = "vibeward-cache-v3";

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
    /// Whether the file was analysed (not skipped).
    analysed: bool,
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
            findings: outcome.findings.iter().map(StoredFinding::of).collect(),
            notes: outcome.notes.clone(),
            analysed: outcome.analysed,
            parsed: outcome.parsed,
        }
    }

    /// The outcome of the file as its analysis produced it when it was stored, without the
    /// file: the finish step reads a file with findings again when it needs its text.
    pub fn outcome(self) -> FileOutcome {
        let findings: Vec<Finding> = self
            .findings
            .into_iter()
            .map(StoredFinding::finding)
            .collect();
        FileOutcome {
            bytes: self.bytes,
            file: None,
            findings,
            facts: Vec::new(),
            notes: self.notes,
            analysed: self.analysed,
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
    /// The whole last scan, replayed when nothing it read has changed.
    tree: Option<TreeSnapshot>,
}

/// What a whole scan produced that the per-file entries do not hold: the outcomes of the files
/// that depend on more than themselves (entry points, lockfiles, cross-file flows) and the
/// project passes' findings and notes. Valid while every discovered file keeps its stamp and
/// every other file the analyses read ([`crate::engine::depends_on`]) keeps its own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TreeSnapshot {
    /// [`Cache::fingerprint`] of the discovered files.
    fingerprint: String,
    /// The other files read, with their stamps (`None`: absent).
    outside: Vec<(std::path::PathBuf, Option<Stamp>)>,
    /// Outcomes of the files the per-file entries do not hold.
    outcomes: BTreeMap<String, Entry>,
    /// The project passes' findings and notes.
    findings: Vec<StoredFinding>,
    notes: Vec<Skipped>,
}

/// The stamp of a file an analysis read: `Ok(None)` when it does not exist, `Err` when it
/// changed too recently to be trusted (or cannot be examined).
fn outside_stamp(path: &Path, now: std::time::SystemTime) -> Result<Option<Stamp>, ()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => Err(()),
        Ok(_) => Stamp::of(path, now).map(Some).ok_or(()),
    }
}

impl StoredFinding {
    fn of(f: &Finding) -> Self {
        StoredFinding {
            finding: f.clone(),
            range: (f.byte_range.start, f.byte_range.end),
            redactions: f.redactions.iter().map(|r| (r.start, r.end)).collect(),
        }
    }

    fn finding(self) -> Finding {
        let mut f = self.finding;
        f.byte_range = self.range.0..self.range.1;
        f.redactions = self.redactions.into_iter().map(|(a, b)| a..b).collect();
        f
    }
}

/// An open cache: the entries read at the start, and the ones this scan used or made.
pub struct Cache {
    dir: PathBuf,
    scan_key: String,
    known: BTreeMap<String, Entry>,
    used: Mutex<BTreeMap<String, Entry>>,
    /// The last scan's snapshot, as read at the start.
    tree: Option<TreeSnapshot>,
    /// The snapshot to store for the next scan.
    next_tree: Mutex<Option<TreeSnapshot>>,
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
        let (known, tree, problem) = match std::fs::read(dir.join(FILE)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeMap::new(), None, None),
            Err(e) => (BTreeMap::new(), None, Some(format!("cannot read it ({e})"))),
            Ok(bytes) => match decode(&bytes) {
                Ok(stored) if stored.scan_key == scan_key => (stored.entries, stored.tree, None),
                // rules, configuration or binary changed: a normal invalidation
                Ok(_) => (BTreeMap::new(), None, None),
                Err(why) => (BTreeMap::new(), None, Some(why)),
            },
        };
        Cache {
            dir: dir.to_path_buf(),
            scan_key,
            known,
            used: Mutex::new(BTreeMap::new()),
            tree,
            next_tree: Mutex::new(None),
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

    /// The fingerprint of a whole tree: the scanned `roots` and every discovered file's path,
    /// kind and stamp. `None` when a file's stamp cannot be trusted (modified within [`RACY`] of
    /// the scan, or unreadable): such a tree is never replayed whole.
    pub fn fingerprint(
        &self,
        roots: &[std::path::PathBuf],
        candidates: &[crate::discover::Candidate],
    ) -> Option<String> {
        let mut h = Sha256::new();
        for root in roots {
            h.update(root.as_os_str().as_encoded_bytes());
            h.update([0]);
        }
        for c in candidates {
            let stamp = self.stamp(&c.path)?;
            h.update(c.display.as_bytes());
            h.update([0]);
            h.update(c.kind.as_str().as_bytes());
            h.update([0]);
            h.update(serde_json::to_vec(&stamp).ok()?);
        }
        Some(hex(&h.finalize()[..16]))
    }

    /// The last scan, when its tree has the same `fingerprint` and no other file its analyses
    /// read has changed: every file's outcome (in `candidates` order) and the project passes'
    /// findings and notes. Every file then counts as taken from the cache.
    pub fn replay(
        &self,
        fingerprint: &str,
        candidates: &[&crate::discover::Candidate],
    ) -> Option<(Vec<FileOutcome>, Vec<Finding>, Vec<Skipped>)> {
        let tree = self
            .tree
            .as_ref()
            .filter(|t| t.fingerprint == fingerprint)?;
        let unchanged = tree
            .outside
            .iter()
            .all(|(path, stamp)| outside_stamp(path, self.started).is_ok_and(|s| s == *stamp));
        if !unchanged {
            return None;
        }
        let mut entries = Vec::with_capacity(candidates.len());
        for c in candidates {
            let entry = match tree.outcomes.get(&c.display) {
                Some(entry) => entry,
                None => self
                    .known
                    .get(&c.display)
                    .filter(|e| e.stamp.is_some() && e.kind == c.kind.as_str())?,
            };
            entries.push(entry);
        }
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        for c in candidates {
            if let Some(entry) = self.known.get(&c.display)
                && !tree.outcomes.contains_key(&c.display)
            {
                used.insert(c.display.clone(), entry.clone());
            }
        }
        self.hits.fetch_add(candidates.len(), Ordering::Relaxed);
        *self
            .next_tree
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tree.clone());
        let outcomes = entries.into_iter().cloned().map(Entry::outcome).collect();
        let findings = tree
            .findings
            .iter()
            .cloned()
            .map(StoredFinding::finding)
            .collect();
        Some((outcomes, findings, tree.notes.clone()))
    }

    /// Keeps this scan whole for the next one (see [`Cache::replay`]): the tree's
    /// `fingerprint`, the outcomes of the files the per-file entries do not hold, and the
    /// project passes' findings and notes. Kept only when every other file the analyses read
    /// can be stamped.
    pub fn keep_tree(
        &self,
        fingerprint: String,
        outcomes: BTreeMap<String, Entry>,
        findings: &[Finding],
        notes: &[Skipped],
    ) {
        let mut outside = Vec::new();
        for path in crate::engine::outside_reads() {
            let Ok(stamp) = outside_stamp(&path, self.started) else {
                return;
            };
            outside.push((path, stamp));
        }
        *self
            .next_tree
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(TreeSnapshot {
            fingerprint,
            outside,
            outcomes,
            findings: findings.iter().map(StoredFinding::of).collect(),
            notes: notes.to_vec(),
        });
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
            tree: self
                .next_tree
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
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

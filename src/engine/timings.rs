//! Where a scan's time goes, for profiling: `VIBEWARD_TIMINGS=1 vibeward scan ...` prints, after
//! the report, the time of each pipeline phase (wall clock) and of each analyzer over all files
//! (summed over the worker threads: run with `-j 1` to compare them with the phases), and, for
//! `--cache`, how many files' outcomes could not be stored and where the analysis said so
//! (`uncacheable: src/authz/mod.rs:250`: those files are analysed again on every warm scan).
//!
//! Off by default, and then free: the engine checks one boolean per file. The figures go to
//! standard error only, never into a report, so output stays byte-identical.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The environment variable that turns timings on.
pub const ENV: &str = "VIBEWARD_TIMINGS";

/// Accumulated durations by label, when enabled.
#[derive(Debug, Default)]
pub struct Timings {
    totals: Option<Mutex<BTreeMap<String, (Duration, usize)>>>,
}

impl Timings {
    /// Enabled when [`ENV`] is set to anything but `0` or the empty string.
    pub fn from_env() -> Self {
        let enabled = std::env::var(ENV).is_ok_and(|v| !v.is_empty() && v != "0");
        Timings {
            totals: enabled.then(Mutex::default),
        }
    }

    /// Whether timings are collected.
    pub fn is_enabled(&self) -> bool {
        self.totals.is_some()
    }

    /// Adds `elapsed` under `label`.
    pub fn add(&self, label: &str, elapsed: Duration) {
        if let Some(totals) = &self.totals {
            let mut totals = totals.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = totals.entry(label.to_string()).or_default();
            slot.0 += elapsed;
            slot.1 += 1;
        }
    }

    /// Runs `work`, adding its time under `label` when enabled.
    pub fn time<T>(&self, label: &str, work: impl FnOnce() -> T) -> T {
        if !self.is_enabled() {
            return work();
        }
        let started = Instant::now();
        let out = work();
        self.add(label, started.elapsed());
        out
    }

    /// The table, one `label  seconds  count` line each, sorted by label; empty when disabled.
    pub fn render(&self) -> String {
        let Some(totals) = &self.totals else {
            return String::new();
        };
        let totals = totals.lock().unwrap_or_else(PoisonError::into_inner);
        let width = totals.keys().map(String::len).max().unwrap_or(0);
        let mut out = String::new();
        for (label, (d, n)) in totals.iter() {
            let _ = writeln!(out, "{label:width$}  {:8.3}s  {n:>7}", d.as_secs_f64());
        }
        out
    }
}

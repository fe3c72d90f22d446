//! The progress bar of `vibeward scan`: on standard error, only when it is a terminal, not in CI,
//! not with `--quiet`, and only once a scan has taken more than a moment (short scans and pipes
//! never see it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Scans shorter than this show no bar.
const DELAY: Duration = Duration::from_millis(400);

/// A bar drawn on standard error after [`DELAY`].
pub struct Bar {
    inner: ProgressBar,
    started: Instant,
    shown: AtomicBool,
}

impl Bar {
    /// A bar, or `None` where it must not be drawn (not a terminal, CI, quiet).
    pub fn for_terminal(quiet: bool) -> Option<Bar> {
        use std::io::IsTerminal;
        let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        if quiet || in_ci || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} scanning {pos}/{len} files {wide_bar} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(Bar {
            inner: bar,
            started: Instant::now(),
            shown: AtomicBool::new(false),
        })
    }
}

impl vibeward::Progress for Bar {
    fn start(&self, files: u64) {
        self.inner.set_length(files);
    }

    fn advance(&self) {
        self.inner.inc(1);
        if !self.shown.load(Ordering::Relaxed)
            && self.started.elapsed() > DELAY
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.inner.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn finish(&self) {
        self.inner.finish_and_clear();
    }
}

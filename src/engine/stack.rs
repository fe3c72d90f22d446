//! How deep a recursive walk may go: a stack budget per file analysis.
//!
//! Syntax trees of generated or hostile files nest thousands of levels deep (`a = a = a = ...`,
//! `((((...))))`), and every analyzer that recurses over a tree would overflow its thread's stack
//! on them, which aborts the whole process (a panic can be caught, a stack overflow cannot).
//! Counting levels alone does not bound the stack: a level costs a few hundred bytes in a release
//! build and several kilobytes in a debug build, and differs per walker.
//!
//! So the engine opens one [`budget`] per file analysis (and per project pass), measured from
//! where the analysis starts, and every recursive walk asks [`exhausted`] before it descends. A
//! walk past the budget stops descending (it treats the deeper code as absent) and the file gets
//! a `too-deep` note; the rest of the file and of the scan go on. [`BUDGET`] is half of the 2 MiB
//! stack Rust gives a spawned thread, so a library caller's own thread is safe too; the engine's
//! workers have far more (see `WORKER_STACK` in `lib.rs`) for the libraries that recurse on their
//! own (with their own limits: serde's JSON and YAML readers, the TOML reader).
//!
//! The measure is the distance between two stack addresses (no unsafe code, no platform call):
//! the same binary cuts the same file at the same place on every run and thread.

use std::cell::Cell;

/// Stack bytes one file analysis may use below where it started.
pub const BUDGET: usize = 1 << 20;

thread_local! {
    /// Where the open budget started (0: none open on this thread).
    static BASE: Cell<usize> = const { Cell::new(0) };
    /// Whether a walk stopped at the budget since it opened.
    static CUT: Cell<bool> = const { Cell::new(false) };
}

/// An address in the current stack frame.
#[inline(never)]
fn position() -> usize {
    let probe = 0u8;
    std::ptr::from_ref(std::hint::black_box(&probe)).addr()
}

/// Closes the budget it opened, also when the analysis panics.
struct Opened;

impl Drop for Opened {
    fn drop(&mut self) {
        BASE.with(|b| b.set(0));
    }
}

/// Runs `f` under a fresh budget measured from here; returns its result and whether a walk
/// stopped at the budget. Inside an open budget, `f` runs under that one (and reports no cut:
/// the outermost caller does).
pub fn budget<R>(f: impl FnOnce() -> R) -> (R, bool) {
    if BASE.with(Cell::get) != 0 {
        return (f(), false);
    }
    BASE.with(|b| b.set(position()));
    CUT.with(|c| c.set(false));
    let opened = Opened;
    let result = f();
    drop(opened);
    (result, CUT.with(|c| c.replace(false)))
}

/// Whether the stack used since the open budget started exceeds [`BUDGET`]: the caller must not
/// descend further. Without an open budget (a unit test calling a walker directly), never.
pub fn exhausted() -> bool {
    let base = BASE.with(Cell::get);
    if base == 0 {
        return false;
    }
    let deep = base.abs_diff(position()) > BUDGET;
    if deep {
        CUT.with(|c| c.set(true));
    }
    deep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descend(levels: usize) -> usize {
        if levels == 0 || exhausted() {
            return 0;
        }
        // a frame of about 1 KB, like a walker's in a debug build
        let pad = std::hint::black_box([0u8; 1024]);
        1 + descend(levels - 1) + usize::from(pad[0])
    }

    #[test]
    fn a_deep_walk_stops_at_the_budget_and_says_so() {
        let (levels, cut) = budget(|| descend(1_000_000));
        assert!(cut);
        assert!(levels > 100 && levels < 1_000_000, "{levels}");
        let (levels, cut) = budget(|| descend(10));
        assert!(!cut);
        assert_eq!(levels, 10);
    }

    #[test]
    fn no_budget_no_limit_and_nested_budgets_share_the_outer_one() {
        assert!(!exhausted());
        let ((inner, inner_cut), cut) = budget(|| budget(|| descend(1_000_000)));
        assert!(!inner_cut && cut && inner < 1_000_000);
        assert_eq!(BASE.with(Cell::get), 0);
    }
}

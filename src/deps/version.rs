//! Version ordering and npm range checks.
//!
//! npm and crates.io both order versions by `SemVer` 2.0 (prereleases sort before their release),
//! so one parser serves both; npm *ranges* differ from Cargo's (a bare `1.2.3` is exact in npm and
//! `^1.2.3` in Cargo), so [`NpmRange`] implements npm's grammar: `||`, hyphen ranges, `^`, `~`,
//! comparators and `x`/`*` partials.

use semver::Version;

/// Parses a version as npm and Cargo write it, tolerating a leading `v`/`=`.
pub fn parse(text: &str) -> Option<Version> {
    let t = text.trim().trim_start_matches(['v', '=']);
    Version::parse(t).ok()
}

/// A parsed npm range: a union of comparator sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmRange {
    sets: Vec<Vec<(Op, Version)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

/// A version with `None` for wildcard parts (`1.x`, `1`, `*`).
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: semver::Prerelease,
}

fn partial(text: &str) -> Option<Partial> {
    let t = text.trim().trim_start_matches(['v', '=']);
    let t = t.split('+').next().unwrap_or(t);
    let (core, pre) = match t.split_once('-') {
        Some((c, p)) => (c, semver::Prerelease::new(p).ok()?),
        None => (t, semver::Prerelease::EMPTY),
    };
    let mut parts = core.split('.');
    let mut next = || -> Option<Option<u64>> {
        match parts.next() {
            None | Some("x" | "X" | "*") => Some(None),
            // `1.` or `.`: not a version (a bare `.` is a local path)
            Some("") => None,
            Some(n) => n.parse().ok().map(Some),
        }
    };
    let (major, minor, patch) = (next()?, next()?, next()?);
    if parts.next().is_some() {
        return None;
    }
    // `1.x.3` is not a version npm accepts
    if (major.is_none() && minor.is_some()) || (minor.is_none() && patch.is_some()) {
        return None;
    }
    Some(Partial {
        major,
        minor,
        patch,
        pre,
    })
}

fn ver(major: u64, minor: u64, patch: u64) -> Version {
    Version::new(major, minor, patch)
}

fn full(p: &Partial) -> Version {
    let mut v = ver(
        p.major.unwrap_or(0),
        p.minor.unwrap_or(0),
        p.patch.unwrap_or(0),
    );
    v.pre = p.pre.clone();
    v
}

/// The exclusive upper bound of a partial (`1.2` -> `1.3.0-0`), `None` when unbounded.
fn partial_upper(p: &Partial) -> Option<Version> {
    let lower_pre = |mut v: Version| {
        v.pre = semver::Prerelease::new("0").unwrap_or_default();
        v
    };
    match (p.major, p.minor, p.patch) {
        (None, _, _) => None,
        (Some(m), None, _) => Some(lower_pre(ver(m + 1, 0, 0))),
        (Some(m), Some(n), None) => Some(lower_pre(ver(m, n + 1, 0))),
        (Some(_), Some(_), Some(_)) => Some(full(p)),
    }
}

impl NpmRange {
    /// Parses an npm range; `None` for anything else (tags, URLs, `workspace:`, aliases).
    pub fn parse(text: &str) -> Option<NpmRange> {
        let mut sets = Vec::new();
        for alt in text.split("||") {
            sets.push(comparator_set(alt.trim())?);
        }
        Some(NpmRange { sets })
    }

    /// Whether `v` satisfies the range. Prereleases are compared by plain `SemVer` order (npm's
    /// stricter prerelease rule would only add reports, and this check must not over-report).
    pub fn satisfies(&self, v: &Version) -> bool {
        self.sets.iter().any(|set| {
            set.iter().all(|(op, bound)| match op {
                Op::Ge => v >= bound,
                Op::Gt => v > bound,
                Op::Le => v <= bound,
                Op::Lt => v < bound,
                Op::Eq => v == bound,
            })
        })
    }

    /// Whether some alternative has no upper bound (`*`, `>=1.0.0`, `x`).
    pub fn is_unbounded(&self) -> bool {
        self.sets.iter().any(|set| {
            !set.iter()
                .any(|(op, _)| matches!(op, Op::Le | Op::Lt | Op::Eq))
        })
    }
}

fn comparator_set(text: &str) -> Option<Vec<(Op, Version)>> {
    let mut out = Vec::new();
    if text.is_empty() {
        return Some(out);
    }
    if let Some((lo, hi)) = text.split_once(" - ") {
        let lo = partial(lo)?;
        let hi = partial(hi)?;
        out.push((Op::Ge, full(&lo)));
        if let Some(upper) = partial_upper(&hi) {
            let op = if hi.patch.is_some() { Op::Le } else { Op::Lt };
            out.push((op, upper));
        }
        return Some(out);
    }
    // `>= 1.2.3` (operator and version apart) is valid npm
    let mut tokens: Vec<String> = Vec::new();
    for tok in text.split_whitespace() {
        match tokens.last_mut() {
            Some(last) if last.chars().all(|c| "<>=~^".contains(c)) => last.push_str(tok),
            _ => tokens.push(tok.to_string()),
        }
    }
    for tok in &tokens {
        comparator(tok, &mut out)?;
    }
    Some(out)
}

fn comparator(tok: &str, out: &mut Vec<(Op, Version)>) -> Option<()> {
    let op_len = tok
        .find(|c: char| !"<>=~^".contains(c))
        .unwrap_or(tok.len());
    let (op, rest) = tok.split_at(op_len);
    let p = partial(rest)?;
    let lo = full(&p);
    match op {
        "" | "=" => {
            if p.major.is_some() {
                out.push((Op::Ge, lo));
            }
            if let Some(upper) = partial_upper(&p) {
                let op = if p.patch.is_some() { Op::Eq } else { Op::Lt };
                if op == Op::Eq {
                    out.pop();
                }
                out.push((op, upper));
            }
        }
        "^" => {
            out.push((Op::Ge, lo));
            let upper = match (p.major, p.minor, p.patch) {
                (Some(m), _, _) if m > 0 => Some(ver(m + 1, 0, 0)),
                (Some(0), None, _) => Some(ver(1, 0, 0)),
                (Some(0), Some(n), _) if n > 0 => Some(ver(0, n + 1, 0)),
                (Some(0), Some(0), None) => Some(ver(0, 1, 0)),
                (Some(_), Some(n), Some(x)) => Some(ver(0, n, x + 1)),
                _ => None,
            };
            if let Some(mut u) = upper {
                u.pre = semver::Prerelease::new("0").unwrap_or_default();
                out.push((Op::Lt, u));
            }
        }
        "~" | "~>" => {
            out.push((Op::Ge, lo));
            let upper = match (p.major, p.minor) {
                (None, _) => None,
                (Some(m), None) => Some(ver(m + 1, 0, 0)),
                (Some(m), Some(n)) => Some(ver(m, n + 1, 0)),
            };
            if let Some(mut u) = upper {
                u.pre = semver::Prerelease::new("0").unwrap_or_default();
                out.push((Op::Lt, u));
            }
        }
        ">=" => out.push((Op::Ge, lo)),
        ">" => match partial_upper(&p) {
            Some(u) if p.patch.is_none() => out.push((Op::Ge, u)),
            Some(_) => out.push((Op::Gt, lo)),
            // `>*` matches nothing; treat as "any" for a lenient check
            None => {}
        },
        "<" => {
            if p.major.is_some() {
                out.push((Op::Lt, lo));
            }
        }
        "<=" => match partial_upper(&p) {
            Some(u) if p.patch.is_none() => out.push((Op::Lt, u)),
            Some(_) => out.push((Op::Le, lo)),
            None => {}
        },
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sat(range: &str, v: &str) -> bool {
        NpmRange::parse(range)
            .unwrap()
            .satisfies(&parse(v).unwrap())
    }

    #[test]
    fn npm_ranges_follow_npm_semantics() {
        assert!(sat("^4.17.0", "4.17.21"));
        assert!(!sat("^4.17.0", "5.0.0"));
        assert!(sat("^0.2.3", "0.2.9"));
        assert!(!sat("^0.2.3", "0.3.0"));
        assert!(sat("~1.2.3", "1.2.9"));
        assert!(!sat("~1.2.3", "1.3.0"));
        assert!(sat("1.2.3", "1.2.3"));
        assert!(!sat("1.2.3", "1.2.4"));
        assert!(sat("1.x", "1.9.0"));
        assert!(sat("*", "9.0.0"));
        assert!(sat("", "9.0.0"));
        assert!(sat(">=1.0.0 <2", "1.5.0"));
        assert!(!sat(">=1.0.0 <2", "2.0.0"));
        assert!(sat("1.0.0 - 2.0.0", "2.0.0"));
        assert!(sat("^1 || ^2", "2.1.0"));
        assert!(sat(">= 2.1.2 < 3", "2.2.0"));
        assert!(NpmRange::parse("latest").is_none());
        assert!(NpmRange::parse(".").is_none());
        assert!(NpmRange::parse(">=1.0.0").unwrap().is_unbounded());
        assert!(!NpmRange::parse("^1.0.0").unwrap().is_unbounded());
        assert!(!NpmRange::parse("1.2.3").unwrap().is_unbounded());
    }
}

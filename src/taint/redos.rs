//! Regular expressions that backtrack catastrophically: a group repeated without bound whose body
//! can match the same text in more than one way (`(a+)+`, `(\w+\s?)*`, `(.*a)+`,
//! `(([a-z])+.)+`). A request value tested against one can hang the event loop (`ReDoS`).
//!
//! A small structural check, not a full ambiguity analysis: it reports a repeated group holding
//! an item of variable length when every other item of that alternative is optional or can match
//! the same characters. `(\w+\.)+` (a separator the item cannot match) and `(\d{3})+` (fixed
//! length) stay quiet; overlapping alternatives (`(a|ab)*`) are not looked for.

/// One parsed item: its source text, the atom's source text, and its repetition bounds.
#[derive(Debug)]
struct Item<'a> {
    atom: &'a str,
    /// Alternatives of a group atom; empty for a single character, class or escape.
    group: Vec<Vec<Item<'a>>>,
    min: u32,
    /// `None`: unbounded.
    max: Option<u32>,
    /// Anchors and lookarounds match no characters.
    zero_width: bool,
}

impl Item<'_> {
    fn variable(&self) -> bool {
        self.max != Some(self.min)
    }

    fn optional(&self) -> bool {
        self.min == 0 || self.zero_width
    }

    /// Matches most characters: `.`, `\S`, `\W`, `\D`, a negated class.
    fn broad(&self) -> bool {
        matches!(self.atom, "." | "\\S" | "\\W" | "\\D") || self.atom.starts_with("[^")
    }
}

/// Whether `pattern` (the text between the slashes) backtracks catastrophically.
pub fn catastrophic(pattern: &str) -> bool {
    let mut pos = 0;
    let alternatives = parse(pattern.as_bytes(), pattern, &mut pos, 0);
    alternatives.iter().any(|alt| alt.iter().any(nested))
}

fn nested(item: &Item<'_>) -> bool {
    if item.group.is_empty() {
        return false;
    }
    if item.max.is_none() && item.group.iter().any(|alt| ambiguous(alt)) {
        return true;
    }
    item.group.iter().any(|alt| alt.iter().any(nested))
}

/// One alternative of a repeated group: a variable-length item that every other item can follow
/// or overlap, so one input splits across iterations in exponentially many ways.
fn ambiguous(alt: &[Item<'_>]) -> bool {
    alt.iter().enumerate().any(|(i, rep)| {
        !rep.zero_width
            && rep.variable()
            && alt
                .iter()
                .enumerate()
                .all(|(j, other)| i == j || overlaps(rep, other))
    })
}

fn overlaps(rep: &Item<'_>, other: &Item<'_>) -> bool {
    if other.optional() || other.broad() || rep.broad() || other.atom == rep.atom {
        return true;
    }
    // `[a-z.]+` followed by `\.` or `.`-free literal the class holds
    let literal = other.atom.strip_prefix('\\').unwrap_or(other.atom);
    let mut chars = literal.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return false;
    };
    rep.atom.starts_with('[') && !c.is_alphanumeric() && class_holds(rep.atom, c)
}

/// Whether the class `[...]` names `c` itself (not as the dash of a range such as `a-z`).
fn class_holds(class: &str, c: char) -> bool {
    let inner: Vec<char> = class
        .trim_start_matches('[')
        .trim_end_matches(']')
        .chars()
        .collect();
    let mut i = 0;
    while i < inner.len() {
        let (ch, next) = if inner[i] == '\\' && i + 1 < inner.len() {
            (inner[i + 1], i + 2)
        } else {
            (inner[i], i + 1)
        };
        if inner.get(next) == Some(&'-') && next + 1 < inner.len() {
            i = next + 2; // a range: `a-z`
            continue;
        }
        if ch == c {
            return true;
        }
        i = next;
    }
    false
}

fn parse<'a>(bytes: &[u8], text: &'a str, pos: &mut usize, depth: usize) -> Vec<Vec<Item<'a>>> {
    let mut alternatives = vec![Vec::new()];
    while *pos < bytes.len() {
        let start = *pos;
        let (group, zero_width) = match bytes[start] {
            b')' if depth > 0 => {
                *pos += 1;
                return alternatives;
            }
            b'|' => {
                *pos += 1;
                alternatives.push(Vec::new());
                continue;
            }
            b'\\' => {
                *pos = (start + 2).min(bytes.len());
                let b = bytes.get(start + 1).copied().unwrap_or(b'\\');
                (Vec::new(), matches!(b, b'b' | b'B'))
            }
            b'[' => {
                *pos = start + 1;
                if bytes.get(*pos) == Some(&b'^') {
                    *pos += 1;
                }
                if bytes.get(*pos) == Some(&b']') {
                    *pos += 1;
                }
                while *pos < bytes.len() && bytes[*pos] != b']' {
                    *pos += if bytes[*pos] == b'\\' { 2 } else { 1 };
                }
                *pos = (*pos + 1).min(bytes.len());
                (Vec::new(), false)
            }
            b'(' => {
                *pos = start + 1;
                let mut look = false;
                if bytes.get(*pos) == Some(&b'?') {
                    *pos += 1;
                    match bytes.get(*pos) {
                        Some(b'=' | b'!') => {
                            look = true;
                            *pos += 1;
                        }
                        Some(b'<') if matches!(bytes.get(*pos + 1), Some(b'=' | b'!')) => {
                            look = true;
                            *pos += 2;
                        }
                        Some(b'<') => {
                            while *pos < bytes.len() && bytes[*pos] != b'>' {
                                *pos += 1;
                            }
                            *pos += 1;
                        }
                        _ => *pos += 1, // `?:`
                    }
                }
                if depth > 32 {
                    return alternatives;
                }
                (parse(bytes, text, pos, depth + 1), look)
            }
            b'^' | b'$' => {
                *pos = start + 1;
                (Vec::new(), true)
            }
            _ => {
                // one character (UTF-8 aware)
                let len = text[start..].chars().next().map_or(1, char::len_utf8);
                *pos = start + len;
                (Vec::new(), false)
            }
        };
        let atom = text.get(start..*pos).unwrap_or("");
        let (min, max) = quantifier(bytes, pos);
        if let Some(alt) = alternatives.last_mut() {
            alt.push(Item {
                atom,
                group,
                min,
                max,
                zero_width,
            });
        }
    }
    alternatives
}

/// Reads a quantifier at `pos` (and a lazy/possessive suffix); `(1, Some(1))` when there is none.
fn quantifier(bytes: &[u8], pos: &mut usize) -> (u32, Option<u32>) {
    let bounds = match bytes.get(*pos) {
        Some(b'*') => {
            *pos += 1;
            (0, None)
        }
        Some(b'+') => {
            *pos += 1;
            (1, None)
        }
        Some(b'?') => {
            *pos += 1;
            (0, Some(1))
        }
        Some(b'{') => {
            let rest = &bytes[*pos + 1..];
            let Some(close) = rest.iter().position(|&b| b == b'}') else {
                return (1, Some(1));
            };
            let inner = std::str::from_utf8(&rest[..close]).unwrap_or("");
            let number = |s: &str| s.trim().parse::<u32>().ok();
            let bounds = match inner.split_once(',') {
                None => number(inner).map(|n| (n, Some(n))),
                Some((lo, "")) => number(lo).map(|n| (n, None)),
                Some((lo, hi)) => number(lo).zip(number(hi)).map(|(l, h)| (l, Some(h))),
            };
            let Some(bounds) = bounds else {
                return (1, Some(1));
            };
            *pos += close + 2;
            bounds
        }
        _ => return (1, Some(1)),
    };
    if matches!(bytes.get(*pos), Some(b'?' | b'+')) {
        *pos += 1;
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::catastrophic;

    #[test]
    fn nested_quantifiers_backtrack() {
        for p in [
            "([a-z]+)+$",
            "^(([a-z])+.)+[A-Z]([a-z])+$",
            "([0-9]+)+\\#",
            "^(\\w+\\s?)*$",
            "(.*a)+",
            "^([a-zA-Z0-9])+(([a-zA-Z0-9]{2,4})+)$",
            "^([a-z.]+\\.)+[a-z]+$",
            "(?:a+)*b",
        ] {
            assert!(catastrophic(p), "{p}");
        }
    }

    #[test]
    fn linear_patterns_stay_quiet() {
        for p in [
            "^[a-z]+$",
            "([0-9]+)\\#",
            "^(\\w+\\.)+\\w+$",
            "(\\d{3})+",
            "d(b+)d",
            "(?:\\d{3}|\\(\\d{3}\\))([-\\/\\.])\\d{3}\\1\\d{4}",
            "^[\\S]+@[\\S]+\\.[\\S]+$",
            "^(?=.*\\d)(?=.*[a-z])(?=.*[A-Z]).{8,}$",
            "^.{1,20}$",
            "[.*+?^${}()|[\\]\\\\]",
            "^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$",
        ] {
            assert!(!catastrophic(p), "{p}");
        }
    }
}

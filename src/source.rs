//! A loaded file: its text, kind and line index, and the content checks done on first read.
//!
//! Every file is read once, here. Positions are byte offsets internally; [`SourceFile::position`]
//! turns them into 1-based lines and 1-based columns counted in Unicode code points (SARIF
//! `columnKind: unicodeCodePoints`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::discover::{Candidate, FileKind, SkipReason, Skipped};

/// A 1-based line and column (column in Unicode code points).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in code points.
    pub column: usize,
}

/// A file's text with what the engine needs to locate things in it.
#[derive(Debug)]
pub struct SourceFile {
    /// Display path (relative, `/`-separated).
    pub display: String,
    /// What kind of file it is.
    pub kind: FileKind,
    /// The text (lossily decoded if it was not UTF-8).
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps text already in memory (tests, examples, stdin).
    pub fn new(display: impl Into<String>, kind: FileKind, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(memchr_newlines(text.as_bytes()).map(|i| i + 1))
            .collect();
        SourceFile {
            display: display.into(),
            kind,
            text,
            line_starts,
        }
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 1-based position of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_idx];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Position {
            line: line_idx + 1,
            column,
        }
    }

    /// Byte range of a 1-based line, without its line terminator.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let idx = line.saturating_sub(1).min(self.line_starts.len() - 1);
        let start = self.line_starts[idx];
        let mut end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |&e| e);
        let bytes = self.text.as_bytes();
        while end > start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        start..end
    }

    /// The text of a 1-based line, without its terminator.
    pub fn line(&self, line: usize) -> &str {
        &self.text[self.line_range(line)]
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts[line.saturating_sub(1).min(self.line_starts.len() - 1)]
    }
}

/// Where a file's lines start and where its multi-byte characters sit: enough to turn byte
/// offsets into [`Position`]s exactly as [`SourceFile::position`] does, without the text. Project
/// passes that work from facts keep this instead of the file (a few bytes a line).
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    /// Start offset and extra bytes (UTF-8 length minus one) of every multi-byte character.
    wide: Vec<(usize, usize)>,
    len: usize,
}

impl LineIndex {
    /// The index of `file`.
    pub fn of(file: &SourceFile) -> Self {
        let wide = if file.text.is_ascii() {
            Vec::new()
        } else {
            file.text
                .char_indices()
                .filter(|(_, c)| c.len_utf8() > 1)
                .map(|(i, c)| (i, c.len_utf8() - 1))
                .collect()
        };
        LineIndex {
            line_starts: file.line_starts.clone(),
            wide,
            len: file.text.len(),
        }
    }

    /// The 1-based position of a byte offset (clamped to the text), as [`SourceFile::position`].
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.len);
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let from = self.wide.partition_point(|(i, _)| *i < start);
        let to = self.wide.partition_point(|(i, _)| *i < offset);
        let extra: usize = self.wide[from..to].iter().map(|(_, e)| e).sum();
        Position {
            line: line_idx + 1,
            column: offset - start - extra + 1,
        }
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', bytes)
}

/// The largest char boundary of `text` at or before byte `i` (clamped to the text).
pub fn floor_char(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The characters of `s` (with their byte index) outside string literals (`'`, `"`, `` ` ``):
/// the quotes themselves and what they enclose are left out. No escapes are read: enough for the
/// short code fragments the text-level checks cut out.
pub fn outside_quotes(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    s.char_indices().filter(move |&(_, c)| {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            false
        } else if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
            false
        } else {
            true
        }
    })
}

/// The byte index in `s` of the `close` matching the `open` that `s` starts with, skipping
/// brackets inside string literals (`'`, `"`, `` ` ``); `None` when it never closes.
pub fn closing_bracket(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in outside_quotes(s) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The smallest char boundary of `text` at or after byte `i` (clamped to the text).
pub fn ceil_char(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Outcome of reading a candidate.
pub enum Loaded {
    /// Ready to analyse; `degraded` notes a problem that did not stop the analysis.
    File(SourceFile, Option<Skipped>),
    /// Not analysed.
    Skip(Skipped),
}

/// Reads a candidate once and applies the content checks: binary, generated, minified, UTF-8.
pub fn load(candidate: &Candidate) -> Loaded {
    let skip = |reason, detail: String| {
        Loaded::Skip(Skipped {
            path: candidate.display.clone(),
            reason,
            detail,
        })
    };
    let bytes = match std::fs::read(&candidate.path) {
        Ok(b) => b,
        Err(e) => return skip(SkipReason::Unreadable, e.to_string()),
    };
    load_bytes(&candidate.display, &candidate.path, candidate.kind, bytes)
        .unwrap_or_else(|(reason, detail)| skip(reason, detail))
}

/// The content checks on bytes already read. `Err` carries the skip reason and detail.
pub fn load_bytes(
    display: &str,
    path: &Path,
    kind: FileKind,
    bytes: Vec<u8>,
) -> Result<Loaded, (SkipReason, String)> {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        // a committed key store is a finding in itself (issue 17): analysed as an empty file
        if is_key_store(display) {
            return Ok(Loaded::File(
                SourceFile::new(display, kind, String::new()),
                None,
            ));
        }
        return Err((SkipReason::Binary, "contains NUL bytes".into()));
    }
    if kind.is_code() || kind == FileKind::Dts {
        if is_generated(head) {
            return Err((
                SkipReason::Generated,
                "marked @generated / DO NOT EDIT".into(),
            ));
        }
        if let Some(detail) = minified(path, &bytes) {
            return Err((SkipReason::Minified, detail));
        }
    }
    let (text, degraded) = match String::from_utf8(bytes) {
        Ok(t) => (t, None),
        Err(e) => {
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let note = Skipped {
                path: display.to_string(),
                reason: SkipReason::InvalidUtf8,
                detail: format!(
                    "invalid UTF-8 at byte {}; decoded lossily",
                    e.utf8_error().valid_up_to()
                ),
            };
            (text, Some(note))
        }
    };
    Ok(Loaded::File(SourceFile::new(display, kind, text), degraded))
}

/// Whether the path names a binary key store (PKCS#12, Java key stores), which the secrets
/// analyzer reports as a file.
pub fn is_key_store(display: &str) -> bool {
    let ext = display.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "p12" | "pfx" | "jks" | "keystore" | "bcfks"
    )
}

fn is_generated(head: &[u8]) -> bool {
    let head = &head[..head.len().min(512)];
    let text = String::from_utf8_lossy(head);
    text.contains("@generated") || text.contains("DO NOT EDIT")
}

/// Minified bundles: `.min.js`, or long files whose lines average more than 500 bytes.
fn minified(path: &Path, bytes: &[u8]) -> Option<String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.contains(".min.") {
        return Some("`.min.` file name".into());
    }
    if bytes.len() < 20_000 {
        return None;
    }
    let lines = memchr::memchr_iter(b'\n', bytes).count() + 1;
    let average = bytes.len() / lines;
    (average > 500).then(|| format!("average line length {average} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_code_points() {
        let f = SourceFile::new("x.js", FileKind::Js, "ab\n€x\n".into());
        assert_eq!(f.position(0), Position { line: 1, column: 1 });
        assert_eq!(f.position(3), Position { line: 2, column: 1 });
        // '€' is three bytes but one column
        assert_eq!(f.position(6), Position { line: 2, column: 2 });
        assert_eq!(f.line(2), "€x");
        assert_eq!(f.line_count(), 3);
    }

    #[test]
    fn line_index_places_offsets_as_the_file_does() {
        let f = SourceFile::new("x.sql", FileKind::Sql, "é ab\n€x€y\n\nz".into());
        let lines = LineIndex::of(&f);
        for offset in
            (0..=f.text.len() + 2).filter(|i| f.text.is_char_boundary(*i.min(&f.text.len())))
        {
            assert_eq!(
                lines.position(offset),
                f.position(offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn detects_minified_bundles() {
        let long = "a".repeat(30_000);
        assert!(minified(Path::new("bundle.js"), long.as_bytes()).is_some());
        assert!(minified(Path::new("app.min.js"), b"x").is_some());
        let normal = "let a = 1;\n".repeat(3000);
        assert!(minified(Path::new("app.js"), normal.as_bytes()).is_none());
    }
}

//! What a code frame may show of a scanned file: control characters escaped, long lines cut.
//!
//! A scanned file must not be able to drive the terminal (`ESC[2K ESC[1A` would erase lines of
//! the report and hide findings; a bidi override would reorder what the reader sees), and a
//! minified line must not flood it. [`Shown`] turns a file's (already redacted) text into the text
//! the frame shows and keeps a map between the two, so labels land on the right characters and
//! the header still names the line and column of the original file. Lines and line breaks are
//! never added or removed: line numbers stay those of the file.

use std::ops::Range;

use codespan_reporting::files::{Error, Files};

use crate::report::escape_char;

/// Lines longer than this many characters are cut around the spans shown on them.
const LINE_LIMIT: usize = 240;
/// Characters kept on each side of a span on a cut line.
const CONTEXT: usize = 60;
/// What stands for a cut part of a line.
const CUT: &str = "…";

/// One stretch of the original text and what stands for it in the shown text.
#[derive(Clone, Copy, Debug)]
struct Segment {
    raw: usize,
    raw_len: usize,
    shown: usize,
    shown_len: usize,
    /// Copied verbatim (offsets inside map one to one), or replaced as a whole.
    is_copy: bool,
}

/// A file as a code frame shows it.
pub struct Shown {
    name: String,
    text: String,
    line_starts: Vec<usize>,
    raw: String,
    raw_line_starts: Vec<usize>,
    segments: Vec<Segment>,
}

impl Shown {
    /// Builds the shown text of `raw` (named `name`), cutting long lines around `spans` (byte
    /// ranges of `raw` that frames will label).
    pub fn new(name: &str, raw: &str, spans: &[Range<usize>]) -> Self {
        let mut builder = Builder::default();
        let mut offset = 0;
        for line in raw.split_inclusive('\n') {
            let end = offset + line.len();
            let windows = windows(line, offset, spans);
            for (i, c) in line.char_indices() {
                let at = offset + i;
                if !windows.iter().any(|w| w.contains(&at)) {
                    builder.replace(at, c.len_utf8(), CUT);
                    continue;
                }
                if c == '\r' && line[i + 1..].starts_with('\n') {
                    // a CRLF line ending is a line ending, not a control character to show
                    builder.replace(at, 1, "");
                    continue;
                }
                match escape_char(c) {
                    Some(escaped) => builder.replace(at, c.len_utf8(), &escaped),
                    None => builder.copy(at, c),
                }
            }
            offset = end;
        }
        let Builder { text, segments } = builder;
        Shown {
            name: crate::report::escape_control(name).into_owned(),
            line_starts: line_starts(&text),
            raw_line_starts: line_starts(raw),
            raw: raw.to_string(),
            text,
            segments,
        }
    }

    /// Where `raw` (a byte offset of the file) lands in the shown text; `is_end` picks the end
    /// of a replaced stretch rather than its start.
    pub fn to_shown(&self, raw: usize, is_end: bool) -> usize {
        let i = self
            .segments
            .partition_point(|s| s.raw <= raw)
            .saturating_sub(1);
        let Some(s) = self.segments.get(i) else {
            return 0;
        };
        if raw >= s.raw + s.raw_len {
            return s.shown + s.shown_len;
        }
        if s.is_copy {
            s.shown + (raw - s.raw)
        } else if is_end && raw > s.raw {
            s.shown + s.shown_len
        } else {
            s.shown
        }
    }

    /// The original byte offset behind a byte offset of the shown text.
    fn to_raw(&self, shown: usize) -> usize {
        let i = self
            .segments
            .partition_point(|s| s.shown <= shown)
            .saturating_sub(1);
        let Some(s) = self.segments.get(i) else {
            return 0;
        };
        if s.is_copy {
            s.raw + (shown - s.shown).min(s.raw_len)
        } else {
            s.raw
        }
    }

    /// The byte offset of a 1-based line and column of the original file.
    pub fn raw_offset(&self, line: usize, column: usize) -> Option<usize> {
        let start = *self.raw_line_starts.get(line.checked_sub(1)?)?;
        let rest = &self.raw[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        Some(
            start
                + line_text
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(line_text.len(), |(i, _)| i),
        )
    }
}

/// The parts of a line (absolute byte ranges) a frame shows: all of a short line; around the
/// spans on a long one (or its start when no span touches it).
fn windows(line: &str, offset: usize, spans: &[Range<usize>]) -> Vec<Range<usize>> {
    let end = offset + line.len();
    if line.chars().count() <= LINE_LIMIT {
        return std::iter::once(offset..end).collect();
    }
    let char_at =
        |n: usize| -> usize { line.char_indices().nth(n).map_or(end, |(i, _)| offset + i) };
    let char_index = |byte: usize| -> usize {
        line.char_indices()
            .take_while(|(i, _)| offset + i < byte)
            .count()
    };
    let mut windows: Vec<Range<usize>> = spans
        .iter()
        .filter(|s| s.start < end && s.end >= offset)
        .map(|s| {
            let first = char_index(s.start.max(offset).min(end));
            let last = char_index(s.end.clamp(offset, end));
            let last = last.min(first + LINE_LIMIT);
            char_at(first.saturating_sub(CONTEXT))..char_at(last + CONTEXT)
        })
        .collect();
    if windows.is_empty() {
        windows.push(offset..char_at(LINE_LIMIT));
    }
    // the line break itself is always shown
    if line.ends_with('\n') {
        windows.push(end - 1..end);
    }
    windows.sort_by_key(|w| w.start);
    windows
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

#[derive(Default)]
struct Builder {
    text: String,
    segments: Vec<Segment>,
}

impl Builder {
    fn copy(&mut self, raw: usize, c: char) {
        let len = c.len_utf8();
        if let Some(last) = self.segments.last_mut()
            && last.is_copy
            && last.raw + last.raw_len == raw
        {
            last.raw_len += len;
            last.shown_len += len;
        } else {
            self.segments.push(Segment {
                raw,
                raw_len: len,
                shown: self.text.len(),
                shown_len: len,
                is_copy: true,
            });
        }
        self.text.push(c);
    }

    fn replace(&mut self, raw: usize, raw_len: usize, with: &str) {
        // consecutive cut characters become one mark
        if with == CUT
            && let Some(last) = self.segments.last_mut()
            && !last.is_copy
            && last.raw + last.raw_len == raw
            && self.text.ends_with(CUT)
        {
            last.raw_len += raw_len;
            return;
        }
        self.segments.push(Segment {
            raw,
            raw_len,
            shown: self.text.len(),
            shown_len: with.len(),
            is_copy: false,
        });
        self.text.push_str(with);
    }
}

/// The shown files of one report, for codespan-reporting.
#[derive(Default)]
pub struct ShownFiles {
    files: Vec<Shown>,
}

impl ShownFiles {
    /// Adds a file, returning its id.
    pub fn add(&mut self, shown: Shown) -> usize {
        self.files.push(shown);
        self.files.len() - 1
    }

    /// A file by id.
    pub fn get(&self, id: usize) -> Option<&Shown> {
        self.files.get(id)
    }

    fn file(&self, id: usize) -> Result<&Shown, Error> {
        self.files.get(id).ok_or(Error::FileMissing)
    }
}

impl<'a> Files<'a> for ShownFiles {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, Error> {
        Ok(&self.file(id)?.name)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, Error> {
        Ok(&self.file(id)?.text)
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, Error> {
        let starts = &self.file(id)?.line_starts;
        Ok(starts
            .partition_point(|s| *s <= byte_index)
            .saturating_sub(1))
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, Error> {
        let file = self.file(id)?;
        let start = *file
            .line_starts
            .get(line_index)
            .ok_or(Error::LineTooLarge {
                given: line_index,
                max: file.line_starts.len().saturating_sub(1),
            })?;
        let end = file
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(file.text.len());
        Ok(start..end)
    }

    /// The column of the original file, whatever was escaped or cut before it on the line.
    fn column_number(
        &'a self,
        id: usize,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, Error> {
        let file = self.file(id)?;
        let raw = file.to_raw(byte_index);
        let start = file
            .raw_line_starts
            .get(line_index)
            .copied()
            .unwrap_or(0)
            .min(raw);
        Ok(file
            .raw
            .get(start..raw)
            .map_or(1, |s| s.chars().count() + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::Shown;

    #[test]
    fn escapes_keep_labels_on_their_characters() {
        let raw = "a\u{1b}[2Kb = eval(x);\n";
        let shown = Shown::new("f.js", raw, &[]);
        assert_eq!(shown.text, "a\\x1b[2Kb = eval(x);\n");
        let eval = raw.find("eval").expect("present");
        assert_eq!(&shown.text[shown.to_shown(eval, false)..][..4], "eval");
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let raw = format!("{}eval(x){}\nnext\n", "a".repeat(5000), "b".repeat(5000));
        let eval = raw.find("eval").expect("present");
        let span = eval..eval + 7;
        let shown = Shown::new("m.js", &raw, std::slice::from_ref(&span));
        let first = shown.text.lines().next().expect("a line");
        assert!(first.chars().count() < 200, "{}", first.chars().count());
        assert!(first.starts_with('…') && first.ends_with('…'));
        let at = shown.to_shown(eval, false);
        assert_eq!(&shown.text[at..shown.to_shown(eval + 7, true)], "eval(x)");
        assert_eq!(shown.text.lines().nth(1), Some("next"));
    }
}

//! A small JSON reader that keeps byte offsets, so findings point at the exact manifest or
//! lockfile line. `serde_json` gives no positions; this reads only what dependency files need.
//!
//! A synthetic 50k-entry `package-lock.json` (16 MB) parses in well under a second in release
//! builds: see `tests/deps_scan.rs` and `benches/gen-package-lock.py`.

use std::ops::Range;

/// A JSON value with the byte range it occupies in the source text.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where the value starts and ends (for strings: including the quotes).
    pub span: Range<usize>,
    /// The value.
    pub value: Value,
}

/// The JSON data model; object members keep their order and the span of their key.
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number,
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object: (key, key span, value) in source order.
    Object(Vec<Member>),
}

/// One object member.
#[derive(Debug, Clone)]
pub struct Member {
    /// The unescaped key.
    pub key: String,
    /// The key's byte range (including quotes).
    pub key_span: Range<usize>,
    /// The value.
    pub node: Node,
}

impl Node {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members()?
            .iter()
            .find(|m| m.key == key)
            .map(|m| &m.node)
    }

    /// The members of an object (`None` for other values).
    pub fn members(&self) -> Option<&[Member]> {
        match &self.value {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `true`.
    pub fn is_true(&self) -> bool {
        matches!(self.value, Value::Bool(true))
    }
}

/// Parses a whole JSON document; `None` when it is not valid JSON.
#[cfg(test)]
pub fn parse(text: &str) -> Option<Node> {
    parse_at(text).ok()
}

/// Parses a whole JSON document; on invalid JSON, the byte offset where reading stopped (for a
/// `parse-error` note with a line number).
pub fn parse_at(text: &str) -> Result<Node, usize> {
    parse_with(text, false)
}

/// Like [`parse_at`], also accepting trailing commas (`bun.lock` is JSONC and writes them).
pub fn parse_trailing_commas(text: &str) -> Result<Node, usize> {
    parse_with(text, true)
}

fn parse_with(text: &str, allows_trailing_commas: bool) -> Result<Node, usize> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
        allows_trailing_commas,
    };
    // a BOM is common in hand-edited package.json files on Windows
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    let Some(node) = p.value() else {
        return Err(p.pos.min(text.len()));
    };
    p.ws();
    if p.pos == p.bytes.len() {
        Ok(node)
    } else {
        Err(p.pos)
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
    allows_trailing_commas: bool,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Option<Node> {
        self.ws();
        let start = self.pos;
        let value = match *self.bytes.get(self.pos)? {
            b'{' => self.object()?,
            b'[' => self.array()?,
            b'"' => Value::String(self.string()?),
            b't' => self.literal("true", Value::Bool(true))?,
            b'f' => self.literal("false", Value::Bool(false))?,
            b'n' => self.literal("null", Value::Null)?,
            b'-' | b'0'..=b'9' => {
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') =
                    self.bytes.get(self.pos)
                {
                    self.pos += 1;
                }
                Value::Number
            }
            _ => return None,
        };
        Some(Node {
            span: start..self.pos,
            value,
        })
    }

    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        if self.text.get(self.pos..)?.starts_with(word) {
            self.pos += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        // deeply nested input would overflow the stack; no dependency file nests this deep
        (self.depth < 256).then_some(())
    }

    fn object(&mut self) -> Option<Value> {
        self.enter()?;
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Some(Value::Object(members));
        }
        loop {
            self.ws();
            if self.allows_trailing_commas && self.bytes.get(self.pos) == Some(&b'}') {
                self.pos += 1;
                self.depth -= 1;
                return Some(Value::Object(members));
            }
            let key_start = self.pos;
            if self.bytes.get(self.pos) != Some(&b'"') {
                return None;
            }
            let key = self.string()?;
            let key_span = key_start..self.pos;
            self.ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return None;
            }
            self.pos += 1;
            let node = self.value()?;
            members.push(Member {
                key,
                key_span,
                node,
            });
            self.ws();
            match self.bytes.get(self.pos)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(Value::Object(members));
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self) -> Option<Value> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Some(Value::Array(items));
        }
        loop {
            self.ws();
            if self.allows_trailing_commas && self.bytes.get(self.pos) == Some(&b']') {
                self.pos += 1;
                self.depth -= 1;
                return Some(Value::Array(items));
            }
            items.push(self.value()?);
            self.ws();
            match self.bytes.get(self.pos)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(Value::Array(items));
                }
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let start = self.pos;
        // fast path: no escapes
        let end = memchr::memchr2(b'"', b'\\', &self.bytes[start..])? + start;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            return Some(self.text.get(start..end)?.to_string());
        }
        let mut out = String::from(self.text.get(start..end)?);
        self.pos = end;
        loop {
            let rest = &self.bytes[self.pos..];
            let i = memchr::memchr2(b'"', b'\\', rest)?;
            out.push_str(self.text.get(self.pos..self.pos + i)?);
            self.pos += i;
            if self.bytes[self.pos] == b'"' {
                self.pos += 1;
                return Some(out);
            }
            let esc = *self.bytes.get(self.pos + 1)?;
            self.pos += 2;
            match esc {
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'u' => {
                    let hex = self.text.get(self.pos..self.pos + 4)?;
                    self.pos += 4;
                    let code = u32::from_str_radix(hex, 16).ok()?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => out.push(char::from(other)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_of_keys_and_values() {
        let text = "{\n  \"a\": \"x\\\"y\",\n  \"b\": [1, true, null]\n}";
        let doc = parse(text).unwrap();
        let members = doc.members().unwrap();
        assert_eq!(members[0].key, "a");
        assert_eq!(&text[members[0].key_span.clone()], "\"a\"");
        assert_eq!(doc.get("a").unwrap().as_str(), Some("x\"y"));
        assert!(parse("{\"a\": }").is_none());
        assert!(parse("{} x").is_none());
        assert!(parse("{\"a\": [1,],}").is_none());
        assert!(parse_trailing_commas("{\"a\": [1,],}").is_ok());
        assert_eq!(parse_at("{\n\"a\": tru}").err(), Some(7));
    }
}

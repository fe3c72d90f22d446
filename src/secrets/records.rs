//! Secrets held by records rather than by `name = value` lines: SQL seeds and migrations
//! (`insert into api_keys (provider, api_key) values (...)`, Supabase `vault.create_secret('...')`)
//! and Kubernetes `Secret` manifests (`data:` values in base64, `stringData:` in clear). The
//! generic detector's name and value checks judge what these find.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// A literal found in a record, with the name it is stored under.
pub(crate) struct RecordValue {
    /// The column, key or secret name the value is stored under.
    pub name: String,
    /// The value's range in the file (the base64 text for a `Secret`'s `data:`).
    pub range: Range<usize>,
    /// The value to judge (decoded for base64).
    pub value: String,
    /// Whether the container says it is a secret whatever its name (`vault`, a `Secret`).
    pub declared_secret: bool,
}

/// `insert into <table> (<columns>) values (<first row>)`.
static SQL_INSERT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)\binsert\s+into\s+[\w."]+\s*\(([^()]{1,2000})\)\s*values\s*(?:--[^\n]*\n\s*)*\("#,
    )
    .expect("static regex")
});

/// `vault.create_secret('<secret>', ...)` of Supabase Vault.
static VAULT_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bvault\.create_secret\(\s*(?:new_secret\s*=>\s*)?E?'(?P<value>[^'\n]{8,500})'",
    )
    .expect("static regex")
});

/// Literals of SQL statements stored under a secret-like column, or in Supabase Vault.
pub(crate) fn sql_values(text: &str) -> Vec<RecordValue> {
    let mut out = Vec::new();
    // each regex needs a word spelt in ASCII letters whose only case-insensitive variants are
    // ASCII (no `k` or `s`): without it the regex cannot match, and compiling the two (a Unicode
    // class repeated up to 2000 times) cost a ninetieth of a scan of a small project (issue 22)
    if contains_ignore_ascii_case(text, "vault.create_") {
        for caps in VAULT_SECRET.captures_iter(text) {
            if let Some(v) = caps.name("value") {
                out.push(RecordValue {
                    name: "vault_secret".into(),
                    range: v.range(),
                    value: v.as_str().to_string(),
                    declared_secret: true,
                });
            }
        }
    }
    if contains_ignore_ascii_case(text, "into") {
        insert_values(text, &mut out);
    }
    out
}

/// Whether `needle` occurs in `text`, ignoring the case of ASCII letters.
fn contains_ignore_ascii_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The values of the `insert into` statements of `text` (see [`sql_values`]).
fn insert_values(text: &str, out: &mut Vec<RecordValue>) {
    for caps in SQL_INSERT.captures_iter(text) {
        let (Some(cols), Some(whole)) = (caps.get(1), caps.get(0)) else {
            continue;
        };
        let columns: Vec<String> = cols
            .as_str()
            .split(',')
            .map(|c| c.trim().trim_matches(['"', '`', '[', ']']).to_string())
            .collect();
        // a key-value table (`(key, value)`, `(name, value)`): the key names the value
        let key_col = columns.iter().position(|c| {
            matches!(
                c.to_ascii_lowercase().as_str(),
                "key" | "name" | "setting" | "config_key" | "setting_key"
            )
        });
        let value_col = columns
            .iter()
            .position(|c| matches!(c.to_ascii_lowercase().as_str(), "value" | "setting_value"));
        // every row of a multi-row `values (...), (...), ...` seed
        let mut at = whole.end();
        for _ in 0..MAX_ROWS {
            let Some((values, end)) = sql_row(text, at) else {
                break;
            };
            if values.len() == columns.len() {
                push_row(text, &columns, &values, key_col, value_col, out);
            }
            match next_row(text, end) {
                Some(next) => at = next,
                None => break,
            }
        }
    }
}

/// Rows read from one `insert` (a seed of thousands of rows is data, not configuration).
const MAX_ROWS: usize = 500;

/// Records the literals of one row under their column names (or, in a key-value table, under
/// the row's key).
fn push_row(
    text: &str,
    columns: &[String],
    values: &[Option<Range<usize>>],
    key_col: Option<usize>,
    value_col: Option<usize>,
    out: &mut Vec<RecordValue>,
) {
    for (i, col) in columns.iter().enumerate() {
        let Some(range) = values[i].clone() else {
            continue;
        };
        let name = match (key_col, value_col) {
            (Some(k), Some(v)) if v == i => match &values[k] {
                Some(r) => text[r.clone()].to_string(),
                None => continue,
            },
            _ => col.clone(),
        };
        out.push(RecordValue {
            name,
            value: text[range.clone()].to_string(),
            range,
            declared_secret: false,
        });
    }
}

/// The start of the next row after a row's closing `)` at `end`: just after the `(` of
/// `, (` (whitespace and `--` comments allowed between), if the statement goes on.
fn next_row(text: &str, end: usize) -> Option<usize> {
    let rest = text.get(end + 1..)?;
    let mut s = skip_space_and_comments(rest);
    s = s.strip_prefix(',')?;
    s = skip_space_and_comments(s);
    s = s.strip_prefix('(')?;
    Some(text.len() - s.len())
}

fn skip_space_and_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        match s.strip_prefix("--") {
            Some(rest) => s = rest.find('\n').map_or("", |i| &rest[i..]),
            None => return s,
        }
    }
}

/// The values of one SQL row starting at `at` (just after its `(`): the range of each quoted
/// literal's contents, `None` for anything else, and the position of the closing `)`; `None`
/// if the row does not close within a few kilobytes.
fn sql_row(text: &str, at: usize) -> Option<(Vec<Option<Range<usize>>>, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = at;
    let mut current: Option<Range<usize>> = None;
    let mut other = false;
    let mut depth = 0usize;
    let limit = (at + 4000).min(bytes.len());
    while i < limit {
        match bytes[i] {
            b'\'' => {
                let start = i + 1;
                let mut j = start;
                while j < limit {
                    if bytes[j] == b'\'' {
                        if bytes.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                if j >= limit {
                    return None;
                }
                current = if other || current.is_some() {
                    None
                } else {
                    Some(start..j)
                };
                other = current.is_none();
                i = j + 1;
            }
            // a call in a value (`now()`, `crypt('x', gen_salt('bf'))`) is one non-literal value
            b'(' => {
                depth += 1;
                other = true;
                current = None;
                i += 1;
            }
            b',' | b')' if depth > 0 => {
                if bytes[i] == b')' {
                    depth -= 1;
                }
                i += 1;
            }
            b',' | b')' => {
                out.push(current.take());
                other = false;
                if bytes[i] == b')' {
                    return Some((out, i));
                }
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            _ => {
                other = true;
                current = None;
                i += 1;
            }
        }
    }
    None
}

/// `kind: Secret` of a Kubernetes manifest (quoted or not).
static K8S_SECRET_KIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*kind:[ \t]*["']?(?i:secret)["']?[ \t]*$"#).expect("static regex")
});

/// One `key: value` entry of a mapping indented under `data:` or `stringData:`; a value of `|`
/// or `>` opens a block scalar on the lines below.
static K8S_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?P<indent>[ \t]*)(?P<key>[A-Za-z0-9_.\-]+):[ \t]*["']?(?P<value>[^"'\s#]*)["']?[ \t]*$"#)
        .expect("static regex")
});

/// The width of a line's leading whitespace.
fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// The values of every Kubernetes `Secret` in a YAML file: `data:` decoded from base64,
/// `stringData:` as written.
pub(crate) fn k8s_secret_values(text: &str) -> Vec<RecordValue> {
    let mut out = Vec::new();
    if !K8S_SECRET_KIND.is_match(text) {
        return out;
    }
    let mut offset = 0;
    for doc in text.split_inclusive("\n---") {
        let doc_start = offset;
        offset += doc.len();
        if !K8S_SECRET_KIND.is_match(doc) {
            continue;
        }
        // (indent of the `data:` line, whether its values are base64)
        let mut block: Option<(usize, bool)> = None;
        let mut lines: Vec<(usize, &str)> = Vec::new();
        let mut at = doc_start;
        for line in doc.split_inclusive('\n') {
            lines.push((at, line.trim_end_matches(['\n', '\r'])));
            at += line.len();
        }
        let mut i = 0;
        while i < lines.len() {
            let (at, body) = lines[i];
            i += 1;
            let trimmed = body.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = indent_of(body);
            if let Some((block_indent, _)) = block
                && indent <= block_indent
            {
                block = None;
            }
            match trimmed {
                "data:" => {
                    block = Some((indent, true));
                    continue;
                }
                "stringData:" => {
                    block = Some((indent, false));
                    continue;
                }
                _ => {}
            }
            let (Some((_, base64)), Some(caps)) = (block, K8S_ENTRY.captures(body)) else {
                continue;
            };
            let (Some(key), Some(value)) = (caps.name("key"), caps.name("value")) else {
                continue;
            };
            let (range, raw) = if matches!(value.as_str(), "|" | ">" | "|-" | ">-") {
                // a block scalar: the more-indented lines below (one line of base64 in practice)
                match lines.get(i) {
                    Some(&(next_at, next))
                        if indent_of(next) > indent && !next.trim().is_empty() =>
                    {
                        let lead = indent_of(next);
                        let v = next.trim_end();
                        i += 1;
                        (next_at + lead..next_at + v.len(), v[lead..].to_string())
                    }
                    _ => continue,
                }
            } else if value.as_str().is_empty() {
                continue;
            } else {
                (
                    at + value.start()..at + value.end(),
                    value.as_str().to_string(),
                )
            };
            let value = if base64 {
                match decode_secret_text(&raw) {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                raw
            };
            out.push(RecordValue {
                name: key.as_str().to_string(),
                range,
                value,
                declared_secret: true,
            });
        }
    }
    out
}

/// A `data:` value decoded to the text to judge. Text comes back trimmed; a private key, a
/// Docker config's `auth` or `user:password` is reduced to the part that is secret; random
/// binary (an encrypted blob, raw key bytes) comes back as its base64 text.
fn decode_secret_text(raw: &str) -> Option<String> {
    let bytes = super::validate::decode_base64url(raw)?;
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        return (bytes.len() >= 16).then(|| raw.to_string());
    };
    let text = text.trim();
    if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return None;
    }
    if text.contains("PRIVATE KEY-----") {
        // judged as the key body, which is random
        return text
            .lines()
            .find(|l| !l.starts_with("-----") && l.len() >= 32)
            .map(str::to_string);
    }
    if let Some(auth) = DOCKER_AUTH.captures(text).and_then(|c| c.name("auth")) {
        let pair = String::from_utf8(super::validate::decode_base64url(auth.as_str())?).ok()?;
        return pair.split_once(':').map(|(_, pw)| pw.to_string());
    }
    if let Some((user, pw)) = text.split_once(':')
        && !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
        && !pw.starts_with("//")
    {
        return Some(pw.to_string());
    }
    Some(text.to_string())
}

/// The `auth` (base64 of `user:password`) of a Docker config JSON.
static DOCKER_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""auth"\s*:\s*"(?P<auth>[A-Za-z0-9+/=]{8,})""#).expect("static regex")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_row_reads_quoted_values_and_skips_others() {
        let text = "('a', 42, 'it''s', now())";
        let (row, end) = sql_row(text, 1).expect("the row closes");
        assert_eq!(end, text.len() - 1);
        assert_eq!(row.len(), 4);
        assert_eq!(row[0].clone().map(|r| &text[r]), Some("a"));
        assert!(row[1].is_none());
        assert_eq!(row[2].clone().map(|r| &text[r]), Some("it''s"));
        assert!(row[3].is_none());
    }

    #[test]
    fn every_row_of_a_multi_row_insert_is_read() {
        let text = "INSERT INTO api_keys (provider, api_key) VALUES\n  ('openai', 'q8Vb3kQ9zT1m', now()),\n  -- second\n  ('groq', 'R7xW2pL5nH8c');";
        let keys: Vec<String> = sql_values(text)
            .into_iter()
            .filter(|v| v.name == "api_key")
            .map(|v| v.value)
            .collect();
        // the first row has three values for two columns: skipped, the next is still read
        assert_eq!(keys, ["R7xW2pL5nH8c"]);
    }

    #[test]
    fn key_value_tables_name_the_value_by_its_key() {
        let text =
            "INSERT INTO app_config (key, value) VALUES ('OPENAI_API_KEY', 'q8Vb3kQ9zT1mR7xW');";
        let values = sql_values(text);
        let v = values
            .iter()
            .find(|v| v.value == "q8Vb3kQ9zT1mR7xW")
            .unwrap();
        assert_eq!(v.name, "OPENAI_API_KEY");
    }

    #[test]
    fn secret_manifest_data_is_decoded() {
        let text = "apiVersion: v1\nkind: Secret\ndata:\n  token: aGVsbG8td29ybGQ=\nstringData:\n  pw: abc\n";
        let values = k8s_secret_values(text);
        assert_eq!(values.len(), 2);
        assert_eq!(values[0].value, "hello-world");
        assert_eq!(&text[values[0].range.clone()], "aGVsbG8td29ybGQ=");
        assert_eq!(values[1].value, "abc");
        assert!(k8s_secret_values("kind: ConfigMap\ndata:\n  a: aGVsbG8=\n").is_empty());
    }
}

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
    Regex::new(r#"(?is)\binsert\s+into\s+[\w."]+\s*\(([^()]{1,2000})\)\s*values\s*\("#)
        .expect("static regex")
});

/// `vault.create_secret('<secret>', ...)` of Supabase Vault.
static VAULT_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bvault\.create_secret\(\s*(?:new_secret\s*=>\s*)?E?'(?P<value>[^'\n]{8,500})'"#)
        .expect("static regex")
});

/// Literals of SQL statements stored under a secret-like column, or in Supabase Vault.
pub(crate) fn sql_values(text: &str) -> Vec<RecordValue> {
    let mut out = Vec::new();
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
    for caps in SQL_INSERT.captures_iter(text) {
        let (Some(cols), Some(whole)) = (caps.get(1), caps.get(0)) else {
            continue;
        };
        let columns: Vec<String> = cols
            .as_str()
            .split(',')
            .map(|c| c.trim().trim_matches(['"', '`', '[', ']']).to_string())
            .collect();
        let values = sql_row(text, whole.end());
        if values.len() != columns.len() {
            continue;
        }
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
    out
}

/// The values of one SQL row starting at `at` (just after its `(`): the range of each quoted
/// literal's contents, `None` for anything else. Stops at the closing `)`.
fn sql_row(text: &str, at: usize) -> Vec<Option<Range<usize>>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = at;
    let mut current: Option<Range<usize>> = None;
    let mut other = false;
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
                    return Vec::new();
                }
                current = if other || current.is_some() {
                    None
                } else {
                    Some(start..j)
                };
                other = current.is_none();
                i = j + 1;
            }
            b',' | b')' => {
                out.push(current.take());
                other = false;
                if bytes[i] == b')' {
                    return out;
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
    Vec::new()
}

/// `kind: Secret` of a Kubernetes manifest.
static K8S_SECRET_KIND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^kind:[ \t]*Secret[ \t]*$").expect("static regex"));

/// One `key: value` entry of a mapping indented under `data:` or `stringData:`.
static K8S_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?P<indent>[ \t]+)(?P<key>[A-Za-z0-9_.\-]+):[ \t]*["']?(?P<value>[^"'\s#]+)["']?[ \t]*$"#)
        .expect("static regex")
});

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
        let mut block: Option<bool> = None; // Some(true): data (base64), Some(false): stringData
        let mut line_start = doc_start;
        for line in doc.split_inclusive('\n') {
            let at = line_start;
            line_start += line.len();
            let body = line.trim_end_matches(['\n', '\r']);
            if !body.starts_with([' ', '\t']) {
                block = match body.trim_end() {
                    "data:" => Some(true),
                    "stringData:" => Some(false),
                    _ => None,
                };
                continue;
            }
            let (Some(base64), Some(caps)) = (block, K8S_ENTRY.captures(body)) else {
                continue;
            };
            let (Some(key), Some(value)) = (caps.name("key"), caps.name("value")) else {
                continue;
            };
            let range = at + value.start()..at + value.end();
            let decoded = if base64 {
                match super::validate::decode_base64url(value.as_str())
                    .and_then(|b| String::from_utf8(b).ok())
                {
                    Some(d) if !d.chars().any(char::is_control) || d.ends_with('\n') => {
                        d.trim_end().to_string()
                    }
                    _ => continue,
                }
            } else {
                value.as_str().to_string()
            };
            out.push(RecordValue {
                name: key.as_str().to_string(),
                range,
                value: decoded,
                declared_secret: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_row_reads_quoted_values_and_skips_others() {
        let text = "('a', 42, 'it''s', now())";
        let row = sql_row(text, 1);
        assert_eq!(row.len(), 4);
        assert_eq!(row[0].clone().map(|r| &text[r]), Some("a"));
        assert!(row[1].is_none());
        assert_eq!(row[2].clone().map(|r| &text[r]), Some("it''s"));
        assert!(row[3].is_none());
    }

    #[test]
    fn key_value_tables_name_the_value_by_its_key() {
        let text = "INSERT INTO app_config (key, value) VALUES ('OPENAI_API_KEY', 'q8Vb3kQ9zT1mR7xW');";
        let values = sql_values(text);
        let v = values.iter().find(|v| v.value == "q8Vb3kQ9zT1mR7xW").unwrap();
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

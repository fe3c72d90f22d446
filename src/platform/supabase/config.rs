//! `supabase/config.toml`: which schemas `PostgREST` exposes (`[api] schemas = [...]`).
//!
//! Tables in every exposed schema are reachable with the public anon key, so they need RLS as
//! much as `public` does. The file is found beside the migrations folder (`supabase/config.toml`
//! next to `supabase/migrations/`) or beside the SQL file itself (`supabase/schema.sql`). Only the
//! `schemas` key of the `[api]` table is read, with a small line reader: the file is tiny and the
//! key's shape (an array of strings) is fixed by the Supabase CLI.

use std::collections::BTreeSet;
use std::path::Path;

/// Schemas exposed by the Supabase API, lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposedSchemas(BTreeSet<String>);

impl Default for ExposedSchemas {
    /// `public` only: what `PostgREST` exposes when no config says otherwise.
    fn default() -> Self {
        ExposedSchemas(BTreeSet::from(["public".to_string()]))
    }
}

impl ExposedSchemas {
    /// Whether `schema.name` (as [`super::sql::qualified`] writes it) lies in an exposed schema.
    pub fn contains(&self, qualified_name: &str) -> bool {
        qualified_name
            .split_once('.')
            .is_some_and(|(schema, _)| self.0.contains(schema))
    }

    /// The exposed schemas for the SQL file at `sql_path`: read from the nearest
    /// `config.toml` in its folder or the folder above (the `supabase/` folder of
    /// `supabase/migrations/*.sql`); `public` alone when there is none.
    pub fn for_sql_file(sql_path: &Path) -> Self {
        let Some(dir) = sql_path.parent() else {
            return Self::default();
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        [Some(dir), dir.parent()]
            .into_iter()
            .flatten()
            .find_map(|d| std::fs::read_to_string(d.join("config.toml")).ok())
            .and_then(|text| parse(&text))
            .unwrap_or_default()
    }
}

/// The `[api] schemas` array of a Supabase `config.toml`, or `None` when absent.
fn parse(text: &str) -> Option<ExposedSchemas> {
    let mut in_api = false;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = strip_comment(line).trim();
        if line.starts_with('[') {
            in_api = line == "[api]";
            continue;
        }
        let Some(value) = line
            .strip_prefix("schemas")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
        else {
            continue;
        };
        if !in_api {
            continue;
        }
        let mut array = value.trim().to_string();
        while !array.contains(']') {
            let Some(next) = lines.next() else { break };
            array.push_str(strip_comment(next));
        }
        let schemas: BTreeSet<String> = array
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().trim_matches(['"', '\'']).to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        return Some(ExposedSchemas(schemas));
    }
    None
}

/// The line without a `#` comment (a `#` inside a quoted schema name is not expected).
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::{ExposedSchemas, parse};

    #[test]
    fn reads_the_api_schemas() {
        let toml = "project_id = \"x\"\n[api]\nenabled = true\n# schemas = [\"nope\"]\nschemas = [\"public\", \"graphql_public\",\n  \"api\"] # exposed\n[db]\nschemas = [\"other\"]\n";
        let s = parse(toml).expect("has schemas");
        assert!(s.contains("api.orders"));
        assert!(s.contains("public.notes"));
        assert!(!s.contains("private.keys"));
        assert!(!s.contains("other.t"));
    }

    #[test]
    fn defaults_to_public() {
        assert_eq!(parse("[api]\nport = 54321\n"), None);
        assert!(ExposedSchemas::default().contains("public.t"));
    }
}

//! `secrets.secret-reused-across-environments`: one credential in the env files of two
//! environments (`.env.staging` and `.env.production` holding the same `JWT_SECRET`), so a leak
//! of the weaker environment opens production (issue 23).
//!
//! The per-file pass hands the project pass, for each environment file, the credential-named
//! variables with a real value: their name, where they are, and a SHA-256 digest of the value.
//! Values are compared by digest only; neither the value nor its digest reaches any output.

use std::collections::BTreeMap;
use std::ops::Range;

use sha2::{Digest, Sha256};

use super::allow;
use crate::engine::{self, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::source::LineIndex;

/// Shortest value compared: shorter ones are flags and ports, not credentials.
const MIN_VALUE_LEN: usize = 8;

/// The environment an env file configures, from its name: `.env.production` -> `production`.
/// Files without an environment (`.env`, `.env.local`) and templates are not compared.
pub(crate) fn environment(display: &str) -> Option<Environment> {
    let name = display
        .rsplit('/')
        .next()
        .unwrap_or(display)
        .to_ascii_lowercase();
    let rest = name.strip_prefix(".env.")?;
    let parts: Vec<&str> = rest.split('.').collect();
    if parts.iter().any(|p| {
        matches!(
            *p,
            "example" | "sample" | "template" | "dist" | "defaults" | "schema" | "tpl"
        )
    }) {
        return None;
    }
    let env = parts.iter().find(|p| **p != "local")?;
    let production = matches!(*env, "production" | "prod" | "live");
    let other = matches!(
        *env,
        "staging" | "stage" | "development" | "dev" | "test" | "testing" | "preview" | "qa" | "uat"
    );
    (production || other).then(|| Environment {
        name: (*env).to_string(),
        production,
    })
}

/// The environment a variable's prefix names (`PROD_JWT_SECRET`, `STAGING_DB_PASSWORD`), for
/// env files that hold several environments.
fn environment_of_name(key: &str) -> Option<Environment> {
    let upper = key.to_ascii_uppercase();
    let prefix = upper.split('_').next()?;
    let production = matches!(prefix, "PROD" | "PRODUCTION" | "LIVE");
    let other = matches!(
        prefix,
        "STAGING" | "STAGE" | "DEV" | "DEVELOPMENT" | "TEST" | "PREVIEW" | "QA" | "UAT"
    );
    (upper.len() > prefix.len() + 1 && (production || other)).then(|| Environment {
        name: prefix.to_ascii_lowercase(),
        production,
    })
}

/// An environment named by an env file or a variable's prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Environment {
    name: String,
    production: bool,
}

/// What one environment file hands the project pass.
pub(crate) struct EnvValues {
    lines: LineIndex,
    entries: Vec<Entry>,
}

/// One credential-named variable of an env file.
struct Entry {
    env: Environment,
    name: String,
    line: Range<usize>,
    value: Range<usize>,
    digest: [u8; 32],
    /// The redacted form every secret finding carries (`abcd…(32 chars, sha256:…)`).
    redacted: String,
}

/// Extracts the credential-named variables of an environment file.
pub(crate) fn file_facts(ctx: &FileContext<'_>) {
    let file = ctx.file;
    let file_env = environment(&file.display);
    let mut entries = Vec::new();
    for a in super::context::env_assignments(&file.text) {
        let (key, value) = (a.key, a.value);
        if value.len() < MIN_VALUE_LEN
            || !super::context::is_secret_env_name(key)
            || allow::is_placeholder(value)
            || allow::entropy(value) < 2.5
        {
            continue;
        }
        let Some(env) = file_env.clone().or_else(|| environment_of_name(key)) else {
            continue;
        };
        entries.push(Entry {
            env,
            name: key.to_string(),
            line: a.line,
            value: a.value_range,
            digest: Sha256::digest(value.as_bytes()).into(),
            redacted: allow::redacted(value),
        });
    }
    if !entries.is_empty() {
        ctx.emit(EnvValues {
            lines: LineIndex::of(file),
            entries,
        });
    }
}

/// Reports each production variable whose value another environment's variable also holds.
pub(crate) fn check_project(project: &ProjectContext<'_>, rule_idx: usize, out: &mut Vec<Finding>) {
    // digest -> every (file, its line index, entry) holding it
    let mut by_value: BTreeMap<[u8; 32], Vec<(&str, &LineIndex, &Entry)>> = BTreeMap::new();
    for (candidate, values) in project.facts::<EnvValues>() {
        if !project.applies(rule_idx, candidate) {
            continue;
        }
        for entry in &values.entries {
            by_value.entry(entry.digest).or_default().push((
                candidate.display.as_str(),
                &values.lines,
                entry,
            ));
        }
    }
    for holders in by_value.values() {
        let Some((other_path, other_lines, other)) = holders.iter().find(|h| !h.2.env.production)
        else {
            continue;
        };
        for (path, lines, entry) in holders.iter().filter(|h| h.2.env.production) {
            let mut f =
                engine::finding_at(path, lines, project.rules, rule_idx, entry.line.clone());
            let place = if path == other_path {
                "this file".to_string()
            } else {
                format!("`{other_path}`")
            };
            f.message = format!(
                "`{}` ({}) has the same value as `{}` ({}) in {place}: a leak of the {} environment opens production",
                entry.name, entry.env.name, other.name, other.env.name, other.env.name
            );
            f.related.push(engine::related_at(
                other_path,
                other_lines,
                other.line.clone(),
                format!("the same value, for the {} environment", other.env.name),
            ));
            f.redactions.push(entry.value.clone());
            f.properties.insert("secret".into(), entry.redacted.clone());
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_environment_of_env_files() {
        assert_eq!(
            environment("app/.env.production").map(|e| e.production),
            Some(true)
        );
        assert_eq!(
            environment(".env.staging").map(|e| e.production),
            Some(false)
        );
        assert_eq!(
            environment(".env.production.local").map(|e| e.production),
            Some(true)
        );
        assert!(environment(".env").is_none());
        assert!(environment(".env.local").is_none());
        assert!(environment(".env.production.example").is_none());
        assert_eq!(
            environment_of_name("PROD_JWT_SECRET").map(|e| e.production),
            Some(true)
        );
        assert_eq!(
            environment_of_name("STAGING_JWT_SECRET").map(|e| e.production),
            Some(false)
        );
        assert!(environment_of_name("PRODUCT_KEY").is_none());
        assert!(environment_of_name("JWT_SECRET").is_none());
    }
}

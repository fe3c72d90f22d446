//! Name lists shipped as data under `rules/deps/`: popular npm names (for typosquats), known
//! deprecated packages, and the security-critical packages whose duplicated majors matter.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

/// Security-critical packages: two major versions in one tree means one copy misses fixes.
pub const SECURITY_CRITICAL: [&str; 10] = [
    "jsonwebtoken",
    "jose",
    "jws",
    "express",
    "passport",
    "helmet",
    "node-forge",
    "bcrypt",
    "bcryptjs",
    "crypto-js",
];

#[derive(Deserialize)]
struct RawPopular {
    popular: Vec<String>,
    known: Vec<String>,
}

/// A deprecated npm package and what to use instead.
#[derive(Debug, Clone, Deserialize)]
pub struct Deprecated {
    /// Why it is deprecated.
    pub reason: String,
    /// The replacement.
    pub instead: String,
    /// Where the deprecation is documented.
    pub source: String,
}

/// The loaded lists.
#[derive(Debug, Default)]
pub struct Names {
    popular: Vec<String>,
    is_known: HashSet<String>,
    /// Scopes of popular packages (`@babel`) and popular unscoped names used as a scope
    /// (`firebase` -> `@firebase/*`).
    popular_scopes: HashSet<String>,
    /// name -> deprecation notice.
    pub deprecated: BTreeMap<String, Deprecated>,
}

fn embedded(name: &str) -> Option<&'static str> {
    crate::rules::load::embedded_files()
        .iter()
        .find(|(p, _)| p.ends_with(name))
        .map(|(_, t)| *t)
}

impl Names {
    /// Reads the embedded lists (empty lists when a file is missing or broken: the rules then
    /// stay silent rather than guess).
    pub fn load() -> Self {
        let mut names = Names::default();
        if let Some(raw) = embedded("rules/deps/popular-npm.json")
            .and_then(|t| serde_json::from_str::<RawPopular>(t).ok())
        {
            names.is_known = raw.popular.iter().chain(&raw.known).cloned().collect();
            names.popular_scopes = raw
                .popular
                .iter()
                .map(|p| match p.split_once('/') {
                    Some((scope, _)) => scope.to_string(),
                    None => format!("@{p}"),
                })
                .collect();
            names.popular = raw.popular;
        }
        if let Some(list) = embedded("rules/deps/deprecated-npm.json")
            .and_then(|t| serde_json::from_str::<BTreeMap<String, Deprecated>>(t).ok())
        {
            names.deprecated = list;
        }
        names
    }

    /// Whether `name` is a widely used package: in the popular or known lists, or in the scope of
    /// a popular package (`@google-cloud/storage` beside `@google-cloud/firestore`; `@firebase/*`
    /// beside `firebase`). Typosquats cannot take a scope they do not own, so scopes are safe.
    pub fn is_popular(&self, name: &str) -> bool {
        self.is_known.contains(name)
            || name
                .split_once('/')
                .is_some_and(|(scope, _)| self.popular_scopes.contains(scope))
    }

    /// The popular package `name` imitates, if it is one edit away from it and not itself a
    /// known package. Short names are left alone: one edit of a 4-letter name is another word.
    pub fn typosquat_of(&self, name: &str) -> Option<&str> {
        if name.len() < 5 || name.starts_with('@') || self.is_known.contains(name) {
            return None;
        }
        self.popular
            .iter()
            .filter(|p| p.len() >= 5 && !p.starts_with('@'))
            .find(|p| within_one_edit(name.as_bytes(), p.as_bytes()))
            .map(String::as_str)
    }
}

/// Damerau-Levenshtein distance <= 1 (one insertion, deletion, substitution or swap).
fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Less => a == &b[1..],
        std::cmp::Ordering::Greater => &a[1..] == b,
        std::cmp::Ordering::Equal => {
            a[1..] == b[1..] || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_one_edit_neighbours_of_popular_names() {
        let names = Names::load();
        assert_eq!(names.typosquat_of("expresss"), Some("express"));
        assert_eq!(names.typosquat_of("crossenv"), Some("cross-env"));
        assert_eq!(names.typosquat_of("lodahs"), Some("lodash"));
        assert_eq!(names.typosquat_of("express"), None);
        assert_eq!(names.typosquat_of("preact"), None, "a known neighbour");
        assert_eq!(names.typosquat_of("my-internal-lib"), None);
        assert!(within_one_edit(b"ab", b"ba"));
        assert!(names.is_popular("esbuild"));
        assert!(names.is_popular("@babel/plugin-made-up"), "a popular scope");
        assert!(!names.is_popular("@evil/esbuild"));
        assert!(!names.is_popular("totally-unknown-pkg"));
        assert!(!within_one_edit(b"abc", b"cab"));
    }
}

//! Path aliases of a TypeScript or JavaScript project (`compilerOptions.paths` of the nearest
//! `tsconfig.json` or `jsconfig.json`), so that cross-file flows follow
//! `import { RAGService } from "@services/rag"` as they follow `"../services/rag"`.
//!
//! Each folder's config is looked up once per scan and cached; `extends` is not followed (a
//! config that inherits its `paths` resolves nothing, as before).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::flow::module_id;
use crate::entry::join_path as join;

/// The aliases one config declares.
#[derive(Debug, Default, PartialEq)]
pub struct PathAliases {
    /// (pattern before its `*`, whether it has a `*`, targets as display paths with the `*`
    /// kept), longest pattern first, as TypeScript matches them.
    entries: Vec<(String, bool, Vec<String>)>,
}

impl PathAliases {
    /// Reads the `paths` of a config's text; `dir` is the config's folder (display path).
    pub fn parse(dir: &str, text: &str) -> Option<PathAliases> {
        let value: serde_json::Value = serde_json::from_str(&strip_jsonc(text)).ok()?;
        let options = value.get("compilerOptions")?;
        let paths = options.get("paths")?.as_object()?;
        let base = options
            .get("baseUrl")
            .and_then(|b| b.as_str())
            .map_or_else(|| dir.to_string(), |b| join(dir, b));
        let mut entries: Vec<(String, bool, Vec<String>)> = paths
            .iter()
            .filter_map(|(pattern, targets)| {
                let targets: Vec<String> = targets
                    .as_array()?
                    .iter()
                    .filter_map(|t| t.as_str())
                    .map(|t| join(&base, t))
                    .collect();
                let (prefix, wild) = match pattern.split_once('*') {
                    Some((p, "")) => (p.to_string(), true),
                    Some(_) => return None,
                    None => (pattern.clone(), false),
                };
                (!targets.is_empty() && !prefix.is_empty()).then_some((prefix, wild, targets))
            })
            .collect();
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        (!entries.is_empty()).then_some(PathAliases { entries })
    }

    /// The module identity an aliased specifier names (its first target), if one matches.
    pub fn resolve(&self, spec: &str) -> Option<String> {
        self.entries.iter().find_map(|(prefix, wild, targets)| {
            let rest = if *wild {
                spec.strip_prefix(prefix.as_str())?
            } else if spec == prefix {
                ""
            } else {
                return None;
            };
            let target = targets.first()?.replacen('*', rest, 1);
            Some(module_id(&join("", &target)))
        })
    }

    /// Whether `text` imports through one of the aliases (a quote, then the pattern).
    pub fn imported_in(&self, text: &str) -> bool {
        self.entries.iter().any(|(prefix, _, _)| {
            ['"', '\''].iter().any(|q| {
                let needle = format!("{q}{prefix}");
                memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
            })
        })
    }
}

/// The aliases in force for each folder, read from disk once.
#[derive(Debug, Default)]
pub struct AliasCache {
    by_dir: Mutex<BTreeMap<String, Option<Arc<PathAliases>>>>,
}

impl AliasCache {
    /// The aliases of the config nearest above a file (display path), if it declares any.
    pub fn for_file(&self, display: &str) -> Option<Arc<PathAliases>> {
        let dir = display.rsplit_once('/').map_or("", |(d, _)| d);
        self.for_dir(dir, 0)
    }

    fn for_dir(&self, dir: &str, depth: usize) -> Option<Arc<PathAliases>> {
        if let Some(known) = self.by_dir.lock().ok()?.get(dir) {
            return known.clone();
        }
        let shown = if dir.is_empty() { "." } else { dir };
        let config = ["tsconfig.json", "jsconfig.json"]
            .iter()
            .find_map(|name| std::fs::read_to_string(format!("{shown}/{name}")).ok());
        let found = match config {
            // the nearest config decides, with or without aliases
            Some(text) => PathAliases::parse(dir, &text).map(Arc::new),
            None if depth < 32 && !dir.is_empty() && dir != "/" => {
                let parent = dir.rsplit_once('/').map_or("", |(p, _)| p);
                let parent = if parent.is_empty() && dir.starts_with('/') {
                    "/"
                } else {
                    parent
                };
                self.for_dir(parent, depth + 1)
            }
            None => None,
        };
        if let Ok(mut cache) = self.by_dir.lock() {
            cache.insert(dir.to_string(), found.clone());
        }
        found
    }
}

/// JSON with comments and trailing commas (what tsconfig files hold) as plain JSON.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            (',', _) => {
                // a comma before `}` or `]` (after blanks) is dropped
                let rest: String = chars.clone().take_while(|n| n.is_whitespace()).collect();
                let next = chars.clone().nth(rest.chars().count());
                if !matches!(next, Some('}' | ']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::PathAliases;

    #[test]
    fn tsconfig_paths_resolve_to_module_identities() {
        let config = r#"{
          // comments and trailing commas, as tsconfig files have them
          "compilerOptions": {
            "baseUrl": "./",
            /* aliases */
            "paths": { "@/*": ["src/*"], "@services/*": ["src/services/*"], "@types": ["src/types"], },
          },
        }"#;
        let aliases = PathAliases::parse("app", config).expect("paths");
        assert_eq!(
            aliases.resolve("@services/rag").as_deref(),
            Some("app/src/services/rag")
        );
        assert_eq!(
            aliases.resolve("@/lib/db.ts").as_deref(),
            Some("app/src/lib/db")
        );
        assert_eq!(aliases.resolve("@types").as_deref(), Some("app/src/types"));
        assert_eq!(aliases.resolve("@types/node"), None);
        assert_eq!(aliases.resolve("express"), None);
        assert!(aliases.imported_in("import { x } from '@services/rag';"));
        assert!(!aliases.imported_in("import { x } from 'express';"));
    }

    #[test]
    fn configs_without_paths_declare_no_aliases() {
        assert_eq!(PathAliases::parse("", r#"{ "compilerOptions": {} }"#), None);
        assert_eq!(PathAliases::parse("", "not json"), None);
    }
}

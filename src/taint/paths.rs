//! Path aliases of a TypeScript or JavaScript project (`compilerOptions.paths` of the nearest
//! `tsconfig.json` or `jsconfig.json`), so that cross-file flows follow
//! `import { RAGService } from "@services/rag"` as they follow `"../services/rag"`.
//!
//! Each folder's config is looked up once per scan and cached. `paths` and `baseUrl` a config does
//! not declare are inherited through relative `extends` (a string, or an array whose later
//! entries win, as TypeScript 5 reads it); configs extended from packages are not read.

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
    /// Relative `extends` are read from disk.
    pub fn parse(dir: &str, text: &str) -> Option<PathAliases> {
        Self::parse_with(dir, text, &|path| {
            crate::engine::depends_on(std::path::Path::new(path));
            std::fs::read_to_string(path).ok()
        })
    }

    /// [`PathAliases::parse`] with the reader of extended configs given.
    pub fn parse_with(
        dir: &str,
        text: &str,
        read: &dyn Fn(&str) -> Option<String>,
    ) -> Option<PathAliases> {
        let mut found = Inherited::default();
        found.visit(dir, text, read, 0);
        let (paths, paths_dir) = found.paths?;
        // targets are relative to `baseUrl` when one is in force, else to the config declaring them
        let base = found.base_url.unwrap_or(paths_dir);
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

/// The `paths` (with the folder of the config declaring them) and `baseUrl` (as a display path)
/// a config holds or inherits: the nearest declaration wins.
#[derive(Default)]
struct Inherited {
    paths: Option<(serde_json::Map<String, serde_json::Value>, String)>,
    base_url: Option<String>,
}

impl Inherited {
    fn visit(&mut self, dir: &str, text: &str, read: &dyn Fn(&str) -> Option<String>, depth: u8) {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&strip_jsonc(text)) else {
            return;
        };
        let options = value.get("compilerOptions");
        if self.paths.is_none()
            && let Some(paths) = options.and_then(|o| o.get("paths")?.as_object())
        {
            self.paths = Some((paths.clone(), dir.to_string()));
        }
        if self.base_url.is_none()
            && let Some(base) = options.and_then(|o| o.get("baseUrl")?.as_str())
        {
            self.base_url = Some(join(dir, base));
        }
        if (self.paths.is_some() && self.base_url.is_some()) || depth >= 8 {
            return;
        }
        let parents: Vec<&str> = match value.get("extends") {
            Some(serde_json::Value::String(one)) => vec![one.as_str()],
            // later entries override earlier ones: look at them first
            Some(serde_json::Value::Array(many)) => {
                many.iter().rev().filter_map(|e| e.as_str()).collect()
            }
            _ => Vec::new(),
        };
        for parent in parents.into_iter().filter(|p| p.starts_with('.')) {
            let mut path = join(dir, parent);
            let extension = std::path::Path::new(&path).extension();
            if !extension.is_some_and(|e| e.eq_ignore_ascii_case("json")) {
                path.push_str(".json");
            }
            if let Some(text) = read(&path) {
                let parent_dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                self.visit(parent_dir, &text, read, depth + 1);
            }
        }
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
        let config = ["tsconfig.json", "jsconfig.json"].iter().find_map(|name| {
            let path = format!("{shown}/{name}");
            crate::engine::depends_on(std::path::Path::new(&path));
            std::fs::read_to_string(path).ok()
        });
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
    fn paths_and_base_url_are_inherited_through_relative_extends() {
        // a monorepo app whose tsconfig extends the workspace's base config
        let base = r#"{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["packages/lib/src/*"] } } }"#;
        let read = |path: &str| (path == "tsconfig.base.json").then(|| base.to_string());
        let app = r#"{ "extends": "../../tsconfig.base", "compilerOptions": { "strict": true } }"#;
        let aliases = PathAliases::parse_with("apps/web", app, &read).expect("inherited paths");
        assert_eq!(
            aliases.resolve("@lib/db").as_deref(),
            Some("packages/lib/src/db")
        );
        // the child's own `paths` win, resolved against the inherited `baseUrl`
        let own = r#"{ "extends": ["../../tsconfig.base.json"], "compilerOptions": { "paths": { "@/*": ["apps/web/src/*"] } } }"#;
        let aliases = PathAliases::parse_with("apps/web", own, &read).expect("own paths");
        assert_eq!(aliases.resolve("@/x").as_deref(), Some("apps/web/src/x"));
        assert_eq!(aliases.resolve("@lib/db"), None);
        // configs extended from packages are not read; a cycle ends
        let pkg = r#"{ "extends": "@tsconfig/node20/tsconfig.json" }"#;
        assert_eq!(PathAliases::parse_with("", pkg, &read), None);
        let cycle = |_: &str| Some(r#"{ "extends": "./tsconfig.json" }"#.to_string());
        assert_eq!(
            PathAliases::parse_with("", r#"{ "extends": "./tsconfig.json" }"#, &cycle),
            None
        );
    }

    #[test]
    fn configs_without_paths_declare_no_aliases() {
        assert_eq!(PathAliases::parse("", r#"{ "compilerOptions": {} }"#), None);
        assert_eq!(PathAliases::parse("", "not json"), None);
    }
}

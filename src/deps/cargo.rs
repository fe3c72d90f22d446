//! Rust files: `Cargo.lock` (parsed by the `cargo-lock` crate, positions found by a line scan)
//! and the dependency tables of `Cargo.toml` (line by line, which covers the one-line forms that
//! nearly every manifest uses).

use std::collections::HashMap;
use std::ops::Range;
use std::str::FromStr;

use super::model::{CargoSource, Declared, LockFormat, Locked, Lockfile, Manifest};
use super::osv::Ecosystem;

/// Reads a `Cargo.lock` with `cargo-lock`; when it rejects the file (a dependency list naming
/// a package that is not there, a hand edit), falls back to reading the `[[package]]` tables line
/// by line, so one inconsistency does not hide every advisory. `None` when neither finds a package.
pub fn parse_lock(text: &str) -> Option<Lockfile> {
    let Ok(parsed) = cargo_lock::Lockfile::from_str(text) else {
        return parse_lock_lines(text);
    };
    let spans = package_spans(text);
    let mut lock = Lockfile::new(LockFormat::Cargo, Ecosystem::Crates);
    for pkg in parsed.packages {
        let name = pkg.name.as_str().to_string();
        let version = pkg.version.to_string();
        let Some(span) = spans.get(&(name.clone(), version.clone())).cloned() else {
            continue;
        };
        let source = pkg.source.as_ref();
        let is_local = source.is_none_or(cargo_lock::SourceId::is_path);
        let resolved = source
            .filter(|s| s.is_git())
            .map(|s| (format!("git+{}", s.url()), span.clone()));
        lock.entries.push(Locked {
            name,
            version,
            span,
            resolved,
            has_integrity: pkg.checksum.is_some(),
            has_install_script: false,
            is_local,
            integrity: pkg.checksum.as_ref().map(|c| format!("sha256:{c}")),
            dependencies: pkg
                .dependencies
                .iter()
                .map(|d| d.name.as_str().to_string())
                .collect(),
            ..Locked::default()
        });
    }
    Some(lock)
}

/// The fallback reader: `name`, `version`, `source` and `checksum` of each `[[package]]`.
fn parse_lock_lines(text: &str) -> Option<Lockfile> {
    let mut lock = Lockfile::new(LockFormat::Cargo, Ecosystem::Crates);
    let mut offset = 0;
    let mut current: Option<Locked> = None;
    let finish = |cur: Option<Locked>, lock: &mut Lockfile| {
        if let Some(e) = cur.filter(|e| !e.name.is_empty() && !e.version.is_empty()) {
            lock.entries.push(e);
        }
    };
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end();
        if line.starts_with('[') {
            finish(current.take(), &mut lock);
            if line == "[[package]]" {
                current = Some(Locked {
                    is_local: true,
                    ..Locked::default()
                });
            }
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let value = value.trim_matches('"');
        match key {
            "name" => {
                entry.name = value.to_string();
                entry.span = start..start + line.len();
            }
            "version" => entry.version = value.to_string(),
            "checksum" => entry.has_integrity = true,
            "source" => {
                entry.is_local = false;
                if value.starts_with("git+") {
                    entry.resolved = Some((value.to_string(), entry.span.clone()));
                }
            }
            _ => {}
        }
    }
    finish(current.take(), &mut lock);
    (!lock.entries.is_empty()).then_some(lock)
}

/// (name, version) -> byte range of the `name = "..."` line of each `[[package]]`.
fn package_spans(text: &str) -> HashMap<(String, String), Range<usize>> {
    let mut out = HashMap::new();
    let mut offset = 0;
    let mut name: Option<(String, Range<usize>)> = None;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end();
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some((v.trim_matches('"').to_string(), start..start + line.len()));
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some((n, span)) = name.take()
        {
            out.insert((n, v.trim_matches('"').to_string()), span);
        }
    }
    out
}

/// Reads the dependency tables of a `Cargo.toml`.
pub fn parse_manifest(text: &str) -> Manifest {
    let mut manifest = Manifest::default();
    let mut section = String::new();
    // `[dependencies.foo]` tables: (name, span of header, spec, source)
    let mut table: Option<Declared> = None;
    // a multi-line inline table (`foo = { git = "...",` continued on the next lines)
    let mut open: Option<(Declared, String)> = None;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end();
        let body = line.trim_start();
        let span = start + (line.len() - body.len())..start + line.len();
        if let Some((mut dep, mut inner)) = open.take() {
            let body = body.split(" #").next().unwrap_or(body);
            inner.push_str(body);
            inner.push(',');
            if body.contains('}') {
                apply_inline(&mut dep, &inner);
                manifest.deps.push(dep);
            } else {
                open = Some((dep, inner));
            }
            continue;
        }
        if body.starts_with('[') {
            if let Some(t) = table.take() {
                manifest.deps.push(t);
            }
            section = body.trim_matches(['[', ']']).to_string();
            if let Some((sec, name)) = section.rsplit_once('.')
                && is_dep_section(sec)
            {
                table = Some(Declared {
                    name: name.trim_matches('"').to_string(),
                    spec: String::new(),
                    section: sec.to_string(),
                    span,
                    cargo_source: None,
                });
            }
            continue;
        }
        let Some((key, value)) = body.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some(t) = table.as_mut() {
            apply_field(t, key, value);
            continue;
        }
        if !is_dep_section(&section) || key.starts_with('#') {
            continue;
        }
        let mut dep = Declared {
            name: key.trim_matches('"').to_string(),
            spec: String::new(),
            section: section.clone(),
            span,
            cargo_source: None,
        };
        if value.starts_with('"') {
            dep.spec = value.trim_matches('"').to_string();
        } else if let Some(inner) = value.strip_prefix('{') {
            if !inner.contains('}') {
                let mut inner = inner.to_string();
                inner.push(',');
                open = Some((dep, inner));
                continue;
            }
            apply_inline(&mut dep, inner);
        }
        manifest.deps.push(dep);
    }
    if let Some(t) = table.take() {
        manifest.deps.push(t);
    }
    manifest
}

/// Applies the `key = value` fields of an inline table's inside (`git = "..", rev = ".."}`).
fn apply_inline(dep: &mut Declared, inner: &str) {
    let inner = inner.split('}').next().unwrap_or(inner);
    for field in inner.split(',') {
        if let Some((k, v)) = field.split_once('=') {
            apply_field(dep, k.trim(), v.trim());
        }
    }
}

fn is_dep_section(section: &str) -> bool {
    section.ends_with("dependencies")
}

fn apply_field(dep: &mut Declared, key: &str, value: &str) {
    let v = value.trim_matches('"');
    match key {
        "version" => dep.spec = v.to_string(),
        "git" if dep.cargo_source.is_none() => {
            dep.cargo_source = Some(CargoSource::Git { is_pinned: false });
        }
        "rev" | "tag" => dep.cargo_source = Some(CargoSource::Git { is_pinned: true }),
        "path" => dep.cargo_source = Some(CargoSource::Path),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_inconsistent_lockfile_line_by_line() {
        let text = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"gone\"]\n\n[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let lock = parse_lock(text).unwrap();
        assert_eq!(lock.entries.len(), 2);
        assert_eq!(lock.entries[1].name, "regex");
        assert!(!lock.entries[1].is_local);
        assert_eq!(&text[lock.entries[1].span.clone()], "name = \"regex\"");
    }

    #[test]
    fn reads_inline_tables_and_dependency_tables() {
        let text = "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\nfoo = { git = \"https://g/x\" }\nbar = { git = \"https://g/y\", rev = \"abc\" }\n\n[dependencies.baz]\nversion = \"*\"\n";
        let m = parse_manifest(text);
        let names: Vec<_> = m.deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["serde", "foo", "bar", "baz"]);
        assert_eq!(
            m.deps[1].cargo_source,
            Some(CargoSource::Git { is_pinned: false })
        );
        assert_eq!(m.deps[3].spec, "*");
    }

    #[test]
    fn reads_multi_line_inline_tables() {
        let text = "[dependencies]\nfoo = {\n  git = \"https://g/x\",\n  branch = \"main\",\n}\nbar = { version = \"1\",\n  features = [\"a\"] }\nbaz = \"*\"\n";
        let m = parse_manifest(text);
        let names: Vec<_> = m.deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["foo", "bar", "baz"]);
        assert_eq!(
            m.deps[0].cargo_source,
            Some(CargoSource::Git { is_pinned: false })
        );
        assert_eq!(m.deps[1].spec, "1");
    }
}

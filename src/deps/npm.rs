//! npm-family files: `package.json`, `package-lock.json`/`npm-shrinkwrap.json` (v1, v2, v3),
//! `yarn.lock` (classic and Berry) and `pnpm-lock.yaml` (v5 to v9), read into [`model`] shapes.
//!
//! YAML-like lockfiles are read line by line (their layout is fixed by the tools that write them),
//! which keeps exact line numbers and parses a 50k-entry file in milliseconds.
//!
//! [`model`]: super::model

use std::ops::Range;

use super::json::{self, Node};
use super::model::{Declared, LockFormat, Locked, Lockfile, Manifest, split_at_version};
use super::osv::Ecosystem;

/// The dependency sections of `package.json`.
pub const SECTIONS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Reads a `package.json`; `None` when it is not a JSON object.
pub fn parse_manifest(text: &str) -> Option<Manifest> {
    parse_manifest_at(text).ok()
}

/// Reads a `package.json`; on invalid JSON (or not an object), the byte offset where reading
/// stopped.
pub fn parse_manifest_at(text: &str) -> Result<Manifest, usize> {
    let doc = json::parse_at(text)?;
    let mut manifest = Manifest {
        name: doc.get("name").and_then(Node::as_str).map(String::from),
        ..Manifest::default()
    };
    for member in doc.members().ok_or(0usize)? {
        if SECTIONS.contains(&member.key.as_str()) {
            let is_installed = member.key != "peerDependencies";
            if is_installed
                && manifest.install_section.is_none()
                && member.node.members().is_some_and(|m| !m.is_empty())
            {
                manifest.install_section = Some(member.key_span.clone());
            }
            for dep in member.node.members().unwrap_or_default() {
                if let Some(spec) = dep.node.as_str() {
                    manifest.deps.push(Declared {
                        name: dep.key.clone(),
                        spec: spec.to_string(),
                        section: member.key.clone(),
                        span: dep.key_span.start..dep.node.span.end,
                        cargo_source: None,
                    });
                }
            }
        }
    }
    manifest.is_published_library = doc.get("files").is_some();
    // `workspaces: [..]` or `workspaces: { packages: [..] }`
    let ws = doc.get("workspaces");
    let list = ws.and_then(|w| w.get("packages")).or(ws);
    if let Some(json::Value::Array(items)) = list.map(|n| &n.value) {
        manifest.workspaces = items
            .iter()
            .filter_map(Node::as_str)
            .map(String::from)
            .collect();
    }
    Ok(manifest)
}

/// Reads a `package-lock.json` or `npm-shrinkwrap.json`.
pub fn parse_package_lock(text: &str) -> Option<Lockfile> {
    parse_package_lock_at(text).ok()
}

/// Reads a `package-lock.json` or `npm-shrinkwrap.json`; on invalid JSON, the byte offset where
/// reading stopped.
pub fn parse_package_lock_at(text: &str) -> Result<Lockfile, usize> {
    let doc = json::parse_at(text)?;
    if let Some(packages) = doc.get("packages").and_then(Node::members) {
        let mut lock = Lockfile::new(LockFormat::NpmV2, Ecosystem::Npm);
        for m in packages {
            let node = &m.node;
            if m.key.is_empty() || !m.key.contains("node_modules/") {
                // the root project or a workspace folder: record what it asked for
                let importer = m.key.as_str();
                for section in SECTIONS {
                    for dep in node
                        .get(section)
                        .and_then(Node::members)
                        .unwrap_or_default()
                    {
                        if let Some(spec) = dep.node.as_str() {
                            lock.recorded.insert(
                                format!("{importer}\0{}", dep.key),
                                (spec.to_string(), dep.key_span.start..dep.node.span.end),
                            );
                            if section != "peerDependencies" {
                                let is_dev = section == "devDependencies";
                                let e = lock.direct.entry(dep.key.clone()).or_insert(is_dev);
                                *e &= is_dev;
                            }
                        }
                    }
                }
                continue;
            }
            let path_name = m
                .key
                .rsplit_once("node_modules/")
                .map_or(m.key.as_str(), |(_, n)| n);
            let name = node
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or(path_name)
                .to_string();
            // links point at folders; bundled packages ship inside their parent's tarball
            let is_link = node.get("link").is_some_and(Node::is_true)
                || node.get("inBundle").is_some_and(Node::is_true);
            let version = node
                .get("version")
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_string();
            if !version.is_empty() {
                lock.top.insert(m.key.clone(), version.clone());
            }
            lock.entries.push(Locked {
                name,
                version,
                span: m.key_span.clone(),
                resolved: string_with_span(node, "resolved"),
                has_integrity: node.get("integrity").is_some(),
                has_install_script: node.get("hasInstallScript").is_some_and(Node::is_true),
                is_local: is_link,
                deprecated: node
                    .get("deprecated")
                    .and_then(Node::as_str)
                    .map(String::from),
                is_dev: node.get("dev").is_some_and(Node::is_true),
                is_optional: node.get("optional").is_some_and(Node::is_true),
                integrity: node
                    .get("integrity")
                    .and_then(Node::as_str)
                    .map(String::from),
                license: node.get("license").and_then(Node::as_str).map(String::from),
                dependencies: dependency_names(node),
                path: m.key.clone(),
            });
        }
        return Ok(lock);
    }
    let mut lock = Lockfile::new(LockFormat::NpmV1, Ecosystem::Npm);
    if let Some(deps) = doc.get("dependencies") {
        walk_v1(deps, "", &mut lock);
    }
    Ok(lock)
}

/// The names an entry depends on (`dependencies`, `optionalDependencies`; v1: `requires`).
fn dependency_names(node: &Node) -> Vec<String> {
    ["dependencies", "optionalDependencies", "requires"]
        .iter()
        .filter_map(|k| node.get(k).and_then(Node::members))
        .flatten()
        .map(|m| m.key.clone())
        .collect()
}

fn string_with_span(node: &Node, key: &str) -> Option<(String, Range<usize>)> {
    let v = node.get(key)?;
    Some((v.as_str()?.to_string(), v.span.clone()))
}

/// v1 nests transitive copies under each package's own `dependencies`.
fn walk_v1(deps: &Node, prefix: &str, lock: &mut Lockfile) {
    for m in deps.members().unwrap_or_default() {
        let node = &m.node;
        let version = node
            .get("version")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string();
        let path = format!("{prefix}node_modules/{}", m.key);
        // v1 writes local folders as `file:...` versions
        let is_local =
            version.starts_with("file:") || node.get("bundled").is_some_and(Node::is_true);
        lock.top.insert(path.clone(), version.clone());
        lock.entries.push(Locked {
            name: m.key.clone(),
            version,
            span: m.key_span.clone(),
            resolved: string_with_span(node, "resolved"),
            has_integrity: node.get("integrity").is_some(),
            has_install_script: false,
            is_local,
            deprecated: None,
            is_dev: node.get("dev").is_some_and(Node::is_true),
            is_optional: node.get("optional").is_some_and(Node::is_true),
            integrity: node
                .get("integrity")
                .and_then(Node::as_str)
                .map(String::from),
            license: None,
            dependencies: dependency_names(node),
            path: path.clone(),
        });
        if let Some(nested) = node.get("dependencies") {
            walk_v1(nested, &format!("{path}/"), lock);
        }
    }
}

/// A line of a YAML-like lockfile: indentation, trimmed content and its byte range.
struct Line<'a> {
    indent: usize,
    text: &'a str,
    range: Range<usize>,
}

fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut offset = 0;
    text.split_inclusive('\n').filter_map(move |raw| {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            return None;
        }
        let indent = line.len() - body.len();
        Some(Line {
            indent,
            text: body,
            range: start + indent..start + line.len(),
        })
    })
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(s)
}

/// Reads a `yarn.lock`, classic (`version "1.2.3"`) or Berry (`version: 1.2.3`).
pub fn parse_yarn_lock(text: &str) -> Lockfile {
    let is_berry = text.contains("\n__metadata:") || text.starts_with("__metadata:");
    let format = if is_berry {
        LockFormat::YarnBerry
    } else {
        LockFormat::YarnClassic
    };
    let mut lock = Lockfile::new(format, Ecosystem::Npm);
    let mut current: Option<(Vec<String>, Locked)> = None;
    let finish = |cur: Option<(Vec<String>, Locked)>, lock: &mut Lockfile| {
        if let Some((descriptors, entry)) = cur
            && !entry.version.is_empty()
        {
            for d in descriptors {
                lock.top.insert(d, entry.version.clone());
            }
            lock.entries.push(entry);
        }
    };
    // the indent-2 block an indent-4 line belongs to (`dependencies:`, `optionalDependencies:`)
    let mut block = "";
    for line in lines(text) {
        if line.indent == 0 {
            finish(current.take(), &mut lock);
            block = "";
            let Some(header) = line.text.strip_suffix(':') else {
                continue;
            };
            if header == "__metadata" {
                continue;
            }
            let descriptors: Vec<String> =
                header.split(", ").map(|d| unquote(d).to_string()).collect();
            let Some((name, _)) = descriptors.first().and_then(|d| split_at_version(d)) else {
                continue;
            };
            let entry = Locked {
                name: name.to_string(),
                span: line.range.clone(),
                ..Locked::default()
            };
            current = Some((descriptors, entry));
            continue;
        }
        let Some((_, entry)) = current.as_mut() else {
            continue;
        };
        if line.indent == 4 {
            if matches!(block, "dependencies" | "optionalDependencies") {
                let name = line.text.split([' ', ':']).next().map(unquote);
                let name = name.map(|n| n.trim_end_matches(':'));
                if let Some(n) = name.filter(|n| !n.is_empty()) {
                    entry.dependencies.push(n.to_string());
                }
            }
            continue;
        }
        if line.indent != 2 {
            continue;
        }
        if let Some(b) = line.text.strip_suffix(':') {
            block = if b.contains(' ') { "" } else { b };
            continue;
        }
        block = "";
        let (key, value) = match line.text.split_once(if is_berry { ": " } else { " " }) {
            Some((k, v)) => (k, unquote(v)),
            None => continue,
        };
        let value_start = line.range.start + line.text.rfind(value).unwrap_or(0);
        let value_range = value_start..value_start + value.len();
        match key {
            "version" => entry.version = value.to_string(),
            "resolved" => {
                // classic appends `#<sha1>` to registry URLs: a (weak) integrity hash
                if let Some((_, h)) = value.rsplit_once('#').filter(|(_, h)| h.len() == 40) {
                    entry.has_integrity = true;
                    entry.integrity.get_or_insert_with(|| format!("sha1:{h}"));
                }
                entry.resolved = Some((value.to_string(), value_range));
            }
            "resolution" => {
                let (_, reference) = split_at_version(value).unwrap_or(("", value));
                // `patch:` copies are the registry package (listed on its own) with a local
                // patch applied; `portal:`/`link:`/`file:`/`workspace:` are folders
                let is_local = ["workspace:", "link:", "portal:", "file:", "patch:"]
                    .iter()
                    .any(|p| reference.starts_with(p));
                entry.is_local |= is_local;
                if !reference.starts_with("npm:") && !is_local {
                    entry.resolved = Some((reference.to_string(), value_range));
                }
            }
            "integrity" | "checksum" => {
                entry.has_integrity = true;
                entry.integrity = Some(value.to_string());
            }
            "linkType" if value == "soft" => entry.is_local = true,
            _ => {}
        }
    }
    finish(current.take(), &mut lock);
    if is_berry {
        // Berry writes `0.0.0-use.local` workspaces and `patch:` entries; neither is downloaded
        for e in &mut lock.entries {
            if e.version.ends_with("-use.local") {
                e.is_local = true;
            }
        }
    }
    lock
}

/// Reads a `pnpm-lock.yaml` (lockfile versions 5.x, 6.x and 9.x).
pub fn parse_pnpm_lock(text: &str) -> Lockfile {
    let mut lock = Lockfile::new(LockFormat::Pnpm, Ecosystem::Npm);
    // section at indent 0; for `importers`, the importer at indent 2
    let mut section = "";
    let mut importer = String::from(".");
    let mut dep_name: Option<String> = None;
    let mut entry: Option<Locked> = None;
    let push = |entry: Option<Locked>, lock: &mut Lockfile| {
        if let Some(e) = entry {
            lock.entries.push(e);
        }
    };
    // the indent-4 section of an importer, or of a package (`dependencies:`)
    let mut sub = "";
    for line in lines(text) {
        if line.indent == 0 {
            push(entry.take(), &mut lock);
            section = line.text.split(':').next().unwrap_or("");
            importer = ".".into();
            continue;
        }
        match section {
            "packages" => {
                if line.indent == 2 {
                    push(entry.take(), &mut lock);
                    sub = "";
                    let key = unquote(line.text.trim_end_matches(':'));
                    entry = pnpm_package_key(key).map(|(name, version)| Locked {
                        name,
                        version,
                        span: line.range.clone(),
                        ..Locked::default()
                    });
                } else if line.indent == 4
                    && let Some(e) = entry.as_mut()
                {
                    sub = line.text.strip_suffix(':').unwrap_or("");
                    pnpm_field(line.text, &line.range, e);
                } else if line.indent == 6
                    && matches!(sub, "dependencies" | "optionalDependencies")
                    && let Some(e) = entry.as_mut()
                    && let Some((name, _)) = line.text.split_once(':')
                {
                    e.dependencies.push(unquote(name).to_string());
                }
            }
            "importers" => {
                if line.indent == 2 {
                    importer = unquote(line.text.trim_end_matches(':')).to_string();
                } else if line.indent == 4 {
                    sub = line.text.strip_suffix(':').unwrap_or("");
                } else if line.indent == 6 {
                    let name = unquote(line.text.split(':').next().unwrap_or("")).to_string();
                    add_direct(&mut lock, &name, sub);
                    dep_name = Some(name);
                } else if line.indent == 8
                    && let Some(spec) = line.text.strip_prefix("specifier:")
                    && let Some(name) = &dep_name
                {
                    lock.top
                        .insert(format!("{importer}\0{name}"), unquote(spec).to_string());
                }
            }
            // lockfile v5/v6 without importers: `dependencies:` / `devDependencies:` at top level
            "dependencies" | "devDependencies" | "optionalDependencies" => {
                if line.indent == 2 {
                    let name = unquote(line.text.split(':').next().unwrap_or("")).to_string();
                    add_direct(&mut lock, &name, section);
                    dep_name = Some(name);
                } else if line.indent == 4
                    && let Some(spec) = line.text.strip_prefix("specifier:")
                    && let Some(name) = &dep_name
                {
                    lock.top
                        .insert(format!(".\0{name}"), unquote(spec).to_string());
                }
            }
            // lockfile v5: `specifiers:` maps name -> spec
            "specifiers" if line.indent == 2 => {
                if let Some((name, spec)) = line.text.split_once(": ") {
                    lock.top
                        .insert(format!(".\0{}", unquote(name)), unquote(spec).to_string());
                }
            }
            _ => {}
        }
    }
    push(entry.take(), &mut lock);
    lock
}

/// Records a direct dependency from an importer section; dev-only while no other section has it.
fn add_direct(lock: &mut Lockfile, name: &str, section: &str) {
    if name.is_empty() || !SECTIONS[..3].contains(&section) {
        return;
    }
    let is_dev = section == "devDependencies";
    let e = lock.direct.entry(name.to_string()).or_insert(is_dev);
    *e &= is_dev;
}

/// `/name/1.2.3` (v5), `/name@1.2.3` (v6), `name@1.2.3(peer@1)` (v9) -> (name, version).
fn pnpm_package_key(key: &str) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next().unwrap_or(key);
    if let Some((name, version)) = split_at_version(key) {
        return Some((name.to_string(), version.to_string()));
    }
    // v5: the version is the last path segment (peer suffix after `_`)
    let (name, version) = key.rsplit_once('/')?;
    let version = version.split('_').next().unwrap_or(version);
    crate::deps::version::parse(version)?;
    Some((name.to_string(), version.to_string()))
}

fn pnpm_field(text: &str, range: &Range<usize>, e: &mut Locked) {
    if let Some(res) = text.strip_prefix("resolution:") {
        let res = res.trim().trim_start_matches('{').trim_end_matches('}');
        let mut tarball = None;
        let mut repo = None;
        for part in res.split(", ") {
            if let Some((k, v)) = part.split_once(": ") {
                match k.trim() {
                    "integrity" => {
                        e.has_integrity = true;
                        e.integrity = Some(unquote(v).to_string());
                    }
                    "tarball" => tarball = Some(unquote(v).to_string()),
                    "repo" => repo = Some(unquote(v).to_string()),
                    "directory" => e.is_local = true,
                    _ => {}
                }
            }
        }
        if let Some(url) = tarball.or(repo) {
            e.resolved = Some((url, range.clone()));
        }
    } else if text == "requiresBuild: true" {
        e.has_install_script = true;
    } else if text == "dev: true" {
        e.is_dev = true;
    } else if text == "optional: true" {
        e.is_optional = true;
    } else if let Some(msg) = text.strip_prefix("deprecated:") {
        e.deprecated = Some(unquote(msg).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lockfile_v3_entries_with_positions() {
        let text = r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1.0.0"}},
 "node_modules/a": {"version": "1.2.0", "resolved": "https://registry.npmjs.org/a/-/a-1.2.0.tgz", "integrity": "sha512-x"}}}"#;
        let lock = parse_package_lock(text).unwrap();
        assert_eq!(lock.entries.len(), 1);
        assert_eq!(lock.entries[0].name, "a");
        assert!(lock.entries[0].has_integrity);
        assert_eq!(lock.top["node_modules/a"], "1.2.0");
        assert_eq!(lock.recorded["\0a"].0, "^1.0.0");
    }

    #[test]
    fn reads_pnpm_keys_of_every_version() {
        assert_eq!(
            pnpm_package_key("/@babel/core/7.1.0_peer"),
            Some(("@babel/core".into(), "7.1.0".into()))
        );
        assert_eq!(
            pnpm_package_key("/lodash@4.17.21"),
            Some(("lodash".into(), "4.17.21".into()))
        );
        assert_eq!(
            pnpm_package_key("react-dom@18.2.0(react@18.2.0)"),
            Some(("react-dom".into(), "18.2.0".into()))
        );
    }
}

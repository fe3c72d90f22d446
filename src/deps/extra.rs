//! Lockfiles of the newer JavaScript runtimes: Bun's text `bun.lock` (Bun 1.2+, JSONC) and
//! Deno's `deno.lock` (v3 to v5). Both are read into the same [`model`] shapes as npm's, so every
//! lockfile check (advisories, sources, integrity) applies.
//!
//! [`model`]: super::model

use super::json::{self, Node};
use super::model::{LockFormat, Locked, Lockfile, split_at_version};
use super::npm::SECTIONS;
use super::osv::Ecosystem;

/// Reads a `bun.lock`: `packages` maps an install path to
/// `["name@version", "registry", {meta}, "integrity"]` (workspaces, links and git entries are
/// shorter arrays); `workspaces[""]` lists the root's direct dependencies. On invalid JSONC, the
/// byte offset where reading stopped.
pub fn parse_bun_lock(text: &str) -> Result<Lockfile, usize> {
    let doc = json::parse_trailing_commas(text)?;
    let mut lock = Lockfile::new(LockFormat::Bun, Ecosystem::Npm);
    for ws in doc
        .get("workspaces")
        .and_then(Node::members)
        .unwrap_or_default()
    {
        for section in &SECTIONS[..3] {
            for dep in ws
                .node
                .get(section)
                .and_then(Node::members)
                .unwrap_or_default()
            {
                let is_dev = *section == "devDependencies";
                *lock.direct.entry(dep.key.clone()).or_insert(is_dev) &= is_dev;
            }
        }
    }
    for m in doc
        .get("packages")
        .and_then(Node::members)
        .unwrap_or_default()
    {
        let json::Value::Array(items) = &m.node.value else {
            continue;
        };
        let Some((name, reference)) = items
            .first()
            .and_then(Node::as_str)
            .and_then(split_at_version)
        else {
            continue;
        };
        let meta = items.iter().find(|n| n.members().is_some());
        // registry entries: [descriptor, registry, meta, integrity]; others (workspace:, link:,
        // file:, git, github:, tarball URLs) have no registry string in second place
        let is_registry = items.len() == 4 && items.get(1).and_then(Node::as_str).is_some();
        let (version, resolved, is_local) = if is_registry {
            (reference.to_string(), None, false)
        } else {
            let is_local = ["workspace:", "link:", "file:", "portal:"]
                .iter()
                .any(|p| reference.starts_with(p));
            let source = (!is_local).then(|| (reference.to_string(), m.node.span.clone()));
            (reference.to_string(), source, is_local)
        };
        let integrity = items
            .last()
            .and_then(Node::as_str)
            .filter(|s| s.starts_with("sha"))
            .map(String::from);
        lock.entries.push(Locked {
            name: name.to_string(),
            version,
            span: m.key_span.clone(),
            resolved,
            // only registry tarballs carry (and need) a hash
            has_integrity: integrity.is_some() || !is_registry,
            is_local,
            is_optional: meta
                .and_then(|n| n.get("optional"))
                .is_some_and(Node::is_true),
            integrity,
            dependencies: meta.map(dependency_keys).unwrap_or_default(),
            ..Locked::default()
        });
    }
    Ok(lock)
}

fn dependency_keys(meta: &Node) -> Vec<String> {
    ["dependencies", "optionalDependencies"]
        .iter()
        .filter_map(|k| meta.get(k).and_then(Node::members))
        .flatten()
        .map(|m| m.key.clone())
        .collect()
}

/// Reads a `deno.lock`: npm packages under `npm` (v4, v5) or `packages.npm` (v3), keyed
/// `name@version` with an optional `_peer` suffix. JSR and remote modules have no npm advisories
/// and are not listed. On invalid JSON, the byte offset where reading stopped.
pub fn parse_deno_lock(text: &str) -> Result<Lockfile, usize> {
    let doc = json::parse_at(text)?;
    let mut lock = Lockfile::new(LockFormat::Deno, Ecosystem::Npm);
    let npm = doc
        .get("npm")
        .or_else(|| doc.get("packages").and_then(|p| p.get("npm")));
    for m in npm.and_then(Node::members).unwrap_or_default() {
        let Some((name, version)) = split_at_version(&m.key) else {
            continue;
        };
        let version = version.split('_').next().unwrap_or(version);
        let integrity = m.node.get("integrity").and_then(Node::as_str);
        let dependencies = match m.node.get("dependencies").map(|d| &d.value) {
            // v4/v5: ["name", "name@version", ...]; v3: {"name": "name@version"}
            Some(json::Value::Array(items)) => items
                .iter()
                .filter_map(Node::as_str)
                .map(|d| split_at_version(d).map_or(d, |(n, _)| n).to_string())
                .collect(),
            Some(json::Value::Object(members)) => members.iter().map(|d| d.key.clone()).collect(),
            _ => Vec::new(),
        };
        lock.entries.push(Locked {
            name: name.to_string(),
            version: version.to_string(),
            span: m.key_span.clone(),
            has_integrity: integrity.is_some(),
            integrity: integrity.map(String::from),
            has_install_script: m.node.get("scripts").is_some_and(Node::is_true),
            deprecated: m
                .node
                .get("deprecated")
                .and_then(Node::as_str)
                .map(String::from),
            dependencies,
            ..Locked::default()
        });
    }
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bun_lock_entries_and_workspaces() {
        let text = r#"{
  "lockfileVersion": 1,
  "workspaces": {
    "": { "name": "app", "dependencies": { "express": "^4.18.2", }, "devDependencies": { "vitest": "^1.0.0" }, },
  },
  "packages": {
    "express": ["express@4.18.2", "", { "dependencies": { "accepts": "~1.3.8" } }, "sha512-AAAA"],
    "mylib": ["mylib@github:acme/mylib#0123abc", { }, "acme-mylib-0123abc"],
    "shared": ["shared@workspace:packages/shared"],
  }
}"#;
        let lock = parse_bun_lock(text).unwrap();
        assert_eq!(lock.entries.len(), 3);
        assert_eq!(lock.entries[0].version, "4.18.2");
        assert_eq!(lock.entries[0].dependencies, ["accepts"]);
        assert!(lock.entries[0].has_integrity);
        assert!(lock.entries[1].resolved.is_some());
        assert!(lock.entries[2].is_local);
        assert_eq!(lock.direct.get("vitest"), Some(&true));
        assert_eq!(lock.direct.get("express"), Some(&false));
    }

    #[test]
    fn reads_deno_lock_v3_and_v4() {
        let v4 = r#"{"version": "4", "specifiers": {"npm:express@4": "4.18.2"},
          "npm": {"express@4.18.2": {"integrity": "sha512-x", "dependencies": ["accepts"]},
                  "@types/react-dom@18.2.0_@types+react@18.2.0": {"integrity": "sha512-y", "dependencies": []}}}"#;
        let lock = parse_deno_lock(v4).unwrap();
        assert_eq!(lock.entries.len(), 2);
        assert_eq!(lock.entries[1].name, "@types/react-dom");
        assert_eq!(lock.entries[1].version, "18.2.0");
        let v3 = r#"{"version": "3", "packages": {"specifiers": {}, "npm": {"ms@2.1.3": {"integrity": "sha512-z", "dependencies": {}}}}}"#;
        assert_eq!(parse_deno_lock(v3).unwrap().entries[0].name, "ms");
    }
}

//! `vibeward sbom`: a software bill of materials from every lockfile the dependency reader
//! understands, as `CycloneDX` 1.6 JSON or SPDX 2.3 JSON.
//!
//! The document is built from the same [`model`] shapes the checks use: one component per
//! (ecosystem, name, version) with its package URL, integrity hashes (converted to hex), the
//! licence the lockfile records, its scope (required, optional, or development-only, which
//! `CycloneDX` calls `excluded`) and the dependency graph. npm dependency names resolve the way npm
//! does (the nearest `node_modules` folder up the install path); other formats record only names,
//! so a name with several locked versions resolves to the first one listed.
//!
//! Output is deterministic: components are sorted by package URL, the serial number (`CycloneDX`)
//! and document namespace (SPDX) are derived from a SHA-256 of the content, and no timestamp is
//! written unless one is passed (SPDX requires `created`: `1970-01-01T00:00:00Z` stands in).
//! The document model is written with `serde_json` directly: the `CycloneDX` project's Rust crate
//! supports 1.5 at most and pulls in a large dependency tree.
//!
//! [`model`]: super::model

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::{Locked, Lockfile};
use super::osv::Ecosystem;
use super::{DepFile, Parsed, dep_file, read};
use crate::discover::{self, DiscoverOptions, FileKind};
use crate::source::{self, Loaded};

/// The document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    /// `CycloneDX` 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// What `vibeward sbom` was asked for.
#[derive(Debug, Clone)]
pub struct SbomOptions {
    /// The format.
    pub format: SbomFormat,
    /// A timestamp (RFC 3339) to write; none by default, for byte-identical output.
    pub timestamp: Option<String>,
}

/// Why no SBOM could be written.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// A path could not be walked.
    #[error(transparent)]
    Discover(#[from] discover::DiscoverError),
}

/// The SBOM and the lockfiles that could not be read (path, reason).
#[derive(Debug)]
pub struct Sbom {
    /// The JSON document, pretty-printed, ending in a newline.
    pub document: String,
    /// Lockfiles read.
    pub lockfiles: Vec<String>,
    /// Lockfiles that could not be read, with why.
    pub unreadable: Vec<(String, String)>,
    /// Number of components.
    pub components: usize,
}

/// One package version in the document.
#[derive(Debug, Default)]
struct Component {
    ecosystem: Option<Ecosystem>,
    name: String,
    version: String,
    hashes: BTreeSet<(&'static str, String)>,
    license: Option<String>,
    download: Option<String>,
    /// Whether any copy is needed at run time (not dev-only) / not optional.
    is_runtime: bool,
    is_required: bool,
    depends_on: BTreeSet<String>,
}

/// Builds the SBOM of every lockfile under `paths` (`node_modules` and other default excludes
/// are not walked).
pub fn build_sbom(paths: &[PathBuf], options: &SbomOptions) -> Result<Sbom, SbomError> {
    let found = discover::discover(paths, &DiscoverOptions::default())?;
    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    let mut root_deps = BTreeSet::new();
    let mut lockfiles = Vec::new();
    let mut unreadable = Vec::new();
    for candidate in found
        .candidates
        .iter()
        .filter(|c| c.kind == FileKind::Lockfile)
    {
        let Some(kind) = dep_file(&candidate.display) else {
            continue;
        };
        let Loaded::File(file, _) = source::load(candidate) else {
            unreadable.push((candidate.display.clone(), "unreadable".into()));
            continue;
        };
        let lock = match read(kind, &file.text) {
            Ok(Parsed::Lock(lock)) => lock,
            Ok(_) => continue,
            Err(e) => {
                let line = file.position(e.offset).line;
                unreadable.push((
                    candidate.display.clone(),
                    format!("{} at line {line}", e.message),
                ));
                continue;
            }
        };
        lockfiles.push(candidate.display.clone());
        let direct = if lock.direct.is_empty() && lock.ecosystem == Ecosystem::Npm {
            super::manifest_beside(&candidate.path.to_string_lossy())
        } else {
            lock.direct.clone()
        };
        add_lockfile(&lock, kind, &direct, &mut components, &mut root_deps);
    }
    let root_name = project_name(paths);
    let document = match options.format {
        SbomFormat::CycloneDx => cyclonedx(&root_name, &components, &root_deps, options),
        SbomFormat::Spdx => spdx(&root_name, &components, &root_deps, options),
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    Ok(Sbom {
        document: text,
        lockfiles,
        unreadable,
        components: components.len(),
    })
}

fn project_name(paths: &[PathBuf]) -> String {
    let first = paths
        .first()
        .map_or_else(|| PathBuf::from("."), Clone::clone);
    let dir = if first.is_file() {
        first.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        first
    };
    std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|t| super::npm::parse_manifest(&t))
        .and_then(|m| m.name)
        .or_else(|| {
            std::fs::canonicalize(&dir)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "project".into())
}

fn add_lockfile(
    lock: &Lockfile,
    kind: DepFile,
    direct: &HashMap<String, bool>,
    components: &mut BTreeMap<String, Component>,
    root_deps: &mut BTreeSet<String>,
) {
    let is_npm_tree = matches!(kind, DepFile::PackageLock);
    let mut first_version: HashMap<&str, &str> = HashMap::new();
    for e in lock.entries.iter().filter(|e| !e.is_local) {
        first_version.entry(&e.name).or_insert(&e.version);
    }
    let resolve = |from: &Locked, name: &str| -> Option<String> {
        let version = if is_npm_tree {
            npm_resolve(lock, &from.path, name)?
        } else {
            first_version.get(name)?
        };
        Some(purl(lock.ecosystem, name, version))
    };
    let root = Locked::default();
    let mut names: Vec<&String> = direct.keys().collect();
    names.sort();
    root_deps.extend(names.into_iter().filter_map(|name| resolve(&root, name)));
    for e in lock
        .entries
        .iter()
        .filter(|e| !e.is_local && !e.version.is_empty())
    {
        let id = purl(lock.ecosystem, &e.name, &e.version);
        let deps: Vec<String> = e
            .dependencies
            .iter()
            .filter_map(|d| resolve(e, d))
            .collect();
        let c = components.entry(id).or_insert_with(|| Component {
            ecosystem: Some(lock.ecosystem),
            name: e.name.clone(),
            version: e.version.clone(),
            ..Component::default()
        });
        let is_dev = e.is_dev || direct.get(&e.name).copied().unwrap_or(false);
        c.is_runtime |= !is_dev;
        c.is_required |= !is_dev && !e.is_optional;
        c.hashes
            .extend(e.integrity.as_deref().map(hashes).unwrap_or_default());
        if c.license.is_none() {
            c.license.clone_from(&e.license);
        }
        if c.download.is_none() {
            c.download = e
                .resolved
                .as_ref()
                .map(|(u, _)| u.clone())
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        }
        c.depends_on.extend(deps);
    }
}

/// npm's lookup: `<path>/node_modules/<name>`, then each parent folder's, up to the root.
fn npm_resolve<'l>(lock: &'l Lockfile, from: &str, name: &str) -> Option<&'l str> {
    let mut base = from;
    loop {
        let key = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        if let Some(v) = lock.top.get(&key) {
            return Some(v);
        }
        if base.is_empty() {
            return None;
        }
        base = match base.rfind("node_modules/") {
            Some(i) if i > 0 => &base[..i - 1],
            _ => "",
        };
    }
}

/// The package URL (`pkg:npm/%40scope/name@1.0.0`, `pkg:cargo/name@1.0.0`).
fn purl(eco: Ecosystem, name: &str, version: &str) -> String {
    let kind = match eco {
        Ecosystem::Npm => "npm",
        Ecosystem::Crates => "cargo",
    };
    let name = name.replacen('@', "%40", 1);
    let version = version.replace('+', "%2B");
    format!("pkg:{kind}/{name}@{version}")
}

/// Integrity strings to (algorithm, hex): SRI `sha512-<base64>` (several allowed), yarn
/// classic `sha1:<hex>`, Cargo `sha256:<hex>`, Yarn Berry `10c0/<sha512 hex>`.
fn hashes(integrity: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for part in integrity.split_whitespace() {
        if let Some((alg, value)) = part.split_once('-')
            && let Some(alg) = algorithm(alg)
            && let Some(bytes) = base64(value)
        {
            out.push((alg, hex(&bytes)));
        } else if let Some((alg, value)) = part.split_once(':')
            && let Some(alg) = algorithm(alg)
        {
            out.push((alg, value.to_ascii_lowercase()));
        } else {
            let value = part.rsplit('/').next().unwrap_or(part);
            if value.len() == 128 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(("SHA-512", value.to_ascii_lowercase()));
            }
        }
    }
    out
}

fn algorithm(name: &str) -> Option<&'static str> {
    Some(match name {
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
        _ => return None,
    })
}

fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for b in text.bytes().filter(|b| *b != b'=') {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A UUID-shaped identifier (version 5 layout) from a SHA-256 of the document's JSON (hashed
/// as it is written, without building the text).
fn content_uuid(doc: &Value) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    let _ = serde_json::to_writer(&mut hashing, doc);
    let d = hashing.0.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A licence as `CycloneDX` wants it: an SPDX expression when it looks like one, else a name.
fn cdx_license(license: &str) -> Value {
    let is_expression = license
        .split([' ', '(', ')'])
        .filter(|t| !t.is_empty())
        .all(|t| {
            matches!(t, "OR" | "AND" | "WITH")
                || t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.+".contains(&b))
        });
    if is_expression {
        json!({ "expression": license })
    } else {
        json!({ "license": { "name": license } })
    }
}

fn cyclonedx(
    root: &str,
    components: &BTreeMap<String, Component>,
    root_deps: &BTreeSet<String>,
    options: &SbomOptions,
) -> Value {
    let list: Vec<Value> = components
        .iter()
        .map(|(id, c)| {
            let (group, name) = match c.name.split_once('/') {
                Some((g, n)) if g.starts_with('@') => (Some(g), n),
                _ => (None, c.name.as_str()),
            };
            let mut v = json!({
                "type": "library",
                "bom-ref": id,
                "name": name,
                "version": c.version,
                "purl": id,
                "scope": if c.is_required { "required" } else if c.is_runtime { "optional" } else { "excluded" },
            });
            if let Some(g) = group {
                v["group"] = json!(g);
            }
            if !c.hashes.is_empty() {
                v["hashes"] = c
                    .hashes
                    .iter()
                    .map(|(alg, content)| json!({ "alg": alg, "content": content }))
                    .collect();
            }
            if let Some(l) = &c.license {
                v["licenses"] = json!([cdx_license(l)]);
            }
            if let Some(url) = &c.download {
                v["externalReferences"] = json!([{ "type": "distribution", "url": url }]);
            }
            if !c.is_runtime {
                v["properties"] =
                    json!([{ "name": "cdx:npm:package:development", "value": "true" }]);
            }
            v
        })
        .collect();
    let mut dependencies = vec![json!({ "ref": "root", "dependsOn": root_deps })];
    dependencies.extend(
        components
            .iter()
            .map(|(id, c)| json!({ "ref": id, "dependsOn": c.depends_on })),
    );
    let mut doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "tools": { "components": [{
                "type": "application",
                "name": "vibeward",
                "version": env!("CARGO_PKG_VERSION"),
            }] },
            "component": { "type": "application", "bom-ref": "root", "name": root },
        },
        "components": list,
        "dependencies": dependencies,
    });
    if let Some(t) = &options.timestamp {
        doc["metadata"]["timestamp"] = json!(t);
    }
    let serial = format!("urn:uuid:{}", content_uuid(&doc));
    doc["serialNumber"] = json!(serial);
    doc
}

fn spdx(
    root: &str,
    components: &BTreeMap<String, Component>,
    root_deps: &BTreeSet<String>,
    options: &SbomOptions,
) -> Value {
    let ids: HashMap<&str, String> = components
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), format!("SPDXRef-Package-{}", i + 1)))
        .collect();
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Root",
        "name": root,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Root",
    })];
    for dep in root_deps {
        if let Some(id) = ids.get(dep.as_str()) {
            let is_dev = components.get(dep).is_some_and(|c| !c.is_runtime);
            relationships.push(if is_dev {
                json!({ "spdxElementId": id, "relationshipType": "DEV_DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-Root" })
            } else {
                json!({ "spdxElementId": "SPDXRef-Root", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id })
            });
        }
    }
    for (key, c) in components {
        let id = &ids[key.as_str()];
        let mut p = json!({
            "SPDXID": id,
            "name": c.name,
            "versionInfo": c.version,
            "downloadLocation": c.download.clone().unwrap_or_else(|| "NOASSERTION".into()),
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": c.license.clone().unwrap_or_else(|| "NOASSERTION".into()),
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": key,
            }],
        });
        if !c.hashes.is_empty() {
            p["checksums"] = c
                .hashes
                .iter()
                .map(|(alg, v)| json!({ "algorithm": alg.replace('-', ""), "checksumValue": v }))
                .collect();
        }
        if c.ecosystem.is_some() && !c.is_required {
            p["comment"] = json!(if c.is_runtime {
                "optional"
            } else {
                "development only"
            });
        }
        packages.push(p);
        for dep in &c.depends_on {
            if let Some(target) = ids.get(dep.as_str()) {
                relationships.push(json!({
                    "spdxElementId": id,
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": target,
                }));
            }
        }
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": root,
        "creationInfo": {
            "created": options.timestamp.clone().unwrap_or_else(|| "1970-01-01T00:00:00Z".into()),
            "creators": [format!("Tool: vibeward-{}", env!("CARGO_PKG_VERSION"))],
        },
        "documentDescribes": ["SPDXRef-Root"],
        "packages": packages,
        "relationships": relationships,
    });
    let namespace = format!(
        "https://spdx.org/spdxdocs/vibeward/{}-{}",
        root.replace(['/', '@', ' '], "-"),
        content_uuid(&doc)
    );
    doc["documentNamespace"] = json!(namespace);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_integrity_strings_to_hex() {
        assert_eq!(hashes("sha1-AAEC"), vec![("SHA-1", "000102".to_string())]);
        assert_eq!(hashes("sha256:ABCD"), vec![("SHA-256", "abcd".to_string())]);
        assert_eq!(hashes(&format!("10c0/{}", "a".repeat(128)))[0].0, "SHA-512");
        assert_eq!(
            purl(Ecosystem::Npm, "@babel/core", "7.1.0+x"),
            "pkg:npm/%40babel/core@7.1.0%2Bx"
        );
    }
}

//! The data map (`vibeward report --data-map`): which stores (classes, tables, collections,
//! models, types) hold which personal data, who can read and write them, which third parties
//! receive which data, and where data is processed (region settings).
//!
//! Stores are found by reading schemas and model code with small text scanners (Prisma,
//! Supabase SQL, Mongoose, Drizzle, `TypeORM`, TypeScript types, zod, Firestore writes, Parse
//! classes); access comes from Supabase RLS (the migrations history), Firebase security rules and
//! Parse class-level permissions where they are in the scanned tree, and is "unknown" otherwise.
//! Recipients come from the findings of the privacy flow rules. Rendering is the caller's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::catalogue::{catalogue, classify_field, is_generic_field, is_person_store};
use super::residency::{self, Status};
use crate::discover::{self, FileKind};
use crate::platform::firebase::rules as fb_rules;
use crate::platform::supabase::config::ExposedSchemas;
use crate::platform::supabase::history::History;
use crate::source::{self, Loaded, SourceFile};
use crate::{ScanError, ScanReport, Settings};

/// Everything the data map says, serialisable for JSON and the HTML report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DataMap {
    /// Stores holding personal data, sorted by kind and name.
    pub stores: Vec<Store>,
    /// Third parties (and logs) receiving personal data, sorted by name.
    pub recipients: Vec<Recipient>,
    /// Region settings found, with their judgement when regions are configured.
    pub residency: Vec<ResidencyEntry>,
    /// The allowed regions (`[compliance] regions`); empty: not checked.
    pub allowed_regions: Vec<String>,
}

/// A class, table, collection, model or type holding personal data.
#[derive(Clone, Debug, Serialize)]
pub struct Store {
    /// What kind of store: `supabase-table`, `prisma-model`, `parse-class`, ...
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Where it is defined (first place seen).
    pub location: Location,
    /// Personal-data fields.
    pub fields: Vec<Field>,
    /// Who can read and write it.
    pub access: Access,
}

/// A personal-data field of a store.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// The field name as written.
    pub name: String,
    /// Catalogue type id (`email`, `phone`, ...).
    pub data_type: String,
}

/// Who can read and write a store: `public`, `any signed-in user`, `owner`, `server only`,
/// `restricted`, or `unknown`, with what it was derived from.
#[derive(Clone, Debug, Serialize)]
pub struct Access {
    /// Who can read.
    pub read: String,
    /// Who can write.
    pub write: String,
    /// Where this comes from (RLS, security rules, CLP), or why it is unknown.
    pub basis: String,
}

impl Access {
    fn unknown(basis: &str) -> Self {
        Access {
            read: "unknown".into(),
            write: "unknown".into(),
            basis: basis.into(),
        }
    }
}

/// A place in the scanned tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// Display path.
    pub path: String,
    /// Line, from 1.
    pub line: usize,
}

/// A third party (or the logs) receiving personal data.
#[derive(Clone, Debug, Serialize)]
pub struct Recipient {
    /// `Sentry`, `Segment`, `OpenAI`, `logs`, `URLs (query strings)`, ...
    pub name: String,
    /// Catalogue type ids sent.
    pub data_types: Vec<String>,
    /// Where each flow reaches it.
    pub locations: Vec<Location>,
}

/// One region setting.
#[derive(Clone, Debug, Serialize)]
pub struct ResidencyEntry {
    /// What it configures.
    pub service: String,
    /// The region, when literal.
    pub region: Option<String>,
    /// The expression, when not resolvable.
    pub expression: Option<String>,
    /// Allowed, outside or unknown; `None` when no regions are configured.
    pub status: Option<Status>,
    /// Where.
    pub location: Location,
}

/// Scans `settings.paths` and builds the data map from the scan's privacy findings and the
/// schemas and region settings of the scanned files.
pub fn build_data_map(settings: &Settings) -> Result<DataMap, ScanError> {
    let report = crate::scan(settings)?;
    data_map_for(settings, &report)
}

/// The data map of `settings.paths` from a scan of them already made (the compliance report
/// scans once and builds its data map from the same report).
pub fn data_map_for(settings: &Settings, report: &ScanReport) -> Result<DataMap, ScanError> {
    let mut options = settings.discover.clone();
    options.threads = crate::effective_jobs(settings.jobs);
    let discovered = discover::discover(&settings.paths, &options)?;
    let files: Vec<SourceFile> = discovered
        .candidates
        .iter()
        .filter_map(|c| match source::load(c) {
            Loaded::File(f, _) => Some(f),
            Loaded::Skip(_) => None,
        })
        .collect();
    Ok(data_map_of(&files, report, &settings.regions))
}

/// The data map of already loaded files and a finished scan report.
pub fn data_map_of(files: &[SourceFile], report: &ScanReport, allowed: &[String]) -> DataMap {
    let mut stores: BTreeMap<(String, String), Store> = BTreeMap::new();
    for file in files {
        for (kind, name, at, fields) in stores_in(file) {
            let entry = stores
                .entry((kind.to_string(), name.clone()))
                .or_insert_with(|| Store {
                    kind: kind.to_string(),
                    name,
                    location: Location {
                        path: file.display.clone(),
                        line: file.position(at).line,
                    },
                    fields: Vec::new(),
                    access: Access::unknown("no access rules found for it in the scanned files"),
                });
            for f in fields {
                if !entry.fields.iter().any(|e| e.name == f.name) {
                    entry.fields.push(f);
                }
            }
        }
    }
    // a record with only generic names (`name`, `city`) holds personal data only if it is about
    // people: `plans.name` is not, `users.name` is
    for s in stores.values_mut() {
        let about_people =
            is_person_store(&s.name) || s.fields.iter().any(|f| !is_generic_field(&f.name));
        if !about_people {
            s.fields.clear();
        }
    }
    stores.retain(|_, s| !s.fields.is_empty());
    resolve_access(files, &mut stores);
    let mut residency_entries = Vec::new();
    for file in files {
        for s in residency::region_settings(file.kind, &file.display, &file.text) {
            residency_entries.push(ResidencyEntry {
                status: (!allowed.is_empty()).then(|| residency::judge(&s, allowed)),
                location: Location {
                    path: file.display.clone(),
                    line: file.position(s.range.start).line,
                },
                service: s.service,
                region: s.region,
                expression: s.expression,
            });
        }
    }
    DataMap {
        stores: stores.into_values().collect(),
        recipients: recipients(report),
        residency: residency_entries,
        allowed_regions: allowed.to_vec(),
    }
}

type Found = (&'static str, String, usize, Vec<Field>);

fn re(s: &str) -> Regex {
    Regex::new(s).expect("data map regexes are valid (unit-tested)")
}

static PRISMA_MODEL: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*model\s+(\w+)\s*\{"));
static SQL_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)create\s+table\s+(?:if\s+not\s+exists\s+)?(?:"?\w+"?\.)?"?(\w+)"?\s*\("#)
});
static MONGOOSE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:const|let|var)\s+(\w+)\s*=\s*new\s+(?:mongoose\.)?Schema\s*(?:<[^>]*>)?\(\s*\{")
});
static MONGOOSE_MODEL: LazyLock<Regex> =
    LazyLock::new(|| re(r#"model\s*(?:<[^>]*>)?\(\s*['"](\w+)['"]\s*,\s*(\w+)"#));
static DRIZZLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"\b(?:pgTable|mysqlTable|sqliteTable)\(\s*['"](\w+)['"]\s*,\s*(?:\(\s*\w*\s*\)\s*=>\s*\(\s*)?\{"#,
    )
});
static TYPEORM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"@Entity\(\s*(?:['"](\w+)['"])?[^)]*\)\s*(?:export\s+)?(?:default\s+)?class\s+(\w+)[^{]*\{"#,
    )
});
static TS_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^\s*(?:export\s+)?(?:interface\s+(\w+)(?:<[^>]*>)?(?:\s+extends\s+[^{]+)?|type\s+(\w+)(?:<[^>]*>)?\s*=)\s*\{",
    )
});
static ZOD: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:const|let|var)\s+(\w+)\s*=\s*z\s*\.\s*object\(\s*\{"));
static FIRESTORE_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:(?:setDoc|addDoc|updateDoc)\(\s*(?:doc|collection)\(\s*[\w.]+\s*,\s*['"](\w+)['"][^)]*\)\s*,\s*\{|\.collection\(\s*['"](\w+)['"]\s*\)(?:\.doc\([^)]*\))?\.(?:add|set|update)\(\s*\{)"#,
    )
});
static PARSE_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:Parse\.Object\.extend\(\s*|new\s+Parse\.Object\(\s*)['"](\w+)['"]|new\s+Parse\.(User)\(\)"#,
    )
});
static PARSE_SET: LazyLock<Regex> = LazyLock::new(|| re(r#"\.(?:set|get)\(\s*['"](\w+)['"]"#));
/// `key:` (objects, types, classes) or a shorthand `key` alone (object literals).
static KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r#"^\s*(?:readonly\s+)?['"]?([A-Za-z_$][\w$]*)['"]?\s*(?:[?!]?\s*:|$)"#));

/// The personal-data fields among `names`.
fn fields_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    // `VITE_API_KEY`-style names are configuration constants, not record fields
    for n in names
        .into_iter()
        .filter(|n| n.chars().any(char::is_lowercase))
    {
        if let Some(t) = classify_field(n)
            && !out.iter().any(|f| f.name == n)
        {
            out.push(Field {
                name: n.to_string(),
                data_type: t.id.clone(),
            });
        }
    }
    out
}

/// The text of the `{...}` or `(...)` block opening at `open` (exclusive), by depth.
fn block(text: &str, open: usize) -> &str {
    let bytes = text.as_bytes();
    let (o, c) = match bytes.get(open) {
        Some(b'(') => (b'(', b')'),
        _ => (b'{', b'}'),
    };
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        if *b == o {
            depth += 1;
        } else if *b == c {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return &text[open + 1..i];
            }
        }
    }
    &text[open + 1..]
}

/// Keys at the top level of an object or class body (`name:` at depth 0).
fn top_keys(body: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, b) in body.bytes().enumerate() {
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b',' | b';' | b'\n' if depth == 0 => {
                if let Some(c) = KEY.captures(&body[start..i]) {
                    keys.push(c.get(1).map_or("", |m| m.as_str()));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if let Some(c) = KEY.captures(&body[start..]) {
        keys.push(c.get(1).map_or("", |m| m.as_str()));
    }
    keys
}

/// Stores defined or written in one file.
fn stores_in(file: &SourceFile) -> Vec<Found> {
    let text = file.text.as_str();
    let mut out: Vec<Found> = Vec::new();
    let is_code = matches!(
        file.kind,
        FileKind::Js | FileKind::Ts | FileKind::Tsx | FileKind::Dts
    );
    if file.display.ends_with(".prisma") {
        for c in PRISMA_MODEL.captures_iter(text) {
            let m = c.get(0).expect("whole match");
            let body = block(text, m.end() - 1);
            let names = body
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|w| !w.starts_with(['@', '/']));
            out.push((
                "prisma-model",
                c[1].to_string(),
                m.start(),
                fields_of(names),
            ));
        }
    }
    if file.kind == FileKind::Sql {
        for c in SQL_TABLE.captures_iter(text) {
            let m = c.get(0).expect("whole match");
            let body = block(text, m.end() - 1);
            let names = body
                .split(',')
                .filter_map(|col| col.split_whitespace().next())
                .map(|w| w.trim_matches('"'));
            out.push(("sql-table", c[1].to_string(), m.start(), fields_of(names)));
        }
    }
    if file.kind == FileKind::Json && text.contains("\"className\"") {
        parse_schema_json(text, &mut out);
    }
    if !is_code {
        return out;
    }
    let mut object = |kind: &'static str, name: String, at: usize, open: usize| {
        let body = block(text, open);
        out.push((kind, name, at, fields_of(top_keys(body))));
    };
    let models: BTreeMap<String, String> = MONGOOSE_MODEL
        .captures_iter(text)
        .map(|c| (c[2].to_string(), c[1].to_string()))
        .collect();
    for c in MONGOOSE.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let name = models
            .get(&c[1])
            .cloned()
            .unwrap_or_else(|| c[1].to_string());
        object("mongoose-model", name, m.start(), m.end() - 1);
    }
    for c in DRIZZLE.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        object("drizzle-table", c[1].to_string(), m.start(), m.end() - 1);
    }
    for c in TYPEORM.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let name = c
            .get(1)
            .map_or_else(|| c[2].to_string(), |t| t.as_str().to_string());
        object("typeorm-entity", name, m.start(), m.end() - 1);
    }
    for c in TS_TYPE.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let name = c.get(1).or(c.get(2)).map_or("", |n| n.as_str());
        // component props and state describe screens, not stored data
        if ["Props", "State", "Params", "Options", "Config"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            continue;
        }
        object("typescript-type", name.to_string(), m.start(), m.end() - 1);
    }
    for c in ZOD.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        object("zod-schema", c[1].to_string(), m.start(), m.end() - 1);
    }
    for c in FIRESTORE_WRITE.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let name = c.get(1).or(c.get(2)).map_or("", |n| n.as_str()).to_string();
        object("firestore-collection", name, m.start(), m.end() - 1);
    }
    // Parse: fields set in a file belong to the class it names (the first one, if several)
    if let Some(c) = PARSE_CLASS.captures(text) {
        let class = c.get(1).or(c.get(2)).map_or("", |n| n.as_str());
        let class = if class == "User" { "_User" } else { class };
        let names: Vec<&str> = PARSE_SET
            .captures_iter(text)
            .filter_map(|s| s.get(1).map(|m| m.as_str()))
            .collect();
        let at = c.get(0).map_or(0, |m| m.start());
        out.push(("parse-class", class.to_string(), at, fields_of(names)));
    }
    out
}

/// A Parse schema export: `[{ "className": ..., "fields": {...}, "classLevelPermissions": ... }]`.
fn parse_schema_json(text: &str, out: &mut Vec<Found>) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let classes: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => other
            .get("results")
            .and_then(|r| r.as_array())
            .map_or_else(|| vec![other], |items| items.iter().collect()),
    };
    for class in classes {
        let (Some(name), Some(fields)) = (
            class.get("className").and_then(|c| c.as_str()),
            class.get("fields").and_then(|f| f.as_object()),
        ) else {
            continue;
        };
        let at = text.find(&format!("\"{name}\"")).unwrap_or(0);
        out.push((
            "parse-class",
            name.to_string(),
            at,
            fields_of(fields.keys().map(String::as_str)),
        ));
    }
}

/// Fills in access from Supabase RLS, Firebase rules and Parse CLPs found in the files.
fn resolve_access(files: &[SourceFile], stores: &mut BTreeMap<(String, String), Store>) {
    let sql: Vec<&str> = files
        .iter()
        .filter(|f| f.kind == FileKind::Sql && !f.display.contains("prisma/migrations/"))
        .map(|f| f.text.as_str())
        .collect();
    let mut history = History::new(ExposedSchemas::default());
    for (i, text) in sql.iter().enumerate() {
        history.apply_file(i, text);
    }
    let rules: Vec<fb_rules::RulesFile> = files
        .iter()
        .filter(|f| f.kind == FileKind::FirebaseRules && f.display.ends_with("firestore.rules"))
        .map(|f| fb_rules::parse_rules(&f.text))
        .collect();
    let clps = parse_clps(files);
    // RLS decides who reads a table only when Supabase (PostgREST) serves it
    let is_supabase = files
        .iter()
        .any(|f| f.display.contains("supabase/") || f.text.contains("@supabase/supabase-js"));
    for ((kind, name), store) in stores.iter_mut() {
        match kind.as_str() {
            "sql-table" if is_supabase => {
                if let Some(a) = supabase_access(&history, name) {
                    store.access = a;
                    store.kind = "supabase-table".into();
                }
            }
            "firestore-collection" if !rules.is_empty() => {
                store.access = firebase_access(&rules, name);
            }
            "parse-class" => {
                store.access = clps.get(name).cloned().unwrap_or_else(|| {
                    Access::unknown(
                        "no class-level permissions found (Parse's default lets anyone read and write; object ACLs are not resolved)",
                    )
                });
            }
            _ => {}
        }
    }
}

fn who_from_condition(cond: &str) -> &'static str {
    let c = cond.to_ascii_lowercase().replace(char::is_whitespace, "");
    if c.is_empty() || c == "true" {
        "public"
    } else if c == "false" {
        "server only"
    } else if c.contains("auth.uid()=")
        || c.contains("=auth.uid()")
        || c.contains("request.auth.uid==")
        || c.contains("==request.auth.uid")
    {
        "owner"
    } else if c.contains("auth.role()='authenticated'")
        || c.contains("auth.uid()isnotnull")
        || c.contains("request.auth!=null")
    {
        "any signed-in user"
    } else {
        "restricted"
    }
}

/// The widest audience among policies, by order public > signed-in > owner > restricted.
fn widest(whos: &[&'static str]) -> String {
    const ORDER: [&str; 5] = [
        "public",
        "any signed-in user",
        "restricted",
        "owner",
        "server only",
    ];
    ORDER
        .iter()
        .find(|o| whos.contains(o))
        .map_or_else(|| "server only".to_string(), |o| (*o).to_string())
}

fn supabase_access(h: &History, table: &str) -> Option<Access> {
    let (key, t) = h
        .tables
        .iter()
        .find(|(k, _)| k.rsplit('.').next() == Some(table))?;
    if !t.rls {
        return Some(Access {
            read: "public".into(),
            write: "public".into(),
            basis:
                "Supabase table without row level security (anon and authenticated keys reach it)"
                    .into(),
        });
    }
    let (mut read, mut write) = (Vec::new(), Vec::new());
    for p in h.policies.values().filter(|p| &p.table == key) {
        // the service role bypasses RLS anyway: its policies open nothing to clients
        if !p.roles.is_empty() && p.roles.iter().all(|r| r == "service_role") {
            continue;
        }
        let command = format!("{:?}", p.command).to_ascii_lowercase();
        let mut who = who_from_condition(p.using.as_deref().or(p.check.as_deref()).unwrap_or(""));
        if who == "public" && p.roles.iter().all(|r| r == "authenticated") && !p.roles.is_empty() {
            who = "any signed-in user";
        }
        if matches!(command.as_str(), "all" | "select") {
            read.push(who);
        }
        if command != "select" {
            let w = who_from_condition(p.check.as_deref().or(p.using.as_deref()).unwrap_or(""));
            write.push(if w == "public" && who != "public" {
                who
            } else {
                w
            });
        }
    }
    Some(Access {
        read: widest(&read),
        write: widest(&write),
        basis: "Supabase row level security policies".into(),
    })
}

fn firebase_access(rules: &[fb_rules::RulesFile], collection: &str) -> Access {
    let (mut read, mut write) = (Vec::new(), Vec::new());
    for file in rules {
        for allow in &file.allows {
            let path = allow.paths.join("/");
            let hits = path.split('/').any(|s| s == collection) || path.contains("{document=**}");
            if !hits {
                continue;
            }
            let cond = allow
                .condition
                .as_deref()
                .map_or_else(String::new, |c| file.expand(c));
            let who = who_from_condition(&cond);
            for op in &allow.ops {
                if matches!(op.as_str(), "read" | "get" | "list") {
                    read.push(who);
                } else {
                    write.push(who);
                }
            }
        }
    }
    Access {
        read: widest(&read),
        write: widest(&write),
        basis: "Firestore security rules".into(),
    }
}

/// Parse class-level permissions from schema exports in the tree.
fn parse_clps(files: &[SourceFile]) -> BTreeMap<String, Access> {
    let mut out = BTreeMap::new();
    for f in files
        .iter()
        .filter(|f| f.kind == FileKind::Json && f.text.contains("classLevelPermissions"))
    {
        let Ok(serde_json::Value::Array(items)) =
            serde_json::from_str::<serde_json::Value>(&f.text)
        else {
            continue;
        };
        for c in items {
            let (Some(name), Some(clp)) = (
                c.get("className").and_then(|v| v.as_str()),
                c.get("classLevelPermissions"),
            ) else {
                continue;
            };
            let who = |ops: &[&str]| {
                let mut whos = Vec::new();
                for op in ops {
                    let Some(p) = clp.get(*op).and_then(|v| v.as_object()) else {
                        continue;
                    };
                    whos.push(
                        if p.get("*").and_then(serde_json::Value::as_bool) == Some(true) {
                            "public"
                        } else if p
                            .get("requiresAuthentication")
                            .and_then(serde_json::Value::as_bool)
                            == Some(true)
                        {
                            "any signed-in user"
                        } else if p.is_empty() {
                            "server only"
                        } else {
                            "restricted"
                        },
                    );
                }
                widest(&whos)
            };
            out.insert(
                name.to_string(),
                Access {
                    read: who(&["find", "get", "count"]),
                    write: who(&["create", "update", "delete"]),
                    basis: "Parse class-level permissions".into(),
                },
            );
        }
    }
    out
}

/// Who receives data, from the privacy flow findings.
fn recipients(report: &ScanReport) -> Vec<Recipient> {
    let mut by: BTreeMap<String, (BTreeSet<String>, BTreeSet<Location>)> = BTreeMap::new();
    for f in &report.findings {
        if !f.rule_id.starts_with("privacy.") || !f.is_flow {
            continue;
        }
        let parts: Vec<&str> = f.message.split('`').collect();
        let (source, sink) = match f.rule_id.as_str() {
            "privacy.password-stored-without-hash" => continue,
            _ => (
                parts.get(1).copied().unwrap_or(""),
                parts.get(3).copied().unwrap_or(""),
            ),
        };
        let name = recipient_name(&f.rule_id, sink);
        let field = source
            .rsplit(['.', '?', ' '])
            .find(|s| !s.is_empty())
            .unwrap_or(source);
        let data_type = catalogue()
            .classify(field, false)
            .map_or_else(|| "personal data".to_string(), |t| t.id.clone());
        let entry = by.entry(name).or_default();
        entry.0.insert(data_type);
        entry.1.insert(Location {
            path: f.path.clone(),
            line: f.start.line,
        });
    }
    by.into_iter()
        .map(|(name, (types, locations))| Recipient {
            name,
            data_types: types.into_iter().collect(),
            locations: locations.into_iter().collect(),
        })
        .collect()
}

fn recipient_name(rule: &str, sink: &str) -> String {
    let s = sink.to_ascii_lowercase();
    let name = match rule {
        "privacy.personal-data-logged" | "privacy.credential-logged" => "logs",
        "privacy.personal-data-in-url" => "URLs (query strings)",
        _ if s.starts_with("sentry") => "Sentry",
        _ if s.starts_with("analytics") => "Segment",
        _ if s.starts_with("mixpanel") => "Mixpanel",
        _ if s.contains("posthog") || s.starts_with("ph") => "PostHog",
        _ if s.starts_with("amplitude") => "Amplitude",
        _ if s.starts_with("logrocket") => "LogRocket",
        _ if s.contains("messages.") => "Anthropic",
        _ if s.contains("generatecontent") || s.contains("sendmessage") => "Google Gemini",
        _ if s.contains("completions") || s.contains("responses") => "OpenAI",
        _ => "LLM (AI SDK)",
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str, kind: FileKind, text: &str) -> Vec<(String, String, Vec<String>)> {
        let file = SourceFile::new(name.to_string(), kind, text.to_string());
        stores_in(&file)
            .into_iter()
            .map(|(k, n, _, f)| {
                (
                    k.to_string(),
                    n,
                    f.into_iter().map(|f| f.data_type).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn classifies_models_of_several_orms() {
        let prisma =
            "model User {\n  id String @id\n  email String @unique\n  phoneNumber String?\n}";
        assert_eq!(
            found("schema.prisma", FileKind::Text, prisma)[0].2,
            ["email", "phone"]
        );
        let mongoose = "const userSchema = new mongoose.Schema({\n  email: { type: String },\n  dob: Date,\n});\nexport default mongoose.model('User', userSchema);";
        let got = found("user.ts", FileKind::Ts, mongoose);
        assert_eq!(got[0].1, "User");
        assert_eq!(got[0].2, ["email", "birth-date"]);
        let zod = "const Signup = z.object({ email: z.string().email(), password: z.string() });";
        assert_eq!(found("a.ts", FileKind::Ts, zod)[0].2, ["email", "password"]);
        let sql =
            "create table public.profiles (id uuid primary key, full_name text, avatar_url text);";
        assert_eq!(found("m.sql", FileKind::Sql, sql)[0].2, ["name"]);
    }

    #[test]
    fn reads_firestore_writes_and_parse_sets() {
        let fs =
            "await setDoc(doc(db, 'users', uid), { email, displayName: name, createdAt: now });";
        assert_eq!(
            found("a.ts", FileKind::Ts, fs)[0],
            (
                "firestore-collection".into(),
                "users".into(),
                vec!["email".into(), "name".into()]
            )
        );
        let parse = "const Lead = Parse.Object.extend('Lead'); const l = new Lead(); l.set('phone', p); l.set('score', 3);";
        assert_eq!(found("a.js", FileKind::Js, parse)[0].2, ["phone"]);
    }

    #[test]
    fn conditions_say_who() {
        assert_eq!(who_from_condition("true"), "public");
        assert_eq!(who_from_condition("auth.uid() = user_id"), "owner");
        assert_eq!(
            who_from_condition("request.auth != null"),
            "any signed-in user"
        );
    }
}

//! Supabase SQL migrations tracked in order (tables, row level security, policies, functions,
//! views, grants, storage buckets): the `table-without-rls`, `permissive-policy`,
//! `policy-trusts-user-metadata`, `security-definer-function`, `view-bypasses-rls`,
//! `grant-to-anon` and SQL `public-storage-bucket` checks.
//!
//! Migrations are judged per folder: every `.sql` file of a folder, sorted by name (Supabase
//! names them by timestamp), is one history, so RLS enabled in a later migration counts. A file
//! alone in its folder is judged in the per-file pass; folders with several `.sql` files are
//! judged in the project pass. Both use [`is_alone`], so a file is never judged twice.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use sqlparser::ast::{CreatePolicyCommand, FunctionSecurity, Statement as Ast};

use super::config::ExposedSchemas;
use super::sql::{self, Statement, qualified};
use super::storage::{bucket_message, bucket_severity};
use crate::engine::{self, ProjectContext};
use crate::finding::Finding;
use crate::platform::{Check, Sink};
use crate::rules::Severity;
use crate::source::{self, Loaded, SourceFile};

/// The checks judged over SQL histories.
pub const SQL_CHECKS: [Check; 7] = [
    Check::TableWithoutRls,
    Check::PermissivePolicy,
    Check::PolicyTrustsUserMetadata,
    Check::SecurityDefinerFunction,
    Check::ViewBypassesRls,
    Check::GrantToAnon,
    Check::PublicStorageBucket,
];

static CREATE_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#)
        .expect("valid regex")
});
static ALTER_RLS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?([\w."]+)\s+(enable|disable)\s+row\s+level\s+security"#).expect("valid regex")
});
static ALTER_VIEW_INVOKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*alter\s+view\s+(?:if\s+exists\s+)?([\w."]+)\s+set\s*\(\s*security_invoker\s*=\s*(true|on|1)"#).expect("valid regex")
});

/// Table names or columns that say a table holds personal data.
const PERSONAL_TABLE: &str = r"(^|_)(customers?|patients?|contacts?|messages?|orders?|payments?|invoices?|addresses|chats?|medical_records?)$";
const PERSONAL_COLUMN: &str = r"^(email|phone|phone_number|address|date_of_birth|dob|birthday|ssn|full_name|stripe_customer_id|ip_address)$";

/// One finding of a SQL history, before it becomes a [`Finding`].
#[derive(Debug)]
struct Hit {
    file: usize,
    check: Check,
    range: Range<usize>,
    message: String,
    severity: Option<Severity>,
}

#[derive(Debug)]
struct Table {
    file: usize,
    range: Range<usize>,
    rls: bool,
    columns: Vec<String>,
}

#[derive(Debug)]
struct Function {
    file: usize,
    range: Range<usize>,
    name: String,
    has_search_path: bool,
}

#[derive(Debug)]
struct View {
    file: usize,
    range: Range<usize>,
    invoker: bool,
}

/// What a migration history builds up.
#[derive(Debug, Default)]
struct History {
    /// Schemas the API exposes (from `config.toml`, `public` by default).
    exposed: ExposedSchemas,
    tables: BTreeMap<String, Table>,
    functions: Vec<Function>,
    views: BTreeMap<String, View>,
    /// Functions whose execute right was revoked from anon or public.
    revoked: BTreeSet<String>,
    /// Functions explicitly granted to anon.
    granted_anon: BTreeSet<String>,
    hits: Vec<Hit>,
}

/// Judges a migration history: `files` in order, with these schemas exposed.
fn analyze(files: &[&str], exposed: ExposedSchemas) -> Vec<Hit> {
    let personal_table = Regex::new(PERSONAL_TABLE).ok();
    let personal_column = Regex::new(PERSONAL_COLUMN).ok();
    // compiled once per history (SQL files are few); the per-statement regexes are statics
    let mut h = History {
        exposed,
        ..History::default()
    };
    for (file, text) in files.iter().enumerate() {
        for stmt in sql::statements(text) {
            h.statement(
                file,
                &stmt,
                personal_table.as_ref(),
                personal_column.as_ref(),
            );
        }
    }
    h.finish()
}

impl History {
    fn is_personal(&self, table: &str, re_table: Option<&Regex>, re_col: Option<&Regex>) -> bool {
        let bare = table.rsplit('.').next().unwrap_or(table);
        re_table.is_some_and(|r| r.is_match(bare))
            || self.tables.get(table).is_some_and(|t| {
                t.columns
                    .iter()
                    .any(|c| re_col.is_some_and(|r| r.is_match(c)))
            })
    }

    fn statement(
        &mut self,
        file: usize,
        stmt: &Statement,
        re_table: Option<&Regex>,
        re_col: Option<&Regex>,
    ) {
        let range = stmt.range.clone();
        let Some(ast) = &stmt.parsed else {
            self.fallback(file, stmt);
            return;
        };
        match ast {
            Ast::CreateTable(t) => {
                let name = qualified(&t.name.to_string());
                self.tables.insert(
                    name,
                    Table {
                        file,
                        range,
                        rls: false,
                        columns: t
                            .columns
                            .iter()
                            .map(|c| c.name.value.to_ascii_lowercase())
                            .collect(),
                    },
                );
            }
            Ast::AlterTable(a) => {
                let name = qualified(&a.name.to_string());
                let text = a.to_string().to_ascii_lowercase();
                if let Some(t) = self.tables.get_mut(&name) {
                    if text.contains("disable row level security") {
                        t.rls = false;
                    } else if text.contains("enable row level security") {
                        t.rls = true;
                    }
                }
            }
            Ast::Drop { names, .. } => {
                for n in names {
                    let q = qualified(&n.to_string());
                    self.tables.remove(&q);
                    self.views.remove(&q);
                }
            }
            Ast::CreatePolicy(p) => self.policy(file, range, p, re_table, re_col),
            Ast::CreateFunction(f) => {
                if f.security == Some(FunctionSecurity::Definer) {
                    let name = qualified(&f.name.to_string());
                    let returns_trigger = f
                        .return_type
                        .as_ref()
                        .is_some_and(|r| r.to_string().eq_ignore_ascii_case("trigger"));
                    if self.exposed.contains(&name) && !returns_trigger {
                        let has_search_path = f
                            .set_params
                            .iter()
                            .any(|p| p.name.to_string().eq_ignore_ascii_case("search_path"));
                        self.functions.push(Function {
                            file,
                            range,
                            name,
                            has_search_path,
                        });
                    }
                }
            }
            Ast::CreateView(v) => {
                let name = qualified(&v.name.to_string());
                let invoker = v
                    .options
                    .to_string()
                    .to_ascii_lowercase()
                    .replace(' ', "")
                    .contains("security_invoker=");
                if self.exposed.contains(&name) {
                    self.views.insert(
                        name,
                        View {
                            file,
                            range,
                            invoker: invoker && !stmt.lower.contains("security_invoker = false"),
                        },
                    );
                }
            }
            Ast::Grant(g) => {
                let grantees = g
                    .grantees
                    .iter()
                    .map(|x| x.to_string().to_ascii_lowercase())
                    .collect::<Vec<_>>();
                if !grantees.iter().any(|x| x == "anon") {
                    return;
                }
                let objects = g
                    .objects
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let privileges = g.privileges.to_string().to_ascii_lowercase();
                if privileges.contains("execute") {
                    for f in objects.split(',') {
                        let name = f.trim().trim_start_matches("FUNCTION ").trim();
                        let name = name.split('(').next().unwrap_or(name);
                        self.granted_anon.insert(qualified(name));
                    }
                    return;
                }
                let writes = ["all", "insert", "update", "delete", "truncate"]
                    .iter()
                    .any(|w| privileges.contains(w));
                let tables: Vec<String> = objects
                    .split(',')
                    .map(|t| qualified(t.trim().trim_start_matches("TABLE ")))
                    .collect();
                let personal = tables.iter().any(|t| self.is_personal(t, re_table, re_col));
                let schema_wide = objects.to_ascii_uppercase().contains("ALL TABLES");
                if writes || personal || schema_wide {
                    let what = if writes { "write" } else { "read" };
                    self.hits.push(Hit {
                        file,
                        check: Check::GrantToAnon,
                        range,
                        message: format!(
                            "`{privileges}` on {} is granted to `anon`: anyone with the public anon key can {what} it directly, subject only to RLS",
                            objects.to_ascii_lowercase()
                        ),
                        severity: Some(if writes || schema_wide {
                            Severity::High
                        } else {
                            Severity::Medium
                        }),
                    });
                }
            }
            Ast::Revoke(r) => {
                let text = r.to_string().to_ascii_lowercase();
                if text.contains("execute")
                    && (text.contains(" anon") || text.contains(" public"))
                    && let Some(objects) = &r.objects
                {
                    for f in objects.to_string().split(',') {
                        let name = f.trim().trim_start_matches("FUNCTION ").trim();
                        let name = name.split('(').next().unwrap_or(name);
                        self.revoked.insert(qualified(name));
                    }
                }
            }
            Ast::Insert(i) => {
                let table = i.table.to_string().to_ascii_lowercase().replace('"', "");
                if table != "storage.buckets" {
                    return;
                }
                // one finding per statement: its most sensitive public bucket
                let worst = public_buckets(i)
                    .into_iter()
                    .filter_map(|n| bucket_severity(n.as_deref()).map(|s| (s, n)))
                    .max_by_key(|(s, _)| *s);
                if let Some((severity, name)) = worst {
                    self.hits.push(Hit {
                        file,
                        check: Check::PublicStorageBucket,
                        range,
                        message: bucket_message(name.as_deref()),
                        severity: Some(severity),
                    });
                }
            }
            _ => self.fallback(file, stmt),
        }
    }

    /// Token-level handling of statements `sqlparser` did not parse (or parses as something
    /// we do not model): table creation and RLS switches, and `alter view ... security_invoker`.
    fn fallback(&mut self, file: usize, stmt: &Statement) {
        let lower = &stmt.lower;
        if let Some(c) = CREATE_TABLE.captures(lower) {
            let name = qualified(c.get(1).map_or("", |m| m.as_str()));
            self.tables.insert(
                name,
                Table {
                    file,
                    range: stmt.range.clone(),
                    rls: false,
                    columns: Vec::new(),
                },
            );
        } else if let Some(c) = ALTER_RLS.captures(lower) {
            let name = qualified(c.get(1).map_or("", |m| m.as_str()));
            if let Some(t) = self.tables.get_mut(&name) {
                t.rls = c.get(2).is_some_and(|m| m.as_str() == "enable");
            }
        } else if let Some(c) = ALTER_VIEW_INVOKER.captures(lower) {
            let name = qualified(c.get(1).map_or("", |m| m.as_str()));
            if let Some(v) = self.views.get_mut(&name) {
                v.invoker = true;
            }
        }
    }

    fn policy(
        &mut self,
        file: usize,
        range: Range<usize>,
        p: &sqlparser::ast::CreatePolicy,
        re_table: Option<&Regex>,
        re_col: Option<&Regex>,
    ) {
        let table = qualified(&p.table_name.to_string());
        let roles: Vec<String> =
            p.to.iter()
                .flatten()
                .map(|o| o.to_string().to_ascii_lowercase())
                .collect();
        if !roles.is_empty() && roles.iter().all(|r| r == "service_role" || r == "postgres") {
            return;
        }
        let using = p.using.as_ref().map(ToString::to_string);
        let check = p.with_check.as_ref().map(ToString::to_string);
        let is_true =
            |e: &Option<String>| e.as_deref().is_some_and(|e| e.eq_ignore_ascii_case("true"));
        let command = p.command.as_ref().unwrap_or(&CreatePolicyCommand::All);
        let writes = !matches!(command, CreatePolicyCommand::Select);
        let open_to_anon = roles.is_empty() || roles.iter().any(|r| r == "anon" || r == "public");
        let name = &p.name.value;
        if writes && (is_true(&using) || is_true(&check)) {
            let verb = match command {
                CreatePolicyCommand::Insert => "insert rows into",
                CreatePolicyCommand::Update => "update every row of",
                CreatePolicyCommand::Delete => "delete every row of",
                _ => "read and change every row of",
            };
            let who = if open_to_anon {
                "anyone"
            } else {
                "any signed-in user"
            };
            self.hits.push(Hit {
                file,
                check: Check::PermissivePolicy,
                range: range.clone(),
                message: format!(
                    "Policy \"{name}\" lets {who} {verb} `{table}` (`true` condition)"
                ),
                severity: Some(if open_to_anon {
                    Severity::Critical
                } else {
                    Severity::High
                }),
            });
        } else if matches!(
            command,
            CreatePolicyCommand::Update | CreatePolicyCommand::Delete | CreatePolicyCommand::All
        ) && is_any_user(using.as_deref())
        {
            self.hits.push(Hit {
                file,
                check: Check::PermissivePolicy,
                range: range.clone(),
                message: format!(
                    "Policy \"{name}\" lets any signed-in user change every row of `{table}` (it only checks that the caller is logged in)"
                ),
                severity: Some(Severity::High),
            });
        } else if !writes && is_true(&using) && self.is_personal(&table, re_table, re_col) {
            let who = if open_to_anon {
                "anyone"
            } else {
                "any signed-in user"
            };
            self.hits.push(Hit {
                file,
                check: Check::PermissivePolicy,
                range: range.clone(),
                message: format!(
                    "Policy \"{name}\" lets {who} read every row of `{table}`, which holds personal data (`using (true)`)"
                ),
                severity: None,
            });
        }
        let trusts_metadata = [&using, &check]
            .iter()
            .any(|e| e.as_deref().is_some_and(|e| e.contains("user_metadata")));
        if trusts_metadata {
            self.hits.push(Hit {
                file,
                check: Check::PolicyTrustsUserMetadata,
                range,
                message: format!(
                    "Policy \"{name}\" on `{table}` trusts `user_metadata` from the JWT, which every user can edit with `supabase.auth.updateUser`"
                ),
                severity: None,
            });
        }
    }

    fn finish(mut self) -> Vec<Hit> {
        for (name, t) in &self.tables {
            if self.exposed.contains(name) && !t.rls {
                self.hits.push(Hit {
                    file: t.file,
                    check: Check::TableWithoutRls,
                    range: t.range.clone(),
                    message: format!(
                        "Table `{name}` never gets row level security enabled: anyone with the public anon key can read and modify every row"
                    ),
                    severity: None,
                });
            }
        }
        for f in &self.functions {
            let anon = self.granted_anon.contains(&f.name);
            let revoked = self.revoked.contains(&f.name);
            let mut problems = Vec::new();
            if !f.has_search_path {
                problems.push("has no fixed `search_path`");
            }
            if anon {
                problems.push("is granted to `anon`");
            } else if !revoked {
                problems.push("stays callable by `anon` through `/rest/v1/rpc`");
            }
            if problems.is_empty() {
                continue;
            }
            self.hits.push(Hit {
                file: f.file,
                check: Check::SecurityDefinerFunction,
                range: f.range.clone(),
                message: format!(
                    "`security definer` function `{}` runs with its owner's rights and {}",
                    f.name,
                    problems.join(" and ")
                ),
                severity: Some(if anon {
                    Severity::High
                } else {
                    Severity::Medium
                }),
            });
        }
        for (name, v) in &self.views {
            if !v.invoker {
                self.hits.push(Hit {
                    file: v.file,
                    check: Check::ViewBypassesRls,
                    range: v.range.clone(),
                    message: format!(
                        "View `{name}` runs with its owner's rights (no `security_invoker`), so it returns rows that RLS hides from the caller"
                    ),
                    severity: None,
                });
            }
        }
        self.hits
    }
}

/// `auth.role() = 'authenticated'` or `auth.uid() is not null`: any account passes.
fn is_any_user(condition: Option<&str>) -> bool {
    let Some(c) = condition else {
        return false;
    };
    let c: String = c
        .to_ascii_lowercase()
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '(' && *ch != ')')
        .collect();
    matches!(
        c.as_str(),
        "auth.role='authenticated'" | "auth.uidisnotnull" | "'authenticated'=auth.role"
    )
}

/// The rows of `insert into storage.buckets` that set `public` to `true`, each with the bucket's
/// `id` (or `name`) when it is a literal.
fn public_buckets(i: &sqlparser::ast::Insert) -> Vec<Option<String>> {
    let column = |name: &str| {
        i.columns
            .iter()
            .position(|c| c.to_string().eq_ignore_ascii_case(name))
    };
    let Some(public) = column("public") else {
        return Vec::new();
    };
    let name = column("id").or_else(|| column("name"));
    let Some(source) = &i.source else {
        return Vec::new();
    };
    let sqlparser::ast::SetExpr::Values(values) = source.body.as_ref() else {
        return Vec::new();
    };
    values
        .rows
        .iter()
        .filter(|row| {
            row.get(public)
                .is_some_and(|e| e.to_string().eq_ignore_ascii_case("true"))
        })
        .map(|row| {
            name.and_then(|n| row.get(n)).and_then(|e| match e {
                sqlparser::ast::Expr::Value(v) => match &v.value {
                    sqlparser::ast::Value::SingleQuotedString(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            })
        })
        .collect()
}

/// Whether the SQL file at `display` is the only `.sql` file of its folder on disk (or the folder
/// cannot be read, as for in-memory files). Decides which pass judges it.
pub fn is_alone(display: &str) -> bool {
    let dir = Path::new(display)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("sql"))
        })
        .take(2)
        .count()
        < 2
}

/// Per-file pass: a SQL file alone in its folder is its own history.
pub fn check_sql_file(sink: &mut Sink<'_, '_>) {
    if !sink.any_active(&SQL_CHECKS) || !is_alone(&sink.ctx().file.display) {
        return;
    }
    let text = sink.ctx().file.text.clone();
    let exposed = ExposedSchemas::for_sql_file(Path::new(&sink.ctx().file.display));
    for hit in analyze(&[&text], exposed) {
        let severity = hit.severity;
        sink.report(hit.check, hit.range, Some(hit.message), |f| {
            if let Some(s) = severity {
                f.severity = s;
            }
        });
    }
}

/// Project pass: each folder with several `.sql` files is one history, in file-name order.
pub fn check_project(
    project: &ProjectContext<'_>,
    rules: &[(Check, usize)],
    out: &mut Vec<Finding>,
) {
    let mut folders: BTreeMap<String, Vec<&crate::discover::Candidate>> = BTreeMap::new();
    for c in project.candidates {
        if c.kind == crate::discover::FileKind::Sql && !is_alone(&c.display) {
            let dir = c
                .display
                .rsplit_once('/')
                .map_or("", |(d, _)| d)
                .to_string();
            folders.entry(dir).or_default().push(c);
        }
    }
    for (_, mut candidates) in folders {
        candidates.sort_by(|a, b| a.display.cmp(&b.display));
        let files: Vec<(SourceFile, &crate::discover::Candidate)> = candidates
            .iter()
            .filter_map(|c| match source::load(c) {
                Loaded::File(f, _) => Some((f, *c)),
                Loaded::Skip(_) => None,
            })
            .collect();
        let texts: Vec<&str> = files.iter().map(|(f, _)| f.text.as_str()).collect();
        let exposed = candidates
            .first()
            .map(|c| ExposedSchemas::for_sql_file(&c.path))
            .unwrap_or_default();
        for hit in analyze(&texts, exposed) {
            let Some(&(_, idx)) = rules.iter().find(|(c, _)| *c == hit.check) else {
                continue;
            };
            let (file, candidate) = &files[hit.file];
            if !project.applies(idx, candidate) {
                continue;
            }
            let mut f = engine::finding_in(file, project.rules, idx, hit.range);
            f.message = hit.message;
            if let Some(s) = hit.severity {
                f.severity = s;
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::analyze;
    use crate::platform::Check;

    fn checks(files: &[&str]) -> Vec<Check> {
        analyze(files, super::ExposedSchemas::default())
            .into_iter()
            .map(|h| h.check)
            .collect()
    }

    #[test]
    fn rls_enabled_in_a_later_migration_counts() {
        let first = "create table public.notes (id bigint primary key, body text);";
        let second = "alter table public.notes enable row level security;";
        assert!(checks(&[first, second]).is_empty());
        assert_eq!(checks(&[first]), vec![Check::TableWithoutRls]);
    }
}

//! The database a Supabase migration history ends up with: tables (RLS, columns, API privileges),
//! policies, functions, views, triggers, grants and revokes, replayed statement by statement in
//! the order Supabase applies them. [`History::apply`] changes the state; the checks in
//! [`super::migrations`] judge only the final state, so a policy dropped or replaced later, a
//! function redefined ten times or RLS enabled in a later migration is judged once, as it is.
//!
//! Statements `sqlparser` parses are read from its AST; the rest (and DDL inside `DO $$ ... $$`
//! blocks) from small token-level patterns.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use sqlparser::ast::{
    AlterPolicyOperation, BinaryOperator, CreatePolicyCommand, CreatePolicyType, Expr,
    FunctionSecurity, Statement as Ast,
};

use super::config::ExposedSchemas;
use super::sql::{Statement, qualified};

/// A place in the history: file index and byte range.
pub type Place = (usize, Range<usize>);

static CREATE_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#)
        .expect("valid regex")
});
static ALTER_RLS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?([\w."]+)\s+(enable|disable)\s+row\s+level\s+security"#).expect("valid regex")
});
static ALTER_RENAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?([\w."]+)\s+rename\s+to\s+([\w"]+)"#,
    )
    .expect("valid regex")
});
static ADD_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"add\s+column\s+(?:if\s+not\s+exists\s+)?"?(\w+)"?"#).expect("valid regex")
});
static ALTER_VIEW_INVOKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*alter\s+view\s+(?:if\s+exists\s+)?([\w."]+)\s+set\s*\(\s*security_invoker\s*=\s*(true|on|1)"#).expect("valid regex")
});
static CREATE_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*create\s+(?:or\s+replace\s+)?function\s+([\w."]+)\s*\("#)
        .expect("valid regex")
});
static RETURNS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\)\s*returns\s+((?:setof\s+)?[\w."]+)"#).expect("valid regex"));
static CREATE_MATVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*create\s+materialized\s+view\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#)
        .expect("valid regex")
});
static TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+\S+\s+before\s+[^;]*?\bupdate\b[^;]*?\bon\s+([\w."]+)[^;]*?execute\s+(?:function|procedure)\s+([\w."]+)"#).expect("valid regex")
});
static PRIVILEGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(grant|revoke)\s+(.+?)\s+on\s+(?:(table|function|all\s+tables\s+in\s+schema|all\s+functions\s+in\s+schema|materialized\s+view|view)\s+)?(.+?)\s+(?:to|from)\s+(.+?)\s*(?:cascade|restrict|with\s+grant\s+option)?\s*$").expect("valid regex")
});
static DEFAULT_PRIVILEGES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*alter\s+default\s+privileges\s+(?:for\s+(?:role|user)\s+\S+\s+)?(?:in\s+schema\s+(\w+)\s+)?(grant|revoke)\s+(.+?)\s+on\s+(tables|functions|routines)\s+(?:to|from)\s+(.+?)\s*$").expect("valid regex")
});
static EXTENSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)^\s*(create|drop|alter)\s+extension\s+(?:if\s+(?:not\s+)?exists\s+)?"?([\w-]+)"?(?:.*?\bschema\s+"?(\w+)"?)?"#).expect("valid regex")
});
static FOREIGN_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*create\s+foreign\s+table\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#)
        .expect("valid regex")
});
static IMPORT_FOREIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)^\s*import\s+foreign\s+schema\s+"?(\w+)"?.*?\binto\s+"?(\w+)"?"#)
        .expect("valid regex")
});
static ALTER_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)^\s*alter\s+function\s+([\w."]+)\s*(?:\(.*?\))?\s+(.*)$"#)
        .expect("valid regex")
});
static PGMQ_CREATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"pgmq\.create(?:_unlogged|_partitioned)?\s*\(\s*(?:queue_name\s*=>\s*)?'(\w+)'")
        .expect("valid regex")
});
static DO_DDL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(create\s+(?:or\s+replace\s+)?(?:policy|table|view|function)|alter\s+(?:table|policy|view)|drop\s+(?:policy|table|view|function)|grant|revoke)\b").expect("valid regex")
});

/// A table (or foreign table) as the history leaves it.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of one object, read by name"
)]
pub struct Table {
    /// Where it was created.
    pub at: Place,
    /// Row level security enabled.
    pub rls: bool,
    /// Column names, lowercased.
    pub columns: Vec<String>,
    /// Whether `anon` / `authenticated` keep their default privileges on it.
    pub anon: bool,
    /// See `anon`.
    pub authenticated: bool,
    /// Whether `update` is granted column by column, or revoked from `authenticated`.
    pub update_restricted: bool,
    /// Functions run by `before update` triggers on the table.
    pub update_triggers: Vec<String>,
    /// A foreign table (`create foreign table`, `import foreign schema`): RLS never applies.
    pub is_foreign: bool,
}

/// A policy as the history leaves it.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The table it protects.
    pub table: String,
    /// Its name.
    pub name: String,
    /// Where it was created, or last altered.
    pub at: Place,
    /// `as restrictive`: narrows what permissive policies allow, never opens.
    pub restrictive: bool,
    /// The command it covers.
    pub command: CreatePolicyCommand,
    /// Roles, lowercased (empty: `public`).
    pub roles: Vec<String>,
    /// The `using` condition.
    pub using: Option<String>,
    /// The `with check` condition.
    pub check: Option<String>,
    /// The top-level `and` terms of `using`, lowercased (one term when it is no conjunction).
    pub using_terms: Vec<String>,
    /// The top-level `and` terms of `with check`, lowercased.
    pub check_terms: Vec<String>,
}

/// A function as the history leaves it (overloads share one entry).
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of one object, read by name"
)]
pub struct Function {
    /// Every definition, oldest first; the last one is the function as it is.
    pub defs: Vec<Place>,
    /// `security definer`.
    pub definer: bool,
    /// `set search_path = ...` in the definition.
    pub has_search_path: bool,
    /// The return type, lowercased.
    pub returns: String,
    /// The whole definition, lowercased.
    pub text: String,
    /// Whether `anon` / `authenticated` may execute it.
    pub anon: bool,
    /// See `anon`.
    pub authenticated: bool,
    /// Explicitly granted to `anon`.
    pub granted_anon: bool,
}

/// A view or materialized view as the history leaves it.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of one object, read by name"
)]
pub struct View {
    /// Where it was created.
    pub at: Place,
    /// `security_invoker` set.
    pub invoker: bool,
    /// A materialized view (RLS never applies to those).
    pub materialized: bool,
    /// The definition, lowercased.
    pub text: String,
    /// Whether `anon` / `authenticated` may select from it.
    pub anon: bool,
    /// See `anon`.
    pub authenticated: bool,
}

/// A finding made while replaying, on a statement that stays wrong whatever follows (grants).
#[derive(Debug)]
pub struct Event {
    /// Where.
    pub at: Place,
    /// What (`grant-to-anon` or `public-storage-bucket`).
    pub kind: EventKind,
}

/// Statement-level facts the checks report as they are.
#[derive(Debug)]
pub enum EventKind {
    /// `grant <privileges> on <objects> to anon`.
    GrantToAnon {
        /// Privileges, lowercased.
        privileges: String,
        /// Objects, lowercased.
        objects: String,
        /// Qualified table names.
        tables: Vec<String>,
    },
    /// `insert into storage.buckets` with public rows (their names, when literal).
    PublicBuckets(Vec<Option<String>>),
}

/// The state a migration history builds up.
#[derive(Debug, Default)]
pub struct History {
    /// Schemas the API exposes.
    pub exposed: ExposedSchemas,
    /// Tables by qualified name.
    pub tables: BTreeMap<String, Table>,
    /// Policies by (table, name).
    pub policies: BTreeMap<(String, String), Policy>,
    /// Functions by qualified name.
    pub functions: BTreeMap<String, Function>,
    /// Views by qualified name.
    pub views: BTreeMap<String, View>,
    /// Statement-level events, in order.
    pub events: Vec<Event>,
    /// Extensions by name, with where they were created and their schema (`None`: the first
    /// schema of the search path, `public` for the roles that run migrations).
    pub extensions: BTreeMap<String, (Place, Option<String>)>,
    /// `pgmq` queues by name (`select pgmq.create('jobs')`), with where they were created and
    /// whether row level security was enabled on their table (`pgmq.q_<name>`).
    pub queues: BTreeMap<String, (Place, bool)>,
    /// `grant usage on schema pgmq_public to anon|authenticated`: the queue API is open to them.
    pub queue_api_granted: bool,
    /// Roles whose default privileges on new tables were revoked (`alter default privileges`).
    default_revoked_tables: BTreeSet<String>,
    /// Roles whose default execute right on new functions was revoked.
    default_revoked_functions: BTreeSet<String>,
}

impl History {
    /// An empty history over these exposed schemas.
    pub fn new(exposed: ExposedSchemas) -> Self {
        History {
            exposed,
            ..History::default()
        }
    }

    /// Whether replaying `stmt` can change the state: DDL, grants, `do` blocks and inserts into
    /// `storage.buckets`. The rest (queries, data changes, seed rows) is not kept as a fact.
    pub fn reads(stmt: &Statement) -> bool {
        let lower = stmt.lower.trim_start();
        ["create", "alter", "drop", "grant", "revoke", "do", "import"]
            .iter()
            .any(|k| lower.starts_with(k))
            || lower.starts_with("select") && lower.contains("pgmq.create")
            || matches!(&stmt.parsed, Some(Ast::Insert(i))
                if i.table.to_string().to_ascii_lowercase().replace('"', "") == "storage.buckets")
    }

    /// Replays every statement of `text`, the `file`-th file of the history.
    pub fn apply_file(&mut self, file: usize, text: &str) {
        for stmt in super::sql::statements(text) {
            self.apply(file, &stmt);
        }
    }

    /// Replays one statement.
    pub fn apply(&mut self, file: usize, stmt: &Statement) {
        let at = (file, stmt.range.clone());
        // token-level first: what sqlparser parses into shapes we do not read
        if self.tokens(file, stmt) {
            return;
        }
        let Some(ast) = &stmt.parsed else {
            return;
        };
        match ast {
            Ast::CreateTable(t) => {
                let name = qualified(&t.name.to_string());
                let columns = t
                    .columns
                    .iter()
                    .map(|c| c.name.value.to_ascii_lowercase())
                    .collect();
                self.create_table(name, at, columns);
            }
            Ast::AlterTable(a) => {
                let name = qualified(&a.name.to_string());
                if let Some(queue) = name.strip_prefix("pgmq.q_")
                    && let Some(q) = self.queues.get_mut(queue)
                {
                    q.1 = stmt.lower.contains("enable row level security");
                }
                if let Some(t) = self.tables.get_mut(&name) {
                    if stmt.lower.contains("disable row level security") {
                        t.rls = false;
                    } else if stmt.lower.contains("enable row level security") {
                        t.rls = true;
                    }
                    for c in ADD_COLUMN.captures_iter(&stmt.lower) {
                        t.columns.push(c[1].to_string());
                    }
                }
            }
            Ast::Drop {
                names, object_type, ..
            } => {
                let kind = object_type.to_string().to_ascii_lowercase();
                for n in names {
                    let q = qualified(&n.to_string());
                    if kind.contains("view") {
                        self.views.remove(&q);
                    } else {
                        self.tables.remove(&q);
                        self.policies.retain(|(t, _), _| *t != q);
                    }
                }
            }
            Ast::DropFunction(d) => {
                for f in &d.func_desc {
                    self.functions.remove(&qualified(&f.name.to_string()));
                }
            }
            Ast::CreatePolicy(p) => {
                let table = qualified(&p.table_name.to_string());
                let policy = Policy {
                    table: table.clone(),
                    name: p.name.value.clone(),
                    at,
                    restrictive: matches!(p.policy_type, Some(CreatePolicyType::Restrictive)),
                    command: p.command.unwrap_or(CreatePolicyCommand::All),
                    roles: p
                        .to
                        .iter()
                        .flatten()
                        .map(|o| o.to_string().to_ascii_lowercase())
                        .collect(),
                    using: p.using.as_ref().map(ToString::to_string),
                    check: p.with_check.as_ref().map(ToString::to_string),
                    using_terms: p.using.as_ref().map(and_terms).unwrap_or_default(),
                    check_terms: p.with_check.as_ref().map(and_terms).unwrap_or_default(),
                };
                self.policies.insert((table, p.name.value.clone()), policy);
            }
            Ast::DropPolicy(d) => {
                let key = (qualified(&d.table_name.to_string()), d.name.value.clone());
                self.policies.remove(&key);
            }
            Ast::AlterPolicy(a) => {
                let key = (qualified(&a.table_name.to_string()), a.name.value.clone());
                let Some(mut p) = self.policies.remove(&key) else {
                    return;
                };
                match &a.operation {
                    AlterPolicyOperation::Rename { new_name } => {
                        p.name.clone_from(&new_name.value);
                    }
                    AlterPolicyOperation::Apply {
                        to,
                        using,
                        with_check,
                    } => {
                        if let Some(to) = to {
                            p.roles = to
                                .iter()
                                .map(|o| o.to_string().to_ascii_lowercase())
                                .collect();
                        }
                        if let Some(u) = using {
                            p.using = Some(u.to_string());
                            p.using_terms = and_terms(u);
                        }
                        if let Some(c) = with_check {
                            p.check = Some(c.to_string());
                            p.check_terms = and_terms(c);
                        }
                        p.at = at;
                    }
                }
                self.policies.insert((p.table.clone(), p.name.clone()), p);
            }
            Ast::CreateFunction(f) => {
                let name = qualified(&f.name.to_string());
                let returns = f
                    .return_type
                    .as_ref()
                    .map(|r| r.to_string().to_ascii_lowercase().replace('"', ""))
                    .unwrap_or_default();
                let has_search_path = f.set_params.iter().any(|p| {
                    // `supabase db dump` writes `SET "search_path" TO ''`
                    p.name
                        .to_string()
                        .replace('"', "")
                        .eq_ignore_ascii_case("search_path")
                });
                let definer = f.security == Some(FunctionSecurity::Definer);
                self.define_function(name, at, definer, has_search_path, returns, &stmt.lower);
            }
            Ast::CreateView(v) => {
                let name = qualified(&v.name.to_string());
                let options = v.options.to_string().to_ascii_lowercase().replace(' ', "");
                let invoker = options.contains("security_invoker=")
                    && !options.contains("security_invoker=false")
                    && !options.contains("security_invoker=off");
                self.create_view(name, at, invoker, v.materialized, &stmt.lower);
            }
            Ast::Insert(i) => {
                let table = i.table.to_string().to_ascii_lowercase().replace('"', "");
                if table == "storage.buckets" {
                    let rows = public_buckets(i);
                    if !rows.is_empty() {
                        self.events.push(Event {
                            at,
                            kind: EventKind::PublicBuckets(rows),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    /// Statements read from tokens; `true` when the statement was handled.
    fn tokens(&mut self, file: usize, stmt: &Statement) -> bool {
        let lower = stmt.lower.trim_start();
        let at = (file, stmt.range.clone());
        if lower.starts_with("select") {
            for c in PGMQ_CREATE.captures_iter(lower) {
                self.queues
                    .entry(c[1].to_string())
                    .or_insert_with(|| (at.clone(), false));
            }
            return true;
        }
        if let Some(c) = EXTENSION.captures(lower) {
            let name = c[2].to_string();
            let schema = c.get(3).map(|m| m.as_str().to_string());
            match &c[1] {
                // `if not exists` on an installed extension changes nothing
                "create" => {
                    self.extensions.entry(name).or_insert((at, schema));
                }
                "drop" => {
                    self.extensions.remove(&name);
                }
                _ => {
                    if let (Some(e), Some(s)) = (self.extensions.get_mut(&name), schema) {
                        e.1 = Some(s);
                    }
                }
            }
            return true;
        }
        if lower.starts_with("grant")
            && lower.contains("on schema pgmq_public")
            && (lower.contains("anon") || lower.contains("authenticated"))
        {
            self.queue_api_granted = true;
        }
        if lower.starts_with("grant") || lower.starts_with("revoke") {
            self.privilege(file, stmt);
            return true;
        }
        if let Some(c) = DEFAULT_PRIVILEGES.captures(lower) {
            let schema = c.get(1).map_or("public", |m| m.as_str());
            if schema == "public" && &c[2] == "revoke" {
                let set = if &c[4] == "tables" {
                    &mut self.default_revoked_tables
                } else {
                    &mut self.default_revoked_functions
                };
                set.extend(roles(&c[5]));
            }
            return true;
        }
        if lower.starts_with("do ") || lower.starts_with("do\n") || lower.starts_with("do$") {
            self.do_block(file, stmt);
            return true;
        }
        if let Some(c) = TRIGGER.captures(lower) {
            let table = qualified(&c[1]);
            let function = qualified(&c[2]);
            if let Some(t) = self.tables.get_mut(&table) {
                t.update_triggers.push(function);
            }
            return true;
        }
        if let Some(c) = ALTER_RENAME.captures(lower) {
            let old = qualified(&c[1]);
            let schema = old.split_once('.').map_or("public", |(s, _)| s);
            let new = qualified(&format!("{schema}.{}", &c[2]));
            if let Some(t) = self.tables.remove(&old) {
                self.tables.insert(new.clone(), t);
            }
            let moved: Vec<_> = self
                .policies
                .keys()
                .filter(|(t, _)| *t == old)
                .cloned()
                .collect();
            for key in moved {
                if let Some(mut p) = self.policies.remove(&key) {
                    p.table.clone_from(&new);
                    self.policies.insert((new.clone(), key.1), p);
                }
            }
            return true;
        }
        if let Some(c) = FOREIGN_TABLE.captures(lower) {
            let name = qualified(&c[1]);
            self.create_table(name.clone(), at, Vec::new());
            if let Some(t) = self.tables.get_mut(&name) {
                t.is_foreign = true;
            }
            return true;
        }
        if let Some(c) = IMPORT_FOREIGN.captures(lower) {
            // one entry stands for every table the import brings in
            let name = format!("{}.{}.*", &c[2], &c[1]);
            self.create_table(name.clone(), at, Vec::new());
            if let Some(t) = self.tables.get_mut(&name) {
                t.is_foreign = true;
            }
            return true;
        }
        if let Some(c) = ALTER_FUNCTION.captures(lower) {
            if let Some(f) = self.functions.get_mut(&qualified(&c[1])) {
                let rest = c[2].replace('"', "");
                if rest.contains("reset search_path") || rest.contains("reset all") {
                    f.has_search_path = false;
                } else if rest.contains("set search_path") {
                    f.has_search_path = true;
                }
                if rest.contains("security invoker") {
                    f.definer = false;
                } else if rest.contains("security definer") {
                    f.definer = true;
                }
            }
            return true;
        }
        if let Some(c) = ALTER_VIEW_INVOKER.captures(lower) {
            if let Some(v) = self.views.get_mut(&qualified(&c[1])) {
                v.invoker = true;
            }
            return true;
        }
        if stmt.parsed.is_some() {
            return false;
        }
        // what sqlparser did not parse
        if let Some(c) = CREATE_MATVIEW.captures(lower) {
            self.create_view(qualified(&c[1]), at, false, true, lower);
        } else if let Some(c) = CREATE_TABLE.captures(lower) {
            self.create_table(qualified(&c[1]), at, Vec::new());
        } else if let Some(c) = ALTER_RLS.captures(lower) {
            if let Some(t) = self.tables.get_mut(&qualified(&c[1])) {
                t.rls = &c[2] == "enable";
            }
        } else if let Some(c) = CREATE_FUNCTION.captures(lower) {
            let definer = lower.contains("security definer");
            let has_search_path = lower.contains("search_path");
            let returns = RETURNS
                .captures(lower)
                .map(|c| c[1].replace('"', ""))
                .unwrap_or_default();
            self.define_function(
                qualified(&c[1]),
                at,
                definer,
                has_search_path,
                returns,
                lower,
            );
        }
        true
    }

    fn create_table(&mut self, name: String, at: Place, columns: Vec<String>) {
        let anon = !self.default_revoked_tables.contains("anon");
        let authenticated = !self.default_revoked_tables.contains("authenticated");
        self.policies.retain(|(t, _), _| *t != name);
        self.tables.insert(
            name,
            Table {
                at,
                rls: false,
                columns,
                anon,
                authenticated,
                update_restricted: false,
                update_triggers: Vec::new(),
                is_foreign: false,
            },
        );
    }

    fn create_view(
        &mut self,
        name: String,
        at: Place,
        invoker: bool,
        materialized: bool,
        text: &str,
    ) {
        self.views.insert(
            name,
            View {
                at,
                invoker,
                materialized,
                text: text.to_string(),
                anon: !self.default_revoked_tables.contains("anon"),
                authenticated: !self.default_revoked_tables.contains("authenticated"),
            },
        );
    }

    fn define_function(
        &mut self,
        name: String,
        at: Place,
        definer: bool,
        has_search_path: bool,
        returns: String,
        text: &str,
    ) {
        let anon = !self.default_revoked_functions.contains("anon");
        let authenticated = !self.default_revoked_functions.contains("authenticated");
        let f = self.functions.entry(name).or_insert_with(|| Function {
            defs: Vec::new(),
            definer,
            has_search_path,
            returns: String::new(),
            text: String::new(),
            anon,
            authenticated,
            granted_anon: false,
        });
        f.defs.push(at);
        f.definer = definer;
        f.has_search_path = has_search_path;
        f.returns = returns;
        f.text = text.to_string();
    }

    /// `grant` / `revoke` on tables, views and functions, for `anon` and `authenticated`.
    fn privilege(&mut self, file: usize, stmt: &Statement) {
        let lower = stmt.lower.trim();
        let Some(c) = PRIVILEGE.captures(lower) else {
            return;
        };
        let is_grant = &c[1] == "grant";
        let privileges = c[2].trim().to_string();
        let kind = c.get(3).map_or("", |m| m.as_str());
        let objects = c[4].trim().to_string();
        let who = roles(&c[5]);
        let anon = who.contains("anon") || who.contains("public");
        let authenticated = who.contains("authenticated") || who.contains("public");
        let is_function = kind.contains("function") || privileges.contains("execute");
        let names: Vec<String> = split_objects(&objects);
        if is_function {
            for n in &names {
                let targets: Vec<String> = if kind.starts_with("all") {
                    self.functions.keys().cloned().collect()
                } else {
                    vec![qualified(n.split('(').next().unwrap_or(n).trim())]
                };
                for t in targets {
                    if let Some(f) = self.functions.get_mut(&t) {
                        if anon {
                            f.anon = is_grant;
                            f.granted_anon |= is_grant && who.contains("anon");
                        }
                        if authenticated {
                            f.authenticated = is_grant;
                        }
                    }
                }
            }
            if is_grant && who.contains("anon") && kind.starts_with("all") {
                self.events.push(Event {
                    at: (file, stmt.range.clone()),
                    kind: EventKind::GrantToAnon {
                        privileges,
                        objects: format!("all functions in schema {objects}"),
                        tables: Vec::new(),
                    },
                });
            }
            return;
        }
        let column_level = privileges.contains('(');
        let touches_select = privileges.contains("select") || privileges.contains("all");
        let tables: Vec<String> = if kind.starts_with("all") {
            self.tables.keys().cloned().collect()
        } else {
            names.iter().map(|n| qualified(n)).collect()
        };
        for t in &tables {
            if privileges.contains("update")
                && who.contains("authenticated")
                && (column_level || !is_grant)
                && let Some(table) = self.tables.get_mut(t)
            {
                table.update_restricted = true;
            }
            if !touches_select || column_level {
                continue;
            }
            if let Some(table) = self.tables.get_mut(t) {
                if anon {
                    table.anon = is_grant;
                }
                if authenticated {
                    table.authenticated = is_grant;
                }
            }
            if let Some(view) = self.views.get_mut(t) {
                if anon {
                    view.anon = is_grant;
                }
                if authenticated {
                    view.authenticated = is_grant;
                }
            }
        }
        if is_grant && who.contains("anon") {
            let objects = if kind.starts_with("all") {
                format!("all tables in schema {objects}")
            } else {
                objects
            };
            self.events.push(Event {
                at: (file, stmt.range.clone()),
                kind: EventKind::GrantToAnon {
                    privileges,
                    objects,
                    tables: if kind.starts_with("all") {
                        Vec::new()
                    } else {
                        tables
                    },
                },
            });
        }
    }

    /// DDL written directly inside `DO $$ ... $$` (often wrapped in `if not exists`): each
    /// statement from its keyword to the next `;`, replayed as if it stood alone.
    fn do_block(&mut self, file: usize, stmt: &Statement) {
        let lower = &stmt.lower;
        let mut starts: Vec<usize> = DO_DDL.find_iter(lower).map(|m| m.start()).collect();
        starts.dedup();
        let mut last_end = 0;
        for start in starts {
            if start < last_end {
                continue;
            }
            let end = lower[start..].find(';').map_or(lower.len(), |i| start + i);
            last_end = end;
            let body = &lower[start..end];
            // the text of a dynamic `execute '...'` is not DDL we can read
            if lower[..start].trim_end().ends_with('\'') || lower[..start].ends_with("format(") {
                continue;
            }
            let parsed = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                .try_with_sql(body)
                .and_then(|mut p| p.parse_statement())
                .ok();
            let inner = Statement {
                range: stmt.range.start + start..stmt.range.start + end,
                lower: body.to_string(),
                parsed,
                is_too_deep: false,
            };
            self.apply(file, &inner);
        }
    }
}

/// Role names of a grantee list, lowercased.
/// The top-level `and` terms of a policy condition, lowercased: `(a and (b or c)) and d` gives
/// `a`, `b or c`, `d`.
fn and_terms(condition: &Expr) -> Vec<String> {
    match condition {
        Expr::Nested(inner) => and_terms(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut terms = and_terms(left);
            terms.extend(and_terms(right));
            terms
        }
        other => vec![other.to_string().to_ascii_lowercase()],
    }
}

fn roles(list: &str) -> BTreeSet<String> {
    list.split(',')
        .map(|r| r.trim().trim_matches('"').to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

/// The object names of `on a, b` (function signatures keep their argument lists whole).
fn split_objects(objects: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in objects.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current).trim().to_string());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// The rows of `insert into storage.buckets` that set `public` to `true`, each with the bucket's
/// `id` (or `name`) when it is a literal. Every row of a multi-row `values` list is read.
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

#[cfg(test)]
mod tests {
    use super::History;
    use crate::platform::supabase::config::ExposedSchemas;

    fn replay(files: &[&str]) -> History {
        let mut h = History::new(ExposedSchemas::default());
        for (i, f) in files.iter().enumerate() {
            h.apply_file(i, f);
        }
        h
    }

    #[test]
    fn drop_and_alter_policy_change_the_final_state() {
        let h = replay(&[
            "create table t (id int); create policy a on t for select using (true); create policy b on t for all using (true);",
            "drop policy a on t; alter policy b on t using (auth.uid() = id);",
        ]);
        assert_eq!(h.policies.len(), 1);
        let b = h.policies.values().next().expect("policy b");
        assert_eq!(b.using.as_deref(), Some("auth.uid() = id"));
        assert_eq!(b.at.0, 1);
    }

    #[test]
    fn ddl_inside_do_blocks_counts() {
        let h = replay(&[
            "create table public.t (id int);\ndo $$ begin if not exists (select 1) then alter table public.t enable row level security; end if; end $$;",
        ]);
        assert!(h.tables["public.t"].rls);
    }

    #[test]
    fn redefinitions_make_one_function_and_revokes_apply() {
        let h = replay(&[
            "create function f() returns int language sql security definer as $$ select 1 $$;",
            "create or replace function f() returns int language sql security definer set search_path = '' as $$ select 1 $$;\nrevoke execute on function f() from anon, authenticated;",
        ]);
        let f = &h.functions["public.f"];
        assert_eq!(f.defs.len(), 2);
        assert!(f.has_search_path && !f.anon && !f.authenticated);
    }

    #[test]
    fn renamed_tables_keep_their_rls() {
        let h = replay(&[
            "create table a (id int); alter table a enable row level security; alter table a rename to b;",
        ]);
        assert!(h.tables["public.b"].rls);
    }
}

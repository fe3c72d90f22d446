//! Supabase SQL judged as the database ends up: `table-without-rls`, `permissive-policy`,
//! `policy-trusts-user-metadata`, `security-definer-function`, `view-bypasses-rls`,
//! `grant-to-anon`, the SQL side of `public-storage-bucket`, `rls-enabled-without-policy`,
//! `materialized-view-exposed`, `auth-users-exposed`, `self-update-privileged-column`,
//! `signup-trigger-trusts-user-metadata` and `extension-in-public`.
//!
//! SQL files are grouped into projects: `X/migrations/*.sql`, `X/schemas/*.sql` and the `.sql`
//! files of `X` itself (`seed.sql`, `schema.sql`) are one history, replayed in the order Supabase
//! applies them (migrations by file name, then declarative schemas, then other files, seed last)
//! by [`History`]; each check then judges the final state, once per object, at the statement that
//! last defined it. Histories that never mention anything Supabase-specific (Prisma migrations,
//! plain Postgres) and migrations a tool discarded are left alone.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use sqlparser::ast::CreatePolicyCommand;

use super::config::ExposedSchemas;
use super::history::{EventKind, History, Place, Policy};
use super::sql::{self, Statement};
use super::storage::{bucket_message, bucket_severity};
use crate::discover::{Candidate, FileKind, SkipReason};
use crate::engine::{self, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::platform::Check;
use crate::rules::Severity;
use crate::source::LineIndex;

/// The checks judged over SQL histories.
pub const SQL_CHECKS: [Check; 19] = [
    Check::QueueExposedInApi,
    Check::ShareTokenNotChecked,
    Check::FunctionSearchPathMutable,
    Check::PublicBucketAllowsListing,
    Check::ForeignTableExposed,
    Check::GraphqlExposesSchema,
    Check::TableWithoutRls,
    Check::PermissivePolicy,
    Check::PolicyTrustsUserMetadata,
    Check::SecurityDefinerFunction,
    Check::ViewBypassesRls,
    Check::GrantToAnon,
    Check::PublicStorageBucket,
    Check::RlsEnabledWithoutPolicy,
    Check::MaterializedViewExposed,
    Check::AuthUsersExposed,
    Check::SelfUpdatePrivilegedColumn,
    Check::SignupTriggerTrustsUserMetadata,
    Check::ExtensionInPublic,
];

/// Table names or columns that say a table holds personal data.
static PERSONAL_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|_)(customers?|patients?|contacts?|messages?|orders?|payments?|invoices?|addresses|chats?|medical_records?|bookings?|leads?|profiles?|users?)$").expect("valid regex")
});
static PERSONAL_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(email|phone|phone_number|address|date_of_birth|dob|birthday|ssn|full_name|stripe_customer_id|ip_address)$").expect("valid regex")
});
/// Columns that decide what a user may do or has paid for.
static PRIVILEGED_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(role|roles|user_role|app_role|role_id|user_role_id|app_role_id|is_admin|admin|is_superuser|is_staff|is_moderator|permissions|credits?|credit_balance|balance|wallet_balance|plan|plan_id|subscription_tier|subscription_plan|subscription_status|subscription_expires_at|tier|is_premium|is_pro|is_paid|premium|points|account_type|user_type|is_verified|verified|approved|is_approved)$").expect("valid regex")
});
/// Tables that hold a user's own account, settings or entitlements.
static ACCOUNT_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|_)(users?|profiles?|accounts?|settings|members?|memberships?|wallets?|subscriptions?|credits?|recruiters?|employees?|roles?|customers_profile)$").expect("valid regex")
});
/// `auth.uid() = <column>` (or the reverse), the shape of an own-row condition.
static OWN_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(auth\.uid\(\)\s*=\s*[\w."]+|[\w."]+\s*=\s*auth\.uid\(\))$"#)
        .expect("valid regex")
});
/// A condition that relates the row to the caller.
static CALLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"auth\.uid\s*\(\)|auth\.jwt\s*\(\)|request\.jwt|current_user").expect("valid regex")
});
/// Statements that change data, in a function body.
static WRITES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\b(insert\s+into|update\s+[\w."]+\s+set|delete\s+from|truncate|refresh\s+materialized\s+view)\b"#)
        .expect("valid regex")
});
/// Texts that say a SQL history is Supabase's (or at least uses its roles and RLS).
static SUPABASE_MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)auth\.uid\(\)|auth\.users|auth\.jwt\(\)|row level security|storage\.buckets|\bto\s+(anon|authenticated)\b|supabase").expect("valid regex")
});

/// One finding of a SQL history, before it becomes a [`Finding`].
#[derive(Debug)]
struct Hit {
    at: Place,
    check: Check,
    message: String,
    severity: Option<Severity>,
    /// Earlier definitions of the same object.
    related: Vec<Place>,
}

impl Hit {
    fn new(at: &Place, check: Check, message: String, severity: Option<Severity>) -> Self {
        Hit {
            at: at.clone(),
            check,
            message,
            severity,
            related: Vec::new(),
        }
    }
}

/// What the per-file pass keeps of one SQL file for the project pass: the statements the
/// history replay reads (parsed once, on the worker pool), where its lines start, and whether the
/// file itself says it is Supabase's. Statements the replay never reads (`select`, `update`,
/// data `insert`s of a seed file, comments) are dropped, so what is retained is mostly the DDL.
#[derive(Debug)]
pub struct SqlFacts {
    statements: Vec<Statement>,
    lines: LineIndex,
    is_supabase: bool,
}

/// Whether the project pass wants the facts of a SQL file at `display`.
pub fn wants_facts(display: &str) -> bool {
    !is_ignored(display)
}

/// Extracts the facts of one SQL file (see [`SqlFacts`]). A statement nested past the parser's
/// recursion limit gets a `parse-error` note: the history goes on without it.
pub fn facts(ctx: &FileContext<'_>) -> SqlFacts {
    let file = ctx.file;
    let mut statements = sql::statements(&file.text);
    let too_deep: Vec<usize> = statements
        .iter()
        .filter(|s| s.is_too_deep)
        .map(|s| file.position(s.range.start).line)
        .collect();
    if let Some(first) = too_deep.first() {
        ctx.note(
            SkipReason::ParseError,
            format!(
                "{} SQL statement{} nested too deeply to parse (first at line {first}); the migration history was read without {}",
                too_deep.len(),
                if too_deep.len() == 1 { "" } else { "s" },
                if too_deep.len() == 1 { "it" } else { "them" },
            ),
        );
    }
    statements.retain(History::reads);
    SqlFacts {
        statements,
        lines: LineIndex::of(file),
        is_supabase: file.display.split('/').any(|s| s == "supabase")
            || SUPABASE_MARKERS.is_match(&file.text),
    }
}

/// Judges a migration history: `files` in order, with these schemas exposed.
#[cfg(test)]
fn analyze(files: &[&str], exposed: ExposedSchemas) -> Vec<Hit> {
    let mut h = History::new(exposed);
    for (i, text) in files.iter().enumerate() {
        h.apply_file(i, text);
    }
    judge(&h)
}

fn judge(h: &History) -> Vec<Hit> {
    let mut hits = Vec::new();
    tables(h, &mut hits);
    for p in h.policies.values() {
        policy(h, p, &mut hits);
    }
    functions(h, &mut hits);
    signup_triggers(h, &mut hits);
    queues(h, &mut hits);
    search_paths(h, &mut hits);
    bucket_listing(h, &mut hits);
    graphql(h, &mut hits);
    views(h, &mut hits);
    events(h, &mut hits);
    for (name, (at, schema)) in &h.extensions {
        // these create and use schemas of their own, whatever the statement says
        let own_schema = matches!(
            name.as_str(),
            "plpgsql"
                | "pg_graphql"
                | "supabase_vault"
                | "pgsodium"
                | "pg_cron"
                | "pg_net"
                | "pgmq"
        );
        let in_public = !own_schema && schema.as_deref().is_none_or(|s| s == "public");
        if in_public && h.exposed.contains("public.x") {
            hits.push(Hit::new(
                at,
                Check::ExtensionInPublic,
                format!(
                    "Extension `{name}` is installed in `public`, the schema the API exposes: its functions and tables become callable and readable through `/rest/v1` (install it `with schema extensions`)"
                ),
                None,
            ));
        }
    }
    hits
}

fn is_personal(h: &History, table: &str) -> bool {
    let bare = table.rsplit('.').next().unwrap_or(table);
    PERSONAL_TABLE.is_match(bare)
        || h.tables
            .get(table)
            .is_some_and(|t| t.columns.iter().any(|c| PERSONAL_COLUMN.is_match(c)))
}

/// `table-without-rls` and `rls-enabled-without-policy`.
fn tables(h: &History, hits: &mut Vec<Hit>) {
    for (name, t) in &h.tables {
        if !h.exposed.contains(name) || !(t.anon || t.authenticated) {
            continue;
        }
        if t.is_foreign {
            let (what, who) = match name.strip_suffix(".*") {
                Some(import) => (
                    format!(
                        "The foreign tables imported from `{}`",
                        import.rsplit('.').next().unwrap_or(import)
                    ),
                    "are",
                ),
                None => (format!("Foreign table `{name}`"), "is"),
            };
            hits.push(Hit::new(
                &t.at,
                Check::ForeignTableExposed,
                format!(
                    "{what} {who} in a schema the API exposes, and row level security never applies to foreign tables: {} can read {} through `/rest/v1` (move {} to a private schema or revoke `anon` and `authenticated`)",
                    if t.anon { "anyone with the anon key" } else { "any signed-in user" },
                    if who == "are" { "them" } else { "it" },
                    if who == "are" { "them" } else { "it" },
                ),
                None,
            ));
            continue;
        }
        let policies = h.policies.keys().filter(|(tb, _)| tb == name).count();
        if !t.rls {
            let message = if policies > 0 {
                format!(
                    "Table `{name}` has {policies} polic{} but row level security is never enabled, so they do nothing: anyone with the public anon key can read and modify every row",
                    if policies == 1 { "y" } else { "ies" }
                )
            } else {
                format!(
                    "Table `{name}` never gets row level security enabled: anyone with the public anon key can read and modify every row"
                )
            };
            hits.push(Hit::new(&t.at, Check::TableWithoutRls, message, None));
        } else if policies == 0 {
            hits.push(Hit::new(
                &t.at,
                Check::RlsEnabledWithoutPolicy,
                format!(
                    "Table `{name}` has row level security enabled and no policy: every query through the API returns nothing and every write fails (only the service role can use it)"
                ),
                None,
            ));
        }
    }
}

/// A policy condition lower-cased, without white space or parentheses, for comparing shapes.
fn compact(condition: &str) -> String {
    condition
        .to_ascii_lowercase()
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '(' && *ch != ')')
        .collect()
}

/// A condition that is `true` however it is written: `true`, `(1 = 1)`, `'a' = 'a'`.
fn is_true(condition: Option<&str>) -> bool {
    let Some(c) = condition.map(compact) else {
        return false;
    };
    if c == "true" || c == "notfalse" {
        return true;
    }
    c.split_once('=')
        .is_some_and(|(a, b)| !a.is_empty() && a == b && !a.contains('.') && !a.ends_with('!'))
}

/// `auth.role() = 'authenticated'` or `auth.uid() is not null`: any account passes.
fn is_any_user(condition: Option<&str>) -> bool {
    let Some(c) = condition.map(compact) else {
        return false;
    };
    matches!(
        c.as_str(),
        "auth.role='authenticated'" | "auth.uidisnotnull" | "'authenticated'=auth.role"
    )
}

/// Who a policy's roles let in, in words; `None` when only the server's roles.
fn audience(roles: &[String]) -> Option<(String, bool)> {
    if !roles.is_empty() && roles.iter().all(|r| r == "service_role" || r == "postgres") {
        return None;
    }
    if roles.is_empty() || roles.iter().any(|r| r == "anon" || r == "public") {
        return Some(("anyone".into(), true));
    }
    if roles.iter().any(|r| r == "authenticated") {
        return Some(("any signed-in user".into(), false));
    }
    let custom: Vec<String> = roles.iter().map(|r| format!("`{r}`")).collect();
    Some((format!("every member of role {}", custom.join(", ")), false))
}

/// Columns that hold the secret of a share link.
static SHARE_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(share|sharing|public|invite|access|view)_(token|code|key|secret|hash|slug)$")
        .expect("valid regex")
});

/// `share-token-not-checked`: a table with a share-link token column whose `select` policy
/// lets anyone read the rows flagged shared without looking at the token.
fn share_token(h: &History, p: &Policy, hits: &mut Vec<Hit>) {
    if p.restrictive
        || !matches!(
            p.command,
            CreatePolicyCommand::Select | CreatePolicyCommand::All
        )
        || !audience(&p.roles).is_some_and(|(_, anon)| anon)
    {
        return;
    }
    let Some(token) = h
        .tables
        .get(&p.table)
        .and_then(|t| t.columns.iter().find(|c| SHARE_TOKEN.is_match(c)))
    else {
        return;
    };
    let Some(using) = p.using.as_deref().map(str::to_ascii_lowercase) else {
        return;
    };
    // `true` is `permissive-policy`'s; a condition on the caller or the token is not this
    if is_true(Some(using.as_str())) || CALLER.is_match(&using) || using.contains(token.as_str()) {
        return;
    }
    hits.push(Hit::new(
        &p.at,
        Check::ShareTokenNotChecked,
        format!(
            "Policy \"{}\" lets anyone with the anon key list every shared row of `{}` without knowing its `{token}`: the share link's token protects nothing (look rows up by token in a `security definer` function instead)",
            p.name, p.table
        ),
        None,
    ));
}

/// `permissive-policy`, `policy-trusts-user-metadata`, `self-update-privileged-column`.
fn policy(h: &History, p: &Policy, hits: &mut Vec<Hit>) {
    share_token(h, p, hits);
    let Some((who, open_to_anon)) = audience(&p.roles) else {
        return;
    };
    let name = &p.name;
    let table = &p.table;
    let using = p.using.as_deref();
    let command = &p.command;
    let writes = !matches!(command, CreatePolicyCommand::Select);
    // an absent condition lets every row through; for INSERT only `with check` applies
    let check = p
        .check
        .as_deref()
        .or(if matches!(command, CreatePolicyCommand::Insert) {
            None
        } else {
            using
        });
    let open_check = match command {
        CreatePolicyCommand::Insert => p.check.is_none() || is_true(p.check.as_deref()),
        CreatePolicyCommand::Update | CreatePolicyCommand::All => {
            is_true(check) || (p.check.is_none() && p.using.is_none())
        }
        _ => false,
    };
    let open_using =
        !matches!(command, CreatePolicyCommand::Insert) && (using.is_none() || is_true(using));
    // a restrictive policy, or a metadata test ANDed with an own-row condition, only narrows
    // what the caller may do with their own rows
    let metadata = !p.restrictive
        && [
            (using, &p.using_terms),
            (p.check.as_deref(), &p.check_terms),
        ]
        .iter()
        .any(|(e, terms)| e.is_some_and(|e| e.contains("user_metadata")) && !own_rows_only(terms));
    if metadata {
        hits.push(Hit::new(
            &p.at,
            Check::PolicyTrustsUserMetadata,
            format!(
                "Policy \"{name}\" on `{table}` trusts `user_metadata` from the JWT, which every user can edit with `supabase.auth.updateUser`"
            ),
            None,
        ));
    }
    if p.restrictive {
        // a restrictive policy only narrows what the permissive ones allow
        return;
    }
    if table == "storage.objects" {
        storage_policy(h, p, &who, open_to_anon, hits);
        return;
    }
    if writes && (open_check || (open_using && !matches!(command, CreatePolicyCommand::Insert))) {
        let verb = match command {
            CreatePolicyCommand::Insert => "insert any row into",
            CreatePolicyCommand::Update => "update every row of",
            CreatePolicyCommand::Delete => "delete every row of",
            _ => "read and change every row of",
        };
        let why = if p.using.is_none() && p.check.is_none() {
            "no condition at all"
        } else if matches!(command, CreatePolicyCommand::Insert) && p.check.is_none() {
            "no `with check`"
        } else {
            "an always-true condition"
        };
        hits.push(Hit::new(
            &p.at,
            Check::PermissivePolicy,
            format!("Policy \"{name}\" lets {who} {verb} `{table}` ({why})"),
            Some(if open_to_anon {
                Severity::Critical
            } else {
                Severity::High
            }),
        ));
        return;
    }
    if matches!(
        command,
        CreatePolicyCommand::Update | CreatePolicyCommand::Delete | CreatePolicyCommand::All
    ) && is_any_user(using)
    {
        hits.push(Hit::new(
            &p.at,
            Check::PermissivePolicy,
            format!(
                "Policy \"{name}\" lets any signed-in user change every row of `{table}` (it only checks that the caller is logged in)"
            ),
            Some(Severity::High),
        ));
        return;
    }
    if !writes && open_using && is_personal(h, table) {
        hits.push(Hit::new(
            &p.at,
            Check::PermissivePolicy,
            format!(
                "Policy \"{name}\" lets {who} read every row of `{table}`, which holds personal data (`using (true)`)"
            ),
            None,
        ));
        return;
    }
    if matches!(
        command,
        CreatePolicyCommand::Update | CreatePolicyCommand::All
    ) && using.is_some_and(is_own_row)
    {
        self_update(h, p, hits);
    }
}

/// The bucket a `storage.objects` policy condition names when that is all it tests (besides
/// tests any caller passes): `bucket_id = 'photos'`, `bucket_id = 'photos' and auth.role() =
/// 'authenticated'`. `None` when the condition scopes files to their owner, a folder, a role or a
/// membership, or names no single bucket.
fn bucket_only(terms: &[String]) -> Option<String> {
    let mut bucket = None;
    for term in terms {
        let c = compact(term);
        let name = c
            .strip_prefix("bucket_id='")
            .and_then(|r| r.strip_suffix('\''))
            .or_else(|| {
                c.strip_prefix('\'')
                    .and_then(|r| r.strip_suffix("'=bucket_id"))
            });
        match name {
            Some(n) if !n.contains('\'') && bucket.is_none() => bucket = Some(n.to_string()),
            _ if is_true(Some(term)) || is_any_user(Some(term)) => {}
            _ => return None,
        }
    }
    bucket
}

/// `permissive-policy` on `storage.objects`: a write policy whose only test is the bucket lets
/// every user overwrite or delete everyone's files (update, delete, all) or upload anywhere in the
/// bucket, other users' folders included (insert); a read policy whose only test is a bucket
/// named for private files lets every user read them all.
fn storage_policy(h: &History, p: &Policy, who: &str, open_to_anon: bool, hits: &mut Vec<Hit>) {
    let name = &p.name;
    let (terms, verb) = match p.command {
        CreatePolicyCommand::Insert => (&p.check_terms, "upload files anywhere in"),
        CreatePolicyCommand::Select => (&p.using_terms, "read every file of"),
        CreatePolicyCommand::Update => (&p.using_terms, "overwrite every file of"),
        CreatePolicyCommand::Delete => (&p.using_terms, "delete every file of"),
        CreatePolicyCommand::All => (&p.using_terms, "read, overwrite and delete every file of"),
    };
    let severity = match (&p.command, open_to_anon) {
        (CreatePolicyCommand::Select, _) | (CreatePolicyCommand::Insert, false) => Severity::Medium,
        (CreatePolicyCommand::Insert, true) | (_, false) => Severity::High,
        (_, true) => Severity::Critical,
    };
    let Some(bucket) = bucket_only(terms) else {
        return;
    };
    if matches!(p.command, CreatePolicyCommand::Select)
        && bucket_severity(Some(&bucket)) != Some(Severity::High)
        && !(bucket_severity(Some(&bucket)).is_some() && rows_are_private(h, &bucket))
    {
        return;
    }
    // uploads of everyone into a bucket meant for everyone's files are its purpose
    if matches!(p.command, CreatePolicyCommand::Insert)
        && !open_to_anon
        && bucket_severity(Some(&bucket)).is_none()
    {
        return;
    }
    let why = if matches!(p.command, CreatePolicyCommand::Insert) {
        "other users' folders included: its `with check` tests only the bucket, not the caller's folder (`(storage.foldername(name))[1] = auth.uid()::text`)"
    } else {
        "other users' files included: it tests only the bucket, not the file's owner (`owner_id = auth.uid()::text`) or folder"
    };
    hits.push(Hit::new(
        &p.at,
        Check::PermissivePolicy,
        format!("Policy \"{name}\" lets {who} {verb} the storage bucket `{bucket}`, {why}"),
        Some(severity),
    ));
}

/// Whether the table named like a bucket (`photos` for the `photos` bucket) limits reading its
/// rows to their owners or members: every permissive `select` policy on it relates the row to
/// `auth.uid()`. Then the files are as private as the rows that describe them.
fn rows_are_private(h: &History, bucket: &str) -> bool {
    let table = format!("public.{}", bucket.replace('-', "_"));
    let mut reads = h
        .policies
        .values()
        .filter(|q| {
            q.table == table
                && !q.restrictive
                && matches!(
                    q.command,
                    CreatePolicyCommand::Select | CreatePolicyCommand::All
                )
        })
        .peekable();
    reads.peek().is_some()
        && reads.all(|q| {
            q.using
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().contains("auth.uid()"))
        })
}

/// Columns that grant rights rather than value: roles, admin flags, permissions.
fn is_role_column(column: &str) -> bool {
    [
        "role",
        "admin",
        "permission",
        "staff",
        "superuser",
        "moderator",
    ]
    .iter()
    .any(|w| column.contains(w))
}

/// Whether one of a condition's top-level `and` terms (`History`'s `using_terms`) is an
/// own-row test (`auth.uid() = created_by and (... ->> 'role' = 'customer')`): whatever else it
/// tests, the condition never passes a row of another user.
fn own_rows_only(terms: &[String]) -> bool {
    // `auth.uid() = user_id`, or a membership through the caller's rows
    // (`ticket_id in (select id from tickets where created_by = auth.uid())`)
    let relates_to_caller = |t: &str| {
        is_own_row(t)
            || (t.contains("auth.uid()")
                && !t.contains("user_metadata")
                && !t.contains("is not null")
                && !t.contains("<>")
                && !t.contains("!="))
    };
    terms.len() > 1 && terms.iter().any(|t| relates_to_caller(t))
}

/// `auth.uid() = user_id` and nothing else (also `(select auth.uid())`, parenthesised).
fn is_own_row(condition: &str) -> bool {
    let c = condition
        .to_ascii_lowercase()
        .replace("(select auth.uid())", "auth.uid()")
        .replace("(select auth.uid() as uid)", "auth.uid()");
    OWN_ROW.is_match(strip_outer_parens(&c))
}

/// `condition` without the parentheses that wrap all of it (`((id = auth.uid()))` becomes
/// `id = auth.uid()`); trimming every `)` would eat the call's own.
fn strip_outer_parens(condition: &str) -> &str {
    let mut c = condition.trim();
    while c.starts_with('(') && c.ends_with(')') {
        // the first `(` must close at the very end, not earlier (`(a) = (b)`)
        let mut depth = 0i32;
        let closes_at_end = c.char_indices().all(|(i, ch)| {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth > 0 || i == c.len() - 1
        });
        if !closes_at_end {
            break;
        }
        c = c[1..c.len() - 1].trim();
    }
    c
}

/// An own-row UPDATE policy on a table with columns that grant rights (`role`, `credits`,
/// `plan`), with nothing pinning them: no `with check` naming them, no column-level `update`
/// grant, no `before update` trigger reading them.
fn self_update(h: &History, p: &Policy, hits: &mut Vec<Hit>) {
    let Some(t) = h.tables.get(&p.table) else {
        return;
    };
    let bare = p.table.rsplit('.').next().unwrap_or(&p.table);
    if t.update_restricted || !t.authenticated || !ACCOUNT_TABLE.is_match(bare) {
        return;
    }
    let check = p.check.as_deref().unwrap_or("").to_ascii_lowercase();
    let guarded = |col: &str| {
        check.contains(col)
            || t.update_triggers.iter().any(|f| {
                h.functions.get(f).is_some_and(|f| {
                    f.text.contains(&format!("new.{col}")) || f.text.contains(&format!("old.{col}"))
                })
            })
    };
    // a role or admin flag matters when something decides access with it (a policy or a
    // function reads it); credits, plans and balances matter to the app whatever the SQL says
    let decides_access = |col: &str| {
        let word = Regex::new(&format!(r"\b{}\b", regex::escape(col))).ok();
        let mentions = |text: &str| word.as_ref().is_some_and(|w| w.is_match(text));
        h.policies.values().any(|q| {
            q.name != p.name
                && [q.using.as_deref(), q.check.as_deref()]
                    .iter()
                    .any(|e| e.is_some_and(|e| mentions(&e.to_ascii_lowercase())))
        }) || h.functions.values().any(|f| mentions(&f.text))
    };
    let open: Vec<&String> = t
        .columns
        .iter()
        .filter(|c| PRIVILEGED_COLUMN.is_match(c) && !guarded(c))
        .filter(|c| !is_role_column(c) || decides_access(c))
        .collect();
    if open.is_empty() {
        return;
    }
    let names: Vec<String> = open.iter().map(|c| format!("`{c}`")).collect();
    let is_role = open.iter().any(|c| is_role_column(c));
    hits.push(Hit::new(
        &p.at,
        Check::SelfUpdatePrivilegedColumn,
        format!(
            "Policy \"{}\" lets each user update their own row of `{}` including {}: nothing (a `with check`, a column grant or a trigger) stops a user from changing them from the browser",
            p.name,
            p.table,
            names.join(", ")
        ),
        Some(if is_role { Severity::High } else { Severity::Medium }),
    ));
}

/// `function-search-path-mutable` for functions that run with the caller's rights (definer
/// functions are judged by `security-definer-function`), once per function, as last defined.
fn search_paths(h: &History, hits: &mut Vec<Hit>) {
    for (name, f) in &h.functions {
        if f.definer || f.has_search_path {
            continue;
        }
        let Some(last) = f.defs.last() else {
            continue;
        };
        let what = if f.returns.starts_with("trigger") {
            "trigger function"
        } else {
            "function"
        };
        let mut hit = Hit::new(
            last,
            Check::FunctionSearchPathMutable,
            format!(
                "{} `{name}` has no fixed `search_path`: it resolves unqualified names through the caller's search path, so a caller who can create objects in a schema on that path can make it run their functions or read their tables (add `set search_path = ''` and qualify names)",
                if what == "function" {
                    "Function"
                } else {
                    "Trigger function"
                }
            ),
            None,
        );
        hit.related = f.defs[..f.defs.len() - 1].to_vec();
        hits.push(hit);
    }
}

/// A quoted literal, for the bucket names a storage policy compares `bucket_id` with.
static LITERAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"'([^']+)'").expect("valid regex"));

/// `public-bucket-allows-listing`: a `select` policy on `storage.objects` for a public bucket
/// that does not limit rows to the caller's files. Public buckets serve files by URL without
/// any policy; such a policy only adds listing every file.
fn bucket_listing(h: &History, hits: &mut Vec<Hit>) {
    let public: std::collections::BTreeSet<&str> = h
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::PublicBuckets(rows) => Some(rows),
            EventKind::GrantToAnon { .. } => None,
        })
        .flatten()
        .filter_map(|n| n.as_deref())
        .collect();
    if public.is_empty() {
        return;
    }
    for p in h.policies.values() {
        if p.table != "storage.objects"
            || p.restrictive
            || !matches!(
                p.command,
                CreatePolicyCommand::Select | CreatePolicyCommand::All
            )
        {
            continue;
        }
        let Some(using) = p.using.as_deref().map(str::to_ascii_lowercase) else {
            continue;
        };
        // scoped to the caller's own files or folder
        if CALLER.is_match(&using) || using.contains("owner") || using.contains("foldername") {
            continue;
        }
        if !using.contains("bucket_id") {
            continue;
        }
        let Some(bucket) = LITERAL
            .captures_iter(&using)
            .map(|c| c[1].to_string())
            .find(|b| public.contains(b.as_str()))
        else {
            continue;
        };
        let Some((who, _)) = audience(&p.roles) else {
            continue;
        };
        hits.push(Hit::new(
            &p.at,
            Check::PublicBucketAllowsListing,
            format!(
                "Policy \"{}\" lets {who} list every file of the public bucket `{bucket}`: its files are served by URL without any policy, so this `select` policy only adds listing them all (drop it, or limit it to the caller's folder)",
                p.name
            ),
            None,
        ));
    }
}

/// `graphql-exposes-schema`: `pg_graphql` installed, and tables `anon` can select from, whose
/// names and columns every visitor can list through GraphQL introspection.
fn graphql(h: &History, hits: &mut Vec<Hit>) {
    let Some((at, _)) = h.extensions.get("pg_graphql") else {
        return;
    };
    let visible: Vec<&String> = h
        .tables
        .iter()
        .filter(|(name, t)| t.anon && h.exposed.contains(name))
        .map(|(name, _)| name)
        .chain(
            h.views
                .iter()
                .filter(|(name, v)| v.anon && h.exposed.contains(name))
                .map(|(name, _)| name),
        )
        .collect();
    let Some(first) = visible.first() else {
        return;
    };
    let count = visible.len();
    hits.push(Hit::new(
        at,
        Check::GraphqlExposesSchema,
        format!(
            "`pg_graphql` is installed and `anon` may select from {count} table{} and view{} (`{first}`{}): anyone with the anon key can list their names and columns through GraphQL introspection, whatever RLS returns (revoke `select` from `anon` where it is not needed)",
            if count == 1 { "" } else { "s" },
            if count == 1 { "" } else { "s" },
            if count > 1 { ", ..." } else { "" },
        ),
        None,
    ));
}

/// `queue-exposed-in-api`: `pgmq` queues whose tables have no RLS while the API exposes the
/// `pgmq_public` wrappers (what Supabase Queues' API switch sets up) or the `pgmq` schema.
fn queues(h: &History, hits: &mut Vec<Hit>) {
    let exposed = h.queue_api_granted
        || h.exposed.contains("pgmq_public.send")
        || h.exposed.contains("pgmq.q_x");
    if !exposed {
        return;
    }
    for (name, (at, rls)) in &h.queues {
        if *rls {
            continue;
        }
        hits.push(Hit::new(
            at,
            Check::QueueExposedInApi,
            format!(
                "Queue `{name}` is reachable through the API (`pgmq_public` or `pgmq` is an exposed schema) and its table `pgmq.q_{name}` has no row level security: anyone with the anon key can send, read and delete its messages (enable RLS on `pgmq.q_{name}` with policies, or stop exposing the queue schema)"
            ),
            None,
        ));
    }
}

/// `security-definer-function`, once per function, judged as last defined.
fn functions(h: &History, hits: &mut Vec<Hit>) {
    for (name, f) in &h.functions {
        if !f.definer || !h.exposed.contains(name) || f.returns.starts_with("trigger") {
            continue;
        }
        let Some(last) = f.defs.last() else {
            continue;
        };
        // the header (name, arguments, return type) holds no statement and no `auth.uid()`
        let body = f.text.as_str();
        // directly, or through a helper that does (`if not public.is_admin() then ...`)
        let checks_caller = CALLER.is_match(body)
            || h.functions.iter().any(|(other, g)| {
                other != name
                    && CALLER.is_match(&g.text)
                    && other
                        .rsplit('.')
                        .next()
                        .is_some_and(|bare| body.contains(&format!("{bare}(")))
            });
        let writes = WRITES.is_match(body);
        let returns_rows = ["setof", "table", "json", "record"]
            .iter()
            .any(|r| f.returns.starts_with(r))
            && body.contains(" from ");
        // a scalar looked up in the accounts: `resolve_login_email(username) returns text`
        let returns_account_data = ["text", "varchar", "character", "citext"]
            .iter()
            .any(|r| f.returns.starts_with(r))
            && ACCOUNT_READ.is_match(body);
        let callable = f.anon || f.authenticated;
        let who = if f.anon {
            "`anon`"
        } else {
            "any signed-in user"
        };
        let mut problems = Vec::new();
        let mut severity = Severity::Low;
        if callable && !checks_caller && (writes || returns_rows || returns_account_data) {
            let what = if writes {
                "changes data"
            } else if returns_rows {
                "returns rows"
            } else {
                "returns account data (an e-mail address or phone number) to whoever asks"
            };
            problems.push(format!(
                "{what} without checking the caller, and {who} can call it through `/rest/v1/rpc`"
            ));
            severity = if f.anon && writes {
                Severity::High
            } else {
                Severity::Medium
            };
        }
        if !f.has_search_path {
            problems.push("has no fixed `search_path`".into());
            if writes || returns_rows {
                severity = severity.max(Severity::Medium);
            }
        }
        if problems.is_empty() {
            continue;
        }
        let mut hit = Hit::new(
            last,
            Check::SecurityDefinerFunction,
            format!(
                "`security definer` function `{name}` runs with its owner's rights and {}",
                problems.join(", and ")
            ),
            Some(severity),
        );
        hit.related = f.defs[..f.defs.len() - 1].to_vec();
        hits.push(hit);
    }
}

/// `raw_user_meta_data ->> 'role'` (or another privileged key): sign-up data the client chose.
static METADATA_PRIVILEGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"raw_user_meta_data\s*->>?\s*'(role|roles|user_role|app_role|is_admin|admin|is_superuser|is_staff|permissions|credits?|plan|tier|subscription_tier|account_type|user_type)'")
        .expect("valid regex")
});
/// A body that restricts the value it copies (`case`, `in (...)`, `= any(...)`).
static RESTRICTS_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bcase\b|\bin\s*\(|=\s*any\s*\(").expect("valid regex"));

/// `signup-trigger-trusts-user-metadata`: a trigger function (the `handle_new_user` of every
/// Supabase template) that writes a role or entitlement taken from `raw_user_meta_data`, which
/// the client sets in `supabase.auth.signUp({ options: { data } })`, judged as last defined.
fn signup_triggers(h: &History, hits: &mut Vec<Hit>) {
    for (name, f) in &h.functions {
        if !f.returns.starts_with("trigger") || !WRITES.is_match(&f.text) {
            continue;
        }
        let Some(key) = METADATA_PRIVILEGE
            .captures(&f.text)
            .map(|c| c[1].to_string())
        else {
            continue;
        };
        if RESTRICTS_VALUE.is_match(&f.text) {
            continue;
        }
        let Some(last) = f.defs.last() else {
            continue;
        };
        let mut hit = Hit::new(
            last,
            Check::SignupTriggerTrustsUserMetadata,
            format!(
                "Trigger function `{name}` stores `raw_user_meta_data ->> '{key}'`, which whoever signs up chooses (`supabase.auth.signUp({{ options: {{ data: {{ {key}: ... }} }} }})`): anyone can register with the {key} they want"
            ),
            None,
        );
        hit.related = f.defs[..f.defs.len() - 1].to_vec();
        hits.push(hit);
    }
}

/// A read of account data: `auth.users`, or a select of an e-mail or phone column.
static ACCOUNT_READ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)\bfrom\s+auth\.users\b|\bselect\b[^;]{0,200}?\b(e_?mail|phone(_?number)?)\b[^;]{0,200}?\bfrom\b")
        .expect("valid regex")
});

/// `view-bypasses-rls`, `materialized-view-exposed`, `auth-users-exposed`.
fn views(h: &History, hits: &mut Vec<Hit>) {
    for (name, v) in &h.views {
        if !h.exposed.contains(name) || !(v.anon || v.authenticated) {
            continue;
        }
        let who = if v.anon {
            "anyone with the anon key"
        } else {
            "any signed-in user"
        };
        if v.text.contains("auth.users") && !v.invoker {
            hits.push(Hit::new(
                &v.at,
                Check::AuthUsersExposed,
                format!(
                    "View `{name}` reads `auth.users` with its owner's rights in an API schema: {who} can list users' e-mails and metadata"
                ),
                None,
            ));
            continue;
        }
        if v.materialized {
            hits.push(Hit::new(
                &v.at,
                Check::MaterializedViewExposed,
                format!(
                    "Materialized view `{name}` is readable through the API by {who}: RLS never applies to materialized views (revoke `select` from `anon` and `authenticated`)"
                ),
                None,
            ));
        } else if !v.invoker {
            hits.push(Hit::new(
                &v.at,
                Check::ViewBypassesRls,
                format!(
                    "View `{name}` runs with its owner's rights (no `security_invoker`), so it returns rows that RLS hides from the caller"
                ),
                None,
            ));
        }
    }
}

/// `grant-to-anon` and `public-storage-bucket`, per statement.
fn events(h: &History, hits: &mut Vec<Hit>) {
    for e in &h.events {
        match &e.kind {
            EventKind::GrantToAnon {
                privileges,
                objects,
                tables,
            } => {
                let writes = ["all", "insert", "update", "delete", "truncate"]
                    .iter()
                    .any(|w| privileges.contains(w));
                // Supabase grants every privilege on new tables to `anon` already: a grant only
                // matters where RLS is off (or unknown); sequences and views are judged elsewhere
                if !tables.is_empty()
                    && tables
                        .iter()
                        .all(|t| h.tables.get(t).is_some_and(|t| t.rls) || h.views.contains_key(t))
                    || objects.starts_with("sequence")
                {
                    continue;
                }
                let personal = tables.iter().any(|t| is_personal(h, t));
                let schema_wide = objects.starts_with("all ");
                if writes || personal || schema_wide {
                    let what = if objects.starts_with("all functions") {
                        "call every function of the schema"
                    } else if writes {
                        "write it"
                    } else {
                        "read it"
                    };
                    hits.push(Hit::new(
                        &e.at,
                        Check::GrantToAnon,
                        format!(
                            "`{privileges}` on {objects} is granted to `anon`: anyone with the public anon key can {what} directly, subject only to RLS"
                        ),
                        Some(if writes || schema_wide {
                            Severity::High
                        } else {
                            Severity::Medium
                        }),
                    ));
                }
            }
            EventKind::PublicBuckets(rows) => {
                // one finding per statement: its most sensitive public bucket
                let worst = rows
                    .iter()
                    .filter_map(|n| bucket_severity(n.as_deref()).map(|s| (s, n)))
                    .max_by_key(|(s, _)| *s);
                if let Some((severity, name)) = worst {
                    hits.push(Hit::new(
                        &e.at,
                        Check::PublicStorageBucket,
                        bucket_message(name.as_deref()),
                        Some(severity),
                    ));
                }
            }
        }
    }
}

/// The project a SQL file belongs to and its place in the order Supabase applies files:
/// `X/migrations/*.sql` (by name), then `X/schemas/*.sql`, then other files of `X`, `seed.sql`
/// last.
fn project_of(display: &str) -> (String, u8) {
    let (dir, file) = display.rsplit_once('/').unwrap_or(("", display));
    let (parent, leaf) = dir.rsplit_once('/').unwrap_or(("", dir));
    match leaf {
        "migrations" => (parent.to_string(), 0),
        "schemas" => (parent.to_string(), 1),
        _ if file.eq_ignore_ascii_case("seed.sql") => (dir.to_string(), 3),
        _ => (dir.to_string(), 2),
    }
}

/// SQL files no database runs: migrations a tool discarded, ORM migrations of other databases.
fn is_ignored(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    lower.contains("discarded")
        || lower.contains("prisma/migrations/")
        || lower.contains("/rollback")
}

/// Project pass: every SQL project is one history, replayed from the facts of its files.
pub fn check_project(
    project: &ProjectContext<'_>,
    rules: &[(Check, usize)],
    out: &mut Vec<Finding>,
) {
    type Group<'a> = Vec<(u8, &'a Candidate, &'a SqlFacts)>;
    let mut projects: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for (c, facts) in project.facts::<SqlFacts>() {
        if c.kind == FileKind::Sql && !is_ignored(&c.display) {
            let (key, rank) = project_of(&c.display);
            projects.entry(key).or_default().push((rank, c, facts));
        }
    }
    for (_, mut files) in projects {
        files.sort_by(|a, b| (a.0, &a.1.display).cmp(&(b.0, &b.1.display)));
        let is_supabase = files.iter().any(|(_, _, f)| f.is_supabase);
        if !is_supabase {
            continue;
        }
        let exposed = files
            .first()
            .map(|(_, c, _)| ExposedSchemas::for_sql_file(&c.path))
            .unwrap_or_default();
        let mut h = History::new(exposed);
        for (i, (_, _, facts)) in files.iter().enumerate() {
            for stmt in &facts.statements {
                h.apply(i, stmt);
            }
        }
        for hit in judge(&h) {
            let Some(&(_, idx)) = rules.iter().find(|(c, _)| *c == hit.check) else {
                continue;
            };
            let (_, candidate, facts) = &files[hit.at.0];
            if !project.applies(idx, candidate) {
                continue;
            }
            let mut f = engine::finding_at(
                &candidate.display,
                &facts.lines,
                project.rules,
                idx,
                hit.at.1,
            );
            f.message = hit.message;
            if let Some(s) = hit.severity {
                f.severity = s;
            }
            f.related = hit
                .related
                .iter()
                .map(|(i, range)| {
                    let (_, c, facts) = &files[*i];
                    engine::related_at(
                        &c.display,
                        &facts.lines,
                        range.clone(),
                        "defined earlier here",
                    )
                })
                .collect();
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The `using` terms the history keeps for `create policy p on t using (<condition>)`.
    fn terms(condition: &str) -> Vec<String> {
        let mut h =
            super::History::new(crate::platform::supabase::config::ExposedSchemas::default());
        h.apply_file(
            0,
            &format!(
                "create table t (id int); create policy p on t for select using ({condition});"
            ),
        );
        h.policies
            .values()
            .next()
            .expect("the policy")
            .using_terms
            .clone()
    }

    #[test]
    fn an_and_with_the_owner_test_keeps_rows_own() {
        let own = |c: &str| super::own_rows_only(&terms(c));
        assert!(own(
            "(auth.uid() = created_by and ((auth.jwt() ->> 'user_metadata')::jsonb ->> 'role' = 'customer'))"
        ));
        assert!(!own(
            "auth.uid() = user_id or (auth.jwt() -> 'user_metadata' ->> 'role') = 'staff'"
        ));
        assert!(!own("(auth.jwt() -> 'user_metadata' ->> 'role') = 'admin'"));
        assert!(own(
            "not is_internal and ((auth.jwt() ->> 'user_metadata')::jsonb ->> 'role' = 'customer') and ticket_id in (select id from tickets where created_by = auth.uid())"
        ));
        assert!(!own(
            "auth.uid() is not null and (auth.jwt() -> 'user_metadata' ->> 'role') = 'admin'"
        ));
        // `and` inside a quoted value or a nested `or` is not a top-level term
        assert!(!own(
            "(auth.jwt() -> 'user_metadata' ->> 'team') = 'sales and ops' or (auth.uid() = user_id and true)"
        ));
        assert_eq!(
            terms("(a = 1 and (b = 2 or c = 3)) and d = 4"),
            ["a = 1", "b = 2 or c = 3", "d = 4"]
        );
    }

    use super::{analyze, project_of};

    #[test]
    fn own_row_conditions_keep_the_calls_parentheses() {
        assert!(super::is_own_row("id = auth.uid()"));
        assert!(super::is_own_row("((id = auth.uid()))"));
        assert!(super::is_own_row("(select auth.uid()) = user_id"));
        assert!(!super::is_own_row(
            "(id = auth.uid()) or (public.is_admin())"
        ));
    }
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
        let second = "alter table public.notes enable row level security;\ncreate policy p on notes for select using (auth.uid() is not null);";
        assert!(checks(&[first, second]).is_empty());
        assert_eq!(checks(&[first]), vec![Check::TableWithoutRls]);
    }

    #[test]
    fn one_finding_per_redefined_function() {
        let def = "create or replace function public.f() returns void language plpgsql security definer as $$ begin delete from t; end $$;";
        let hits = analyze(&[def, def, def], super::ExposedSchemas::default());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].at.0, 2);
        assert_eq!(hits[0].related.len(), 2);
    }

    #[test]
    fn orders_files_as_supabase_applies_them() {
        assert_eq!(
            project_of("app/supabase/migrations/1_a.sql"),
            ("app/supabase".into(), 0)
        );
        assert_eq!(
            project_of("app/supabase/schemas/a.sql"),
            ("app/supabase".into(), 1)
        );
        assert_eq!(
            project_of("app/supabase/seed.sql"),
            ("app/supabase".into(), 3)
        );
    }
}

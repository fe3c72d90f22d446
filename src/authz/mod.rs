//! The `authz` capability: privileged handlers that never check who is calling (issue 15).
//!
//! Per file (one walk of the tree the engine already parsed), [`crate::entry`] finds the entry
//! points and their middleware, and [`ops`] finds privileged operations and caller checks in each
//! function. The file keeps small owned [`FileFacts`]; the project pass ([`project`]) joins them:
//! handlers imported from controllers, helpers in other modules, routers mounted behind
//! middleware in another file, and Next.js `middleware.ts` with its matcher and public routes.
//! It only creates findings; suppression, redaction and snippets are the engine's.

pub mod idor;
pub mod ops;
pub mod project;
pub mod roles;

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::{Mutex, OnceLock, PoisonError};

use regex::Regex;

use crate::ascii_regex::AsciiRegex;
use crate::engine::{Analyzer, FileContext, ProjectContext};
use crate::entry::{self, Handler, Module};
use crate::finding::Finding;
use crate::platform::supabase::edge::QueryInput;
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet};
use crate::source::{Position, SourceFile};

use ops::{OpKind, Operation};

/// The Rust checks behind the `authz` rules, by their `builtin:` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// A privileged operation in an entry point no middleware or in-handler check guards.
    MissingCallerCheck,
    /// A record picked by a request id in an authenticated handler, never related to the caller.
    RecordChosenByRequestId,
    /// A caller-owned record read by a request id in an authenticated handler, never related to
    /// the caller.
    RecordReadByRequestId,
    /// An admin-only operation on another user's account after a sign-in check alone.
    AdminOperationWithoutRoleCheck,
    /// The acting user's identity taken from the request instead of the verified token.
    CallerIdentityFromRequest,
    /// An `Authorization` header tested for presence and never verified.
    AuthResultIgnored,
}

impl Check {
    /// Every check with the name rule files use.
    pub const ALL: [(&'static str, Check); 6] = [
        ("authz-missing-caller-check", Check::MissingCallerCheck),
        (
            "authz-record-chosen-by-request-id",
            Check::RecordChosenByRequestId,
        ),
        (
            "authz-record-read-by-request-id",
            Check::RecordReadByRequestId,
        ),
        (
            "authz-admin-operation-without-role-check",
            Check::AdminOperationWithoutRoleCheck,
        ),
        (
            "authz-caller-identity-from-request",
            Check::CallerIdentityFromRequest,
        ),
        ("authz-auth-result-ignored", Check::AuthResultIgnored),
    ];
}

/// The builtin check names this capability runs (the engine's registry of `builtin:` names).
pub fn builtin_names() -> Vec<String> {
    Check::ALL.iter().map(|(n, _)| (*n).to_string()).collect()
}

/// Builds the analyzer from the `builtin:` rules naming one of its checks.
pub fn build(
    rules: &RuleSet,
    settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let mut checks = Vec::new();
    for (idx, rule) in rules.rules().iter().enumerate() {
        let Matcher::Spec { kind, spec } = &rule.matcher else {
            continue;
        };
        if *kind != MatcherKind::Builtin {
            continue;
        }
        // claimed by name; a name no capability knows is the engine's error
        let Some(check) = spec
            .as_str()
            .and_then(|s| Check::ALL.iter().find(|(n, _)| *n == s))
            .map(|(_, c)| *c)
        else {
            continue;
        };
        checks.push((check, idx));
    }
    if checks.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(AuthzAnalyzer {
        checks,
        eager_imports: !settings.engine.combined_queries,
        every_file: settings.shard.is_some(),
        facts: Mutex::new(Vec::new()),
    })))
}

/// Collects per-file facts, then reports in the project pass.
#[derive(Debug)]
pub struct AuthzAnalyzer {
    checks: Vec<(Check, usize)>,
    /// Read every imported module, not only those a decision needs: the reference path (see
    /// [`project::load_imported`]).
    eager_imports: bool,
    /// `--shard`: collect facts through [`Analyzer::file_facts`], so the files of the other
    /// shards, read for their facts only, feed the project pass as in a whole scan.
    every_file: bool,
    /// Facts of the files of the current scan; drained by the project pass (a scanner runs one
    /// scan at a time).
    facts: Mutex<Vec<FileFacts>>,
}

/// A located span: what a finding needs to point at it without reloading the file (the finish
/// step adds the snippet).
#[derive(Clone, Debug)]
pub struct Spot {
    /// Byte range.
    pub range: Range<usize>,
    /// Start.
    pub start: Position,
    /// End.
    pub end: Position,
}

impl Spot {
    fn new(file: &SourceFile, range: Range<usize>) -> Spot {
        Spot {
            start: file.position(range.start),
            end: file.position(range.end),
            range,
        }
    }
}

/// What one function does: its privileged operations, whether it checks the caller, and the
/// functions it calls that the project pass can follow.
#[derive(Clone, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about one function, not a state machine"
)]
pub struct Summary {
    /// The function's name (`None` for an inline handler).
    pub name: Option<String>,
    /// Its span.
    pub range: Range<usize>,
    /// Privileged operations, with the matched text and, for a service-role Supabase query of
    /// a request handler, what request input does to it (rows it picks are the platform rule's).
    pub ops: Vec<(OpKind, Spot, String, Option<QueryInput>)>,
    /// Whether it checks the caller.
    pub has_check: bool,
    /// Whether it (or its module) uses an admin client.
    pub admin: bool,
    /// Names it calls that are functions of this module or imports.
    pub calls: Vec<String>,
    /// Indices into `ops` of writes and deletes whose statement picks the record by an id from
    /// the request.
    pub ops_by_request_id: Vec<usize>,
    /// Parameters that pick the record of a write or delete: (parameter position, index into
    /// `ops`), for callers that pass an id from the request there.
    pub writes_by_parameter: Vec<(usize, usize)>,
    /// Calls that pass an id from the request: (callee name, argument position).
    pub request_id_arguments: Vec<(String, usize)>,
    /// Lookups of one record picked by an id from the request: (spot, model key, call text).
    pub reads_by_request_id: Vec<(Spot, String, String)>,
    /// Models it scopes to the caller by an owner key (see [`idor::owner_scoped_models`]).
    pub owner_models: BTreeSet<String>,
    /// Whether it refers to the caller's identity (owner checks, `req.user.id`, ...).
    pub refers_to_caller: bool,
    /// Whether it authenticates a machine, not a user: shared secrets, webhook signatures.
    pub machine_auth: bool,
    /// Whether it decides on the caller's role or permissions.
    pub role_check: bool,
    /// Whether it compares a record or id with the caller's own id.
    pub compares_caller: bool,
    /// A user account it picks by an id from the request, and what it then does to it.
    pub account_op: Option<(roles::AccountOp, Spot)>,
    /// Where it takes the acting user's identity from the request (a user-id field or an
    /// identity header), and the name.
    pub identity_from_request: Option<(Spot, String)>,
    /// Whether the identity it takes from the request comes from a client-set header.
    pub identity_from_header: bool,
    /// Whether it filters a query by the identity it takes from the request (reads records of
    /// the user the request named).
    pub queries_by_identity: bool,
    /// Whether it uses the verified identity (`req.user`, `decoded.uid`, `user.id`).
    pub uses_verified_identity: bool,
    /// Whether it verifies a token or session.
    pub verifies_token: bool,
    /// Where it tests only that an `Authorization` header is present.
    pub header_presence: Option<Spot>,
    /// Where it compares a shared secret only when one is configured (fails open).
    pub fail_open_secret: Option<Spot>,
    /// Where it verifies the caller only when an `Authorization` header is sent (fails open).
    pub optional_auth: Option<Spot>,
    /// Where it signs the caller in only to choose something for them (an API key, settings)
    /// and refuses nobody; set only when that sign-in is its only caller check.
    pub optional_sign_in: Option<Spot>,
    /// Where it accepts a body shaped like a database webhook as authorisation.
    pub forgeable_webhook: Option<Spot>,
}

/// A Next.js `middleware.ts`: whether it authenticates, and which paths it covers or leaves
/// public.
#[derive(Clone, Debug, Default)]
pub struct NextMiddleware {
    /// The folder it governs (its own, without a trailing `/src`).
    pub dir: String,
    /// Whether it authenticates requests at all.
    pub protects: bool,
    /// `config.matcher` patterns.
    pub matcher: Vec<String>,
    /// Paths listed as public (ignored, unprotected).
    pub public: Vec<String>,
    /// Paths listed as protected, when the middleware names them.
    pub protected: Vec<String>,
    /// Whether it sets identity headers (`x-user-id`) on the forwarded request: then handlers
    /// read a value the middleware wrote, not the client.
    pub sets_identity_headers: bool,
}

/// The facts one file contributes to the project pass.
#[derive(Clone, Debug)]
pub struct FileFacts {
    /// Display path.
    pub path: String,
    /// Entry points, imports, `use` chains, functions.
    pub module: Module,
    /// Where each entry point is (parallel to `module.entries`).
    pub entry_spots: Vec<Spot>,
    /// Summaries of the functions that matter (operations, checks or calls), and of every
    /// inline handler.
    pub summaries: Vec<Summary>,
    /// Set when the file is a Next.js middleware.
    pub next_middleware: Option<NextMiddleware>,
}

fn call_names() -> &'static AsciiRegex {
    static RE: OnceLock<AsciiRegex> = OnceLock::new();
    RE.get_or_init(|| AsciiRegex::new(r"([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)\s*\("))
}

impl AuthzAnalyzer {
    /// Keeps the facts of one file for the project pass.
    fn collect_facts(&self, ctx: &FileContext<'_>) {
        if !self.checks.iter().any(|(_, i)| ctx.is_active(*i)) {
            return;
        }
        let file = ctx.file;
        // only entry-point modules and Next.js middleware are parsed here; the helpers and
        // controllers they import are read on demand by the project pass
        let is_middleware = next_middleware(&file.display, &file.text).is_some();
        if !is_middleware && !entry::may_have_entry_points(&file.display, &file.text) {
            return;
        }
        let Some(tree) = ctx.tree() else { return };
        if let Some(facts) = file_facts(file, tree.root_node()) {
            // kept for the project pass, which a cached outcome would not feed
            crate::engine::not_cacheable();
            self.facts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(facts);
        }
    }
}

impl Analyzer for AuthzAnalyzer {
    fn name(&self) -> &'static str {
        "authz"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.checks.iter().map(|(_, i)| *i).collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, _out: &mut Vec<Finding>) {
        if !self.every_file {
            self.collect_facts(ctx);
        }
    }

    fn wants_facts(&self, kind: crate::discover::FileKind, _display: &str) -> bool {
        self.every_file && kind.is_code()
    }

    fn file_facts(&self, ctx: &FileContext<'_>) {
        self.collect_facts(ctx);
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        let mut facts =
            std::mem::take(&mut *self.facts.lock().unwrap_or_else(PoisonError::into_inner));
        // facts left by single-file scans (`Scanner::scan_file`, editors) belong to no scan
        facts.retain(|f| {
            project
                .candidates
                .binary_search_by(|c| c.display.as_str().cmp(&f.path))
                .is_ok()
        });
        project::load_imported(&mut facts, project, self.eager_imports);
        facts.sort_by(|a, b| a.path.cmp(&b.path));
        for (check, idx) in &self.checks {
            match check {
                Check::MissingCallerCheck => {
                    project::missing_caller_checks(&facts, project, *idx, out);
                }
                Check::RecordChosenByRequestId => {
                    project::records_chosen_by_request_id(&facts, project, *idx, out);
                }
                Check::RecordReadByRequestId => {
                    project::records_read_by_request_id(&facts, project, *idx, out);
                }
                Check::AdminOperationWithoutRoleCheck => {
                    project::admin_operations_without_role_check(&facts, project, *idx, out);
                }
                Check::CallerIdentityFromRequest => {
                    project::caller_identity_from_request(&facts, project, *idx, out);
                }
                Check::AuthResultIgnored => {
                    project::auth_results_ignored(&facts, project, *idx, out);
                }
            }
        }
    }
}

/// Reads one file's facts; `None` when it has nothing the project pass needs.
pub fn file_facts(file: &SourceFile, root: tree_sitter::Node<'_>) -> Option<FileFacts> {
    let text = file.text.as_str();
    if text.len() > MAX_FILE_BYTES {
        return None;
    }
    let next_middleware = next_middleware(&file.display, text);
    let mut module = entry::module(&file.display, text, root);
    // tests register handlers to call them, not to serve them
    if is_test_path(&file.display) {
        module.entries.clear();
    }
    // comments come from a pre-order walk, so they are sorted by start
    let in_comment = |at: usize| {
        let i = module.comments.partition_point(|c| c.start <= at);
        i > 0 && module.comments[i - 1].contains(&at)
    };
    let file_admin = ops::uses_admin_client(text);
    // a whole-table read matters only with a client that bypasses row-level rules
    let operations: Vec<Operation> = ops::operations(text)
        .into_iter()
        .filter(|o| !in_comment(o.range.start) && (file_admin || o.kind != OpKind::TableDump))
        .collect();
    // `request.auth` in the rules text a function releases checks nobody
    let in_document = |at: usize| module.documents.iter().any(|d| d.contains(&at));
    let checks: Vec<usize> = ops::caller_checks(text)
        .into_iter()
        .filter(|c| !in_comment(*c) && !in_document(*c))
        .collect();
    if module.entries.is_empty()
        && module.uses.is_empty()
        && operations.is_empty()
        && checks.is_empty()
        && next_middleware.is_none()
        && module.imports.is_empty()
        && module.global_guards.is_empty()
    {
        return None;
    }
    let names: BTreeSet<&str> = module
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .chain(module.imports.iter().map(|i| i.local.as_str()))
        .collect();
    let known = |name: &str| names.contains(name.split('.').next().unwrap_or(name));
    // every call of a known name, once for the file, sorted by offset
    let calls: Vec<(usize, &str)> = call_names()
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .filter(|m| known(m.as_str()))
        .map(|m| (m.start(), m.as_str()))
        .collect();
    // a second walk of the tree, so only where a Supabase query or admin call can be: a
    // service-role marker or an import of an admin module, and a `.from(` or `auth.admin`
    let handler_queries = if (text.contains(".from(") || text.contains("auth.admin"))
        && (ops::uses_supabase_service_role(text)
            || (text.contains("import") || text.contains("require(")) && text.contains("admin"))
    {
        crate::platform::supabase::edge::handler_queries(root, text)
    } else {
        Vec::new()
    };
    let facts = FileWide {
        operations: &operations,
        checks: &checks,
        calls: &calls,
        admin: file_admin,
        handler_queries: &handler_queries,
    };
    let mut spans: Vec<(Option<String>, Range<usize>)> = module
        .functions
        .iter()
        .map(|f| (Some(f.name.clone()), f.range.clone()))
        .collect();
    for e in &module.entries {
        if let Handler::Inline(r) = &e.handler {
            spans.push((None, r.clone()));
        }
    }
    let summaries: Vec<Summary> = spans
        .into_iter()
        .filter_map(|(name, range)| summarize(file, name, range, &facts))
        .collect();
    if module.entries.is_empty()
        && module.uses.is_empty()
        && summaries.is_empty()
        && next_middleware.is_none()
        && module.global_guards.is_empty()
    {
        return None;
    }
    let entry_spots = module
        .entries
        .iter()
        .map(|e| {
            Spot::new(
                file,
                e.site.start..e.site.start.max(line_end(text, e.site.start)),
            )
        })
        .collect();
    Some(FileFacts {
        path: file.display.clone(),
        module,
        entry_spots,
        summaries,
        next_middleware,
    })
}

/// Whether a path is a test file or lies in a test folder.
fn is_test_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.contains(".test.")
        || file.contains(".spec.")
        || path
            .split('/')
            .any(|d| matches!(d, "test" | "tests" | "__tests__" | "spec"))
}

/// Files larger than this (bundles, generated code) hold no hand-written handlers.
const MAX_FILE_BYTES: usize = 512 * 1024;
/// Calls kept per function: enough to follow helpers, bounded for generated code.
const MAX_CALLS: usize = 64;

fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i)
}

/// What `summarize` needs about the whole file, each found once (offsets sorted).
struct FileWide<'a> {
    operations: &'a [Operation],
    checks: &'a [usize],
    calls: &'a [(usize, &'a str)],
    admin: bool,
    /// Service-role Supabase queries of request handlers (their chains), with what request
    /// input does to each.
    handler_queries: &'a [(Range<usize>, QueryInput)],
}

/// The items of a sorted slice whose offset falls in `range`.
fn within<T>(
    items: &[T],
    range: &Range<usize>,
    at: impl Fn(&T) -> usize,
) -> std::ops::Range<usize> {
    let start = items.partition_point(|x| at(x) < range.start);
    let end = items.partition_point(|x| at(x) < range.end);
    start..end.max(start)
}

fn summarize(
    file: &SourceFile,
    name: Option<String>,
    range: Range<usize>,
    wide: &FileWide<'_>,
) -> Option<Summary> {
    let text = file.text.as_str();
    let body = text.get(range.clone())?;
    let ops: Vec<(OpKind, Spot, String, Option<QueryInput>)> = wide.operations
        [within(wide.operations, &range, |o| o.range.start)]
    .iter()
    .map(|o| {
        (
            o.kind,
            Spot::new(file, o.range.clone()),
            text[o.range.clone()]
                .trim_end_matches('(')
                .trim()
                .to_string(),
            wide.handler_queries
                .iter()
                .find(|(r, _)| r.contains(&o.range.start))
                .map(|(_, input)| *input),
        )
    })
    .collect();
    let has_check = !within(wide.checks, &range, |c| *c).is_empty();
    let mut calls: Vec<String> = wide.calls[within(wide.calls, &range, |c| c.0)]
        .iter()
        .map(|(_, n)| (*n).to_string())
        .filter(|n| Some(n) != name.as_ref())
        .collect();
    calls.sort();
    calls.dedup();
    calls.truncate(MAX_CALLS);
    let is_inline = name.is_none();
    let role_check = roles::has_role_check(body);
    let ids = idor::request_ids(body);
    let at = |r: Range<usize>| Spot::new(file, range.start + r.start..range.start + r.end);
    let statement = |offset: usize| statement_at(text, range.start + offset);
    let reads_by_request_id: Vec<(Spot, String, String)> =
        idor::reads_by_request_id(body, &ids, statement)
            .into_iter()
            .map(|(r, model, call)| (at(r), model, call))
            .collect();
    let owner_models = idor::owner_scoped_models(body, statement);
    if ops.is_empty()
        && !has_check
        && calls.is_empty()
        && !is_inline
        && !role_check
        && reads_by_request_id.is_empty()
        && owner_models.is_empty()
    {
        return None;
    }
    let writes = ops
        .iter()
        .any(|(k, ..)| matches!(k, OpKind::Write | OpKind::UserManagement));
    let deletes = ops
        .iter()
        .any(|(k, ..)| matches!(k, OpKind::Delete | OpKind::UserManagement));
    let account_op =
        roles::account_chosen_by_request(body, &ids, writes, deletes).map(|(r, op)| (op, at(r)));
    let identity = roles::identity_from_request(body, &ids);
    let identity_from_header = identity
        .as_ref()
        .is_some_and(|(_, name)| name.contains("eaders"));
    let queries_by_identity = identity
        .as_ref()
        .is_some_and(|(_, name)| roles::queries_by(body, name));
    let ops_by_request_id = ops
        .iter()
        .enumerate()
        .filter(|(_, (kind, spot, ..))| {
            matches!(kind, OpKind::Write | OpKind::Delete)
                && !idor::creates_record(&text[spot.range.clone()])
                && (idor::statement_uses_request_id(&statement_at(text, spot.range.start), &ids)
                    || idor::receiver_loaded_by_request_id(
                        body,
                        spot.range.start - range.start,
                        &ids,
                    ))
        })
        .map(|(i, _)| i)
        .collect();
    let parameters = idor::id_parameters(body);
    let writes_by_parameter =
        ops.iter()
            .enumerate()
            .filter(|(_, (kind, spot, ..))| {
                matches!(kind, OpKind::Write | OpKind::Delete)
                    && !idor::creates_record(&text[spot.range.clone()])
            })
            .filter_map(|(i, (_, spot, ..))| {
                let statement = statement_at(text, spot.range.start);
                parameters.iter().enumerate().find_map(|(p, name)| {
                    idor::mentions(&statement, name.as_ref()?).then_some((p, i))
                })
            })
            .collect();
    let mut request_id_arguments: Vec<(String, usize)> = wide.calls
        [within(wide.calls, &range, |c| c.0)]
    .iter()
    .filter(|(_, n)| Some(*n) != name.as_deref())
    .filter_map(|(at, n)| {
        let call = text.get(at + n.len()..)?.trim_start();
        let args = call
            .starts_with('(')
            .then_some(call)
            .and_then(idor::call_arguments)?;
        Some(
            args.into_iter()
                .enumerate()
                .filter(|(_, a)| idor::statement_uses_request_id(a, &ids))
                .map(|(k, _)| ((*n).to_string(), k))
                .collect::<Vec<_>>(),
        )
    })
    .flatten()
    .collect();
    request_id_arguments.sort();
    request_id_arguments.dedup();
    Some(Summary {
        ops_by_request_id,
        writes_by_parameter,
        request_id_arguments,
        reads_by_request_id,
        owner_models,
        refers_to_caller: idor::refers_to_caller(body),
        machine_auth: idor::authenticates_machine(body),
        role_check,
        compares_caller: roles::compares_caller(body),
        account_op,
        identity_from_request: identity.map(|(r, name)| (at(r), name)),
        identity_from_header,
        queries_by_identity,
        uses_verified_identity: roles::uses_verified_identity(body),
        verifies_token: roles::verifies_token(body),
        header_presence: roles::header_presence_test(body).map(at),
        fail_open_secret: roles::fail_open_secret(body).map(at),
        optional_auth: roles::optional_auth(body).map(at),
        forgeable_webhook: roles::forgeable_webhook_check(body).map(at),
        optional_sign_in: roles::optional_sign_in(body)
            .filter(|_| {
                // the sign-in is the only check: the call itself and the header handed to the
                // client that makes it
                wide.checks[within(wide.checks, &range, |c| *c)]
                    .iter()
                    .all(|c| {
                        let t = &text[*c..];
                        t.starts_with("getUser(")
                            || t.starts_with("getSession(")
                            || t.starts_with("headers")
                    })
            })
            .map(at),
        name,
        admin: wide.admin,
        range,
        ops,
        has_check,
        calls,
    })
}

/// The statement around `at`: from the previous `;`, `{` or `}` (at most 300 bytes back) to the
/// next `;` (at most 300 bytes on).
fn statement_at(text: &str, at: usize) -> String {
    let from = crate::source::floor_char(text, at.saturating_sub(300));
    let to = crate::source::floor_char(text, (at + 300).min(text.len()));
    let before = text[from..at].rsplit([';', '{', '}']).next().unwrap_or("");
    let after = text[at..to].split(';').next().unwrap_or("");
    format!("{before}{after}")
}

/// Reads a Next.js `middleware.ts` (or `.js`): whether it authenticates and which paths it lists.
fn next_middleware(path: &str, text: &str) -> Option<NextMiddleware> {
    static PROTECTS: OnceLock<Regex> = OnceLock::new();
    static LITERAL: OnceLock<Regex> = OnceLock::new();
    static BINDING: OnceLock<Regex> = OnceLock::new();
    let file = path.rsplit('/').next().unwrap_or(path);
    if !matches!(
        file,
        "middleware.ts" | "middleware.js" | "proxy.ts" | "proxy.js"
    ) || !text.contains("next")
    {
        return None;
    }
    let protects = PROTECTS.get_or_init(|| {
        Regex::new(r"protect\(|redirectToSignIn|authMiddleware\(|withAuth|getToken\(|getUser\(|getSession\(|jwtVerify\(|jwt\.verify|verifyIdToken|updateSession\(|next-auth|\bauth\(|/(?:login|sign-?in)\b")
            .expect("valid regex")
    });
    let literal =
        LITERAL.get_or_init(|| Regex::new(r#"["'`](/[^"'`\s]*)["'`]"#).expect("valid regex"));
    let binding = BINDING.get_or_init(|| {
        Regex::new(r"([A-Za-z_$][\w$]*)\s*(?::|=)\s*(?:createRouteMatcher\(\s*)?\[[^\]]*$")
            .expect("valid regex")
    });
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut m = NextMiddleware {
        dir: dir.strip_suffix("/src").unwrap_or(dir).to_string(),
        protects: protects.is_match(text),
        sets_identity_headers: text.contains(".set(\"x-user")
            || text.contains(".set('x-user")
            || text.contains(".set(`x-user"),
        ..NextMiddleware::default()
    };
    for c in literal.captures_iter(text) {
        let (Some(whole), Some(value)) = (c.get(0), c.get(1)) else {
            continue;
        };
        // the list this literal sits in: the nearest `name = [` / `name: [` before it
        let before = &text[whole.start().saturating_sub(2000)..whole.start()];
        let Some(name) = binding
            .captures(before)
            .and_then(|b| b.get(1))
            .map(|b| b.as_str().to_ascii_lowercase())
        else {
            continue;
        };
        let value = value.as_str().to_string();
        if name == "matcher" {
            m.matcher.push(value);
        } else if [
            "public",
            "ignore",
            "unprotect",
            "open",
            "allow",
            "skip",
            "exclude",
            "bypass",
        ]
        .iter()
        .any(|w| name.contains(w))
        {
            m.public.push(value);
        } else if ["protect", "private", "auth", "secure", "admin"]
            .iter()
            .any(|w| name.contains(w))
        {
            m.protected.push(value);
        }
    }
    Some(m)
}

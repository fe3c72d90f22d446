//! The project pass: joins the files' facts into entry point → handler → helpers, decides whether
//! middleware or a check guards each entry point, and reports unguarded privileged operations.

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use crate::discover::Candidate;
use crate::engine::ProjectContext;
use crate::entry::{EntryPoint, Framework, Handler, Use, resolve_import};
use crate::finding::{Finding, Related};
use crate::parse::{self, Grammar};
use crate::platform::supabase::edge::QueryInput;
use crate::rules::Severity;
use crate::source::{self, Loaded};

use super::ops::{self, OpKind};
use super::{FileFacts, Spot, Summary};

/// How deep helper calls are followed from a handler.
const MAX_DEPTH: usize = 4;
/// How many `use` mounts are followed upwards.
const MAX_MOUNTS: usize = 4;

/// Reads the modules that entry-point files import (controllers, helpers, auth middleware), on
/// demand: a module is read and parsed only when a decision of the rules needs it (a handler
/// imported from it, a helper called from a handler whose caller check is still undecided,
/// middleware whose name says it authenticates), following imports [`MAX_DEPTH`] deep. The
/// per-file pass parsed only entry-point modules, so most helper files are never parsed.
///
/// `eager` reads every imported module instead, whether needed or not: the simple path, kept as
/// the oracle that the reference engine (`combined_queries: false`) runs, so the fixture tests
/// prove both give the same findings.
pub fn load_imported(facts: &mut Vec<FileFacts>, ctx: &ProjectContext<'_>, eager: bool) {
    let by_name = candidates_by_file_name(ctx.candidates);
    let mut known: BTreeSet<String> = facts.iter().map(|f| f.path.clone()).collect();
    // import depth of each file's facts: 0 for the files the per-file pass kept
    let mut depth: Vec<usize> = vec![0; facts.len()];
    let mut frontier: Vec<usize> = (0..facts.len()).collect();
    // eager: one round per import level; lazy: rounds until no decision needs another module
    for _ in 0..MAX_DEPTH * 2 {
        let requests: Vec<(usize, String)> = if eager {
            frontier
                .iter()
                .flat_map(|&i| {
                    facts[i]
                        .module
                        .imports
                        .iter()
                        .map(move |import| (i, import.source.clone()))
                })
                .collect()
        } else {
            needed_imports(facts)
        };
        let mut wanted: Vec<(&Candidate, usize)> = Vec::new();
        for (from, source) in requests {
            if depth[from] >= MAX_DEPTH {
                continue;
            }
            if let Some(c) = find_candidate(ctx.candidates, &by_name, &facts[from].path, &source)
                && known.insert(c.display.clone())
            {
                wanted.push((c, depth[from] + 1));
            }
        }
        if wanted.is_empty() {
            break;
        }
        let start = facts.len();
        // read and parsed on the worker pool; `collect` keeps the order, so output is stable
        let loaded: Vec<(FileFacts, usize)> = wanted
            .par_iter()
            // file_facts ignores files past its size limit: never read or parse them
            .filter(|(candidate, _)| candidate.size <= super::MAX_FILE_BYTES as u64)
            .filter_map(|(candidate, d)| {
                let Loaded::File(file, _) = source::load(candidate) else {
                    return None;
                };
                let tree = parse::parse(Grammar::for_kind(file.kind)?, &file.text)?;
                // on a worker thread: a stack budget of its own (the file's scan noted a cut)
                crate::engine::stack::budget(|| super::file_facts(&file, tree.root_node()))
                    .0
                    .map(|f| (f, *d))
            })
            .collect();
        for (f, d) in loaded {
            facts.push(f);
            depth.push(d);
        }
        frontier = (start..facts.len()).collect();
    }
}

/// The imports (importing file, specifier) that a rule's decision still needs: handlers named
/// from another module, helpers called (transitively) from a handler whose caller check is
/// undecided or whose IDOR verdict depends on them, and modules of middleware named like
/// authentication (to tell middleware from routers). Only names not yet resolvable are listed.
fn needed_imports(facts: &[FileFacts]) -> Vec<(usize, String)> {
    let project = Project::new(facts);
    let has_global = project.has_global_auth();
    let mut out: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut want = |file: usize, name: &str| {
        let local = name.split('.').next().unwrap_or(name);
        if let Some(import) = facts[file].module.import(local)
            && project.resolve_file(file, &import.source).is_none()
        {
            out.insert((file, import.source.clone()));
        }
    };
    for (file, f) in facts.iter().enumerate() {
        for u in &f.module.uses {
            for a in &u.args {
                if ops::is_auth_middleware(a) && !has_router_name(a) {
                    want(file, a);
                }
            }
        }
        for entry in &f.module.entries {
            let Some(handler) = project.handler(file, entry) else {
                if let Handler::Named(name) = &entry.handler {
                    want(file, name);
                }
                continue;
            };
            let h = project.summary(handler);
            // public routes are judged only by the rule on checks that let anyone through
            if ops::is_public_name(&entry.route)
                && h.header_presence.is_none()
                && h.fail_open_secret.is_none()
                && h.optional_auth.is_none()
                && h.optional_sign_in.is_none()
                && h.forgeable_webhook.is_none()
            {
                continue;
            }
            let reached = project.reachable(handler);
            let checked = reached.iter().any(|r| project.summary(*r).has_check);
            let guarded = checked || guard(&project, file, entry, has_global).is_some();
            // a request id handed to a helper may pick the record of the helper's write: the
            // helper's module is read so that the IDOR rule can follow it
            let idor_open = (!h.ops_by_request_id.is_empty() || !h.request_id_arguments.is_empty())
                && (!guarded
                    || !reached.iter().any(|r| {
                        let s = project.summary(*r);
                        s.refers_to_caller || s.machine_auth
                    }));
            // the role, identity and header rules judge authenticated handlers by their helpers
            let others_open = h.account_op.is_some()
                || h.identity_from_request.is_some()
                || h.header_presence.is_some()
                || h.fail_open_secret.is_some()
                || h.optional_auth.is_some()
                || h.optional_sign_in.is_some()
                || h.forgeable_webhook.is_some()
                || reached.iter().any(|r| {
                    project
                        .summary(*r)
                        .ops
                        .iter()
                        .any(|(k, ..)| *k == OpKind::UserListing)
                });
            if guarded && !idor_open && !others_open {
                continue;
            }
            for r in &reached {
                for call in &project.summary(*r).calls {
                    if project.resolve_fn(r.0, call).is_none() {
                        want(r.0, call);
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Whether a name says it is a router module (`usersRouter`, `adminRoutes`).
fn has_router_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("router") || lower.ends_with("routes") || lower.ends_with("route")
}

/// Candidates by their file name, for `@/`-aliased imports matched by suffix.
fn candidates_by_file_name(candidates: &[Candidate]) -> BTreeMap<&str, Vec<&Candidate>> {
    let mut map: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        if Grammar::for_kind(c.kind).is_some() {
            let name = c.display.rsplit('/').next().unwrap_or(&c.display);
            map.entry(name).or_default().push(c);
        }
    }
    map
}

/// The discovered file an import names.
fn find_candidate<'c>(
    candidates: &'c [Candidate],
    by_name: &BTreeMap<&str, Vec<&'c Candidate>>,
    from: &str,
    source: &str,
) -> Option<&'c Candidate> {
    for path in resolve_import(from, source) {
        if let Some(rest) = path.strip_prefix("*/") {
            let name = rest.rsplit('/').next().unwrap_or(rest);
            let suffix = format!("/{rest}");
            if let Some(c) = by_name
                .get(name)
                .and_then(|cs| cs.iter().find(|c| c.display.ends_with(&suffix)))
            {
                return Some(c);
            }
        } else if let Ok(i) = candidates.binary_search_by(|c| c.display.as_str().cmp(path.as_str()))
        {
            return Some(&candidates[i]);
        }
    }
    None
}

/// Every file's facts, indexed by path.
struct Project<'f> {
    files: &'f [FileFacts],
    by_path: BTreeMap<&'f str, usize>,
}

/// A summary found by resolution: (file, summary).
type FnRef = (usize, usize);

impl<'f> Project<'f> {
    fn new(files: &'f [FileFacts]) -> Self {
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i))
            .collect();
        Project { files, by_path }
    }

    /// The file an import specifier names, if its facts were kept.
    fn resolve_file(&self, from: usize, source: &str) -> Option<usize> {
        for candidate in resolve_import(&self.files[from].path, source) {
            if let Some(rest) = candidate.strip_prefix("*/") {
                let hit = self
                    .by_path
                    .iter()
                    .find(|(p, _)| p.ends_with(&format!("/{rest}")) || **p == rest);
                if let Some((_, i)) = hit {
                    return Some(*i);
                }
            } else if let Some(i) = self.by_path.get(candidate.as_str()) {
                return Some(*i);
            }
        }
        None
    }

    /// The file a local name is imported from.
    fn import_target(&self, file: usize, local: &str) -> Option<(usize, Option<&'f str>)> {
        let import = self.files[file].module.import(local)?;
        let target = self.resolve_file(file, &import.source)?;
        Some((target, import.imported.as_deref()))
    }

    fn summary_named(&self, file: usize, name: &str) -> Option<FnRef> {
        self.files[file]
            .summaries
            .iter()
            .position(|s| s.name.as_deref() == Some(name))
            .map(|i| (file, i))
    }

    /// The function a name refers to from `file`: local, imported (named or default), or
    /// `module.fn` through a namespace import.
    fn resolve_fn(&self, file: usize, name: &str) -> Option<FnRef> {
        if let Some((ns, member)) = name.split_once('.') {
            let (target, _) = self.import_target(file, ns)?;
            return self.summary_named(target, member);
        }
        if let Some(found) = self.summary_named(file, name) {
            return Some(found);
        }
        let (target, imported) = self.import_target(file, name)?;
        let target_name = match imported {
            Some(n) => n.to_string(),
            None => self.files[target]
                .module
                .default_export
                .clone()
                .unwrap_or_else(|| name.to_string()),
        };
        self.summary_named(target, &target_name)
            .or_else(|| self.summary_named(target, name))
    }

    fn handler(&self, file: usize, entry: &EntryPoint) -> Option<FnRef> {
        match &entry.handler {
            Handler::Inline(range) => self.files[file]
                .summaries
                .iter()
                .position(|s| s.name.is_none() && s.range == *range)
                .map(|i| (file, i)),
            Handler::Named(name) => self.resolve_fn(file, name),
        }
    }

    fn summary(&self, r: FnRef) -> &'f Summary {
        &self.files[r.0].summaries[r.1]
    }

    /// The handler and the helpers it reaches, breadth first.
    fn reachable(&self, start: FnRef) -> Vec<FnRef> {
        let mut seen = vec![start];
        let mut frontier = vec![start];
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for r in frontier {
                for call in &self.summary(r).calls {
                    if let Some(callee) = self.resolve_fn(r.0, call)
                        && !seen.contains(&callee)
                    {
                        seen.push(callee);
                        next.push(callee);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        seen
    }

    /// Whether a `use` argument names a router module (a file with routes) rather than middleware.
    fn is_router(&self, file: usize, name: &str) -> bool {
        if has_router_name(name) {
            return true;
        }
        self.import_target(file, name)
            .is_some_and(|(t, _)| !self.files[t].module.entries.is_empty())
    }

    fn use_authenticates(&self, file: usize, u: &Use, upto: Option<&str>) -> bool {
        u.args
            .iter()
            .take_while(|a| Some(a.as_str()) != upto)
            .any(|a| ops::is_auth_middleware(a) && !self.is_router(file, a))
    }

    /// Whether app- or router-level middleware registered before `offset` on `target` (or any
    /// target when unknown) authenticates requests to `route`.
    fn chain_authenticates(
        &self,
        file: usize,
        target: Option<&str>,
        offset: usize,
        route: &str,
    ) -> bool {
        self.files[file].module.uses.iter().any(|u| {
            u.offset < offset
                && target.is_none_or(|t| t == u.target)
                && u.path.as_deref().is_none_or(|p| route.starts_with(p))
                && self.use_authenticates(file, u, None)
        })
    }

    /// Where the routes of `file` are mounted: (mounting file, its `use`, the router's local name).
    fn mounts_of(&self, file: usize) -> Vec<(usize, &'f Use, &'f str)> {
        let mut out = Vec::new();
        for (g, facts) in self.files.iter().enumerate() {
            for u in &facts.module.uses {
                for a in &u.args {
                    if self.import_target(g, a).is_some_and(|(t, _)| t == file) {
                        out.push((g, u, a.as_str()));
                    }
                }
            }
        }
        out
    }

    /// Whether the routers of `file` are mounted behind authenticating middleware, following
    /// mounts upwards. `None` when the file is never mounted where we can see.
    fn mounted_behind_auth(&self, file: usize, depth: usize) -> Option<bool> {
        let mounts = self.mounts_of(file);
        if mounts.is_empty() {
            return None;
        }
        Some(mounts.iter().all(|(g, u, local)| {
            self.use_authenticates(*g, u, Some(local))
                || self.chain_authenticates(
                    *g,
                    Some(&u.target),
                    u.offset,
                    u.path.as_deref().unwrap_or("/"),
                )
                || (depth < MAX_MOUNTS && self.mounted_behind_auth(*g, depth + 1) == Some(true))
        }))
    }

    /// The path the routers of `file` are mounted under (`/api/admin`), following mounts upwards.
    fn mount_prefix(&self, file: usize, depth: usize) -> String {
        let Some((g, u, _)) = self.mounts_of(file).into_iter().next() else {
            return String::new();
        };
        let outer = if depth < MAX_MOUNTS {
            self.mount_prefix(g, depth + 1)
        } else {
            String::new()
        };
        format!(
            "{outer}{}",
            u.path.as_deref().unwrap_or("").trim_end_matches('/')
        )
    }

    /// Whether any file authenticates every request globally (`app.use(requireAuth)`).
    fn has_global_auth(&self) -> bool {
        self.files.iter().enumerate().any(|(i, f)| {
            f.module
                .uses
                .iter()
                .any(|u| u.path.is_none() && self.use_authenticates(i, u, None))
        })
    }

    /// Whether a `NestJS` module guards every route (`APP_GUARD`, `useGlobalGuards`).
    fn has_global_guard(&self) -> bool {
        self.files.iter().any(|f| {
            f.module
                .global_guards
                .iter()
                .any(|g| ops::is_auth_middleware(g))
        })
    }

    /// The Next.js middleware governing `path`, if any.
    fn next_middleware(&self, path: &str) -> Option<&'f super::NextMiddleware> {
        self.files
            .iter()
            .filter_map(|f| f.next_middleware.as_ref())
            .filter(|m| m.dir.is_empty() || path.starts_with(&format!("{}/", m.dir)))
            .max_by_key(|m| m.dir.len())
    }
}

/// Whether a middleware path pattern (`/api/x`, `/api/x/(.*)`, `/api/:path*`) covers `route`.
fn pattern_covers(pattern: &str, route: &str) -> bool {
    if pattern.contains("(?!") {
        return true;
    }
    let mut p = pattern;
    let mut prefix = false;
    for tail in ["(.*)", ":path*", ".*", "*", "(.+)"] {
        if let Some(rest) = p.strip_suffix(tail) {
            p = rest;
            prefix = true;
        }
    }
    let p = p.trim_end_matches('/');
    if p.is_empty() {
        return prefix || route == "/";
    }
    route == p || route.starts_with(&format!("{p}/")) || (prefix && route.starts_with(p))
}

/// Why an entry point is guarded, or `None`.
fn guard(
    project: &Project<'_>,
    file: usize,
    entry: &EntryPoint,
    has_global: bool,
) -> Option<&'static str> {
    let is_public = entry.middleware.iter().any(|m| m == "Public");
    if !is_public && entry.middleware.iter().any(|m| ops::is_auth_middleware(m)) {
        return Some("route middleware");
    }
    match entry.framework {
        Framework::Nest => (!is_public && project.has_global_guard()).then_some("global guard"),
        Framework::Express => {
            if project.chain_authenticates(
                file,
                entry.router.as_deref(),
                entry.site.start,
                &entry.route,
            ) {
                return Some("router middleware");
            }
            let is_app = entry
                .router
                .as_deref()
                .is_some_and(|r| r == "app" || r == "server");
            match project.mounted_behind_auth(file, 0) {
                Some(true) => Some("mount middleware"),
                None if !is_app && has_global => Some("global middleware (mount not resolved)"),
                _ => None,
            }
        }
        Framework::NextRoute | Framework::NextPagesApi => {
            let m = project.next_middleware(&project.files[file].path)?;
            let covered = (m.matcher.is_empty()
                || m.matcher.iter().any(|p| pattern_covers(p, &entry.route)))
                && (m.protected.is_empty()
                    || m.protected.iter().any(|p| pattern_covers(p, &entry.route)));
            let public = m.public.iter().any(|p| pattern_covers(p, &entry.route));
            (m.protects && covered && !public).then_some("middleware.ts")
        }
        _ => None,
    }
}

fn entry_label(entry: &EntryPoint, prefix: &str) -> String {
    match entry.framework {
        Framework::Express => {
            let route = format!("{prefix}{}", entry.route);
            let route = if route.len() > 1 {
                route.trim_end_matches('/')
            } else {
                &route
            };
            format!("`{} {}`", entry.method, route)
        }
        Framework::NextRoute | Framework::NextPagesApi | Framework::FileRoute => {
            format!("`{} {}`", entry.method, entry.route)
        }
        Framework::Firebase => format!("Cloud Function `{}` ({})", entry.route, entry.method),
        Framework::SupabaseEdge => format!("edge function `{}`", entry.route),
        Framework::Convex => format!("Convex {} `{}`", entry.method, entry.route),
        Framework::Trpc => format!("tRPC {} `{}`", entry.method.to_lowercase(), entry.route),
        Framework::ServerAction => format!("server action `{}`", entry.route),
        Framework::Serverless => format!("serverless function `{}`", entry.route),
        Framework::Parse => format!("Cloud function `{}`", entry.route),
        Framework::Nest => format!("`{} {}`", entry.method, entry.route),
    }
}

/// Reports privileged operations reachable from entry points that nothing guards.
pub fn missing_caller_checks(
    files: &[FileFacts],
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    out: &mut Vec<Finding>,
) {
    let project = Project::new(files);
    let has_global = project.has_global_auth();
    let rule = &ctx.rules.rules()[rule_idx];
    // findings at a helper's operation in another module, keyed by the operation (file,
    // start), with the entry point they move to when several entry points reach it
    let mut at_helper: Vec<((usize, usize), Finding, &str, Spot)> = Vec::new();
    for (file, facts) in files.iter().enumerate() {
        for (entry, site) in facts.module.entries.iter().zip(&facts.entry_spots) {
            let handler_name = match &entry.handler {
                Handler::Named(n) => n.as_str(),
                Handler::Inline(_) => "",
            };
            let prefix = if entry.framework == Framework::Express {
                project.mount_prefix(file, 0)
            } else {
                String::new()
            };
            let label = entry_label(entry, &prefix);
            if ops::is_public_name(&entry.route)
                || ops::is_public_name(handler_name)
                || ops::is_public_name(&prefix)
            {
                continue;
            }
            let Some(handler) = project.handler(file, entry) else {
                continue;
            };
            let reached = project.reachable(handler);
            if reached.iter().any(|r| project.summary(*r).has_check) {
                continue;
            }
            if guard(&project, file, entry, has_global).is_some() {
                continue;
            }
            // the most severe operation, first in the source on ties
            let mut best: Option<(FnRef, usize)> = None;
            for r in &reached {
                let s = project.summary(*r);
                for (i, (kind, ..)) in s.ops.iter().enumerate() {
                    // most severe first, then the kind listed first (user management before
                    // writes), then the first in the source of the same file
                    let better = best.is_none_or(|(b, j)| {
                        let bs = project.summary(b);
                        let (bk, bsev) = (bs.ops[j].0, effective_severity(&bs.ops[j], bs.admin));
                        let sev = effective_severity(&s.ops[i], s.admin);
                        // on a tie, a read of every row tells more than a write of server-side
                        // data the caller cannot shape (a backup that dumps tables, then logs it)
                        let dump = |op: &(OpKind, Spot, String, Option<QueryInput>)| {
                            matches!(op.0, OpKind::TableDump | OpKind::UserListing)
                        };
                        let server_write = |op: &(OpKind, Spot, String, Option<QueryInput>)| {
                            !dump(op) && op.3 == Some(QueryInput::None)
                        };
                        sev > bsev
                            || (sev == bsev && dump(&s.ops[i]) && server_write(&bs.ops[j]))
                            || (sev == bsev
                                && !(dump(&bs.ops[j]) && server_write(&s.ops[i]))
                                && *kind < bk)
                            || (sev == bsev
                                && *kind == bk
                                && b.0 == r.0
                                && s.ops[i].1.range.start < bs.ops[j].1.range.start)
                    });
                    if better {
                        best = Some((*r, i));
                    }
                }
            }
            let Some((op_ref, op_idx)) = best else {
                continue;
            };
            let op_summary = project.summary(op_ref);
            let (kind, op_spot, op_text, supabase_chain) = &op_summary.ops[op_idx];
            // a Supabase service-role query fed by the request is the platform rule's to judge
            // `verify_jwt = false`: not even the platform asks for a token
            let jwt_off = entry.framework == Framework::SupabaseEdge && skips_jwt(ctx, &facts.path);
            if *supabase_chain == Some(QueryInput::PicksRows) && !jwt_off {
                continue;
            }
            let op_path = &files[op_ref.0].path;
            let admin = op_summary.admin
                && matches!(
                    kind,
                    OpKind::Delete | OpKind::Write | OpKind::UserListing | OpKind::TableDump
                );
            let via = if op_ref == handler {
                String::new()
            } else {
                format!(
                    " through `{}` ({}:{})",
                    op_summary.name.as_deref().unwrap_or("a helper"),
                    op_path,
                    op_summary_line(project.files, op_ref)
                )
            };
            let middleware_note = match entry.framework {
                Framework::Express => {
                    "no middleware on its route or router verifies the caller and "
                }
                Framework::NextRoute | Framework::NextPagesApi => {
                    if project.next_middleware(&facts.path).is_some() {
                        "`middleware.ts` leaves the route public or unguarded and "
                    } else {
                        "no `middleware.ts` guards the route and "
                    }
                }
                _ => "",
            };
            let middleware_note = if jwt_off {
                "it is deployed with `verify_jwt = false` in `supabase/config.toml` and "
            } else {
                middleware_note
            };
            let message = format!(
                "{} ({}:{}) {} (`{}`){}{}; {}no check in the handler verifies the caller",
                label,
                facts.path,
                site.start.line,
                kind.describe(),
                op_text,
                if admin {
                    " with an admin client that bypasses access rules"
                } else {
                    ""
                },
                via,
                middleware_note,
            );
            // point at the route registration when the handler lives elsewhere (where the fix
            // goes); a helper's operation in another module stays at the operation unless several
            // entry points reach it (then one finding per entry point, below)
            let at_site =
                entry.framework == Framework::Express && matches!(entry.handler, Handler::Named(_));
            let (path, spot) = if at_site {
                (&facts.path, site)
            } else {
                (op_path, op_spot)
            };
            let related = vec![
                related_at(&facts.path, site, format!("entry point: {label}")),
                related_at(op_path, op_spot, format!("{} here", kind.describe())),
            ];
            let mut properties = BTreeMap::new();
            properties.insert(
                "entry-point".to_string(),
                format!("{}:{}", facts.path, site.start.line),
            );
            properties.insert("operation".to_string(), format!("{kind:?}"));
            let severity = effective_severity(&op_summary.ops[op_idx], op_summary.admin);
            let finding = Finding {
                severity,
                message,
                related,
                is_flow: true,
                properties,
                ..Finding::of_rule(rule, path, (spot.start, spot.end), spot.range.clone())
            };
            if !at_site && op_ref.0 != file {
                at_helper.push((
                    (op_ref.0, op_spot.range.start),
                    finding,
                    &facts.path,
                    site.clone(),
                ));
            } else {
                out.push(finding);
            }
        }
    }
    // a helper shared by several public entry points is one fix per entry point: each is
    // reported where it is registered (the operation stays a related location)
    let mut reach: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (key, ..) in &at_helper {
        *reach.entry(*key).or_default() += 1;
    }
    for (key, mut finding, site_path, site) in at_helper {
        if reach[&key] > 1 {
            site_path.clone_into(&mut finding.path);
            (finding.start, finding.end, finding.byte_range) = (site.start, site.end, site.range);
        }
        out.push(finding);
    }
    dedup(out);
}

/// The severity of an unguarded operation: its kind's, at most medium when no request input
/// reaches the query: server-side data (a sync job, a cache refresh), which whoever calls can
/// run but not shape.
fn effective_severity(op: &(OpKind, Spot, String, Option<QueryInput>), admin: bool) -> Severity {
    let (kind, .., chain) = op;
    if *chain == Some(QueryInput::None) {
        kind.severity(admin).min(Severity::Medium)
    } else {
        kind.severity(admin)
    }
}

/// Whether the edge function at display path `path` is deployed with `verify_jwt = false`.
fn skips_jwt(ctx: &ProjectContext<'_>, path: &str) -> bool {
    let Ok(i) = ctx
        .candidates
        .binary_search_by(|c| c.display.as_str().cmp(path))
    else {
        return false;
    };
    crate::platform::supabase::config::SupabaseConfig::for_function(&ctx.candidates[i].path)
        .is_some_and(|(config, name)| config.skips_jwt(&name))
}

/// One finding per span: several routes sharing an inline-resolved operation report once.
fn dedup(out: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    out.retain(|f| seen.insert((f.rule_id.clone(), f.path.clone(), f.start, f.end)));
}

fn op_summary_line(files: &[FileFacts], r: FnRef) -> usize {
    files[r.0].summaries[r.1]
        .ops
        .first()
        .map_or(0, |(_, s, ..)| s.start.line)
}

fn related_at(path: &str, spot: &Spot, message: String) -> Related {
    Related {
        path: path.to_string(),
        start: spot.start,
        end: spot.end,
        message,
    }
}

/// Whether an entry point acts for a signed-in caller on records it never relates to them: it
/// authenticates, is no admin route, checks no role, and no function it reaches refers to the
/// caller or authenticates a machine. The two IDOR rules report such handlers.
fn acts_on_unrelated_records(project: &Project<'_>, v: &EntryView<'_>) -> bool {
    let authenticated = v.guarded || v.reached.iter().any(|r| project.summary(*r).has_check);
    authenticated
        && !v.label.to_ascii_lowercase().contains("admin")
        && !v.reached.iter().any(|r| {
            let s = project.summary(*r);
            s.refers_to_caller || s.machine_auth || s.role_check
        })
        && !project.role_middleware(v.file, v.entry)
}

/// Reports writes and deletes whose record an id from the request picks, in handlers that
/// authenticate the caller but never relate the record to them (IDOR). Admin routes, whose job
/// is acting on other users' records, are left to a role check.
pub fn records_chosen_by_request_id(
    files: &[FileFacts],
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    out: &mut Vec<Finding>,
) {
    let project = Project::new(files);
    for v in entry_views(&project, false) {
        let summary = project.summary(v.handler);
        // the write is the handler's own, or a helper's that the handler passes a request id
        let Some((owner, op_idx)) = summary
            .ops_by_request_id
            .first()
            .map(|&i| (v.handler, i))
            .or_else(|| {
                summary.request_id_arguments.iter().find_map(|(callee, k)| {
                    let target = project.resolve_fn(v.handler.0, callee)?;
                    let &(_, i) = project
                        .summary(target)
                        .writes_by_parameter
                        .iter()
                        .find(|(p, _)| p == k)?;
                    Some((target, i))
                })
            })
        else {
            continue;
        };
        // user accounts are the role rule's, identities from the request the identity rule's
        if summary.account_op.is_some()
            || summary.identity_from_request.is_some()
            || !acts_on_unrelated_records(&project, &v)
        {
            continue;
        }
        let op_summary = project.summary(owner);
        let (kind, spot, op_text, supabase_chain) = &op_summary.ops[op_idx];
        // Supabase service-role queries fed by the request are the platform rule's
        if *supabase_chain == Some(QueryInput::PicksRows) {
            continue;
        }
        let path = &files[owner.0].path;
        let entry_path = &files[v.file].path;
        let message = format!(
            "{} ({entry_path}:{}) authenticates the caller, then {} (`{op_text}`) on a record chosen by an id from the request; nothing relates that record to the caller (no owner filter, no comparison with the caller's id)",
            v.label,
            v.site.start.line,
            kind.describe(),
        );
        out.push(entry_finding(
            ctx,
            rule_idx,
            (entry_path, &v),
            message,
            (path, spot),
            Some(format!("{} here", kind.describe())),
        ));
    }
    dedup(out);
}

/// Reports lookups of one record by an id from the request in handlers that authenticate the
/// caller but never relate the record to them, where the record is one the project scopes to
/// its owner elsewhere (a listing filtered by the caller, a record created with the caller as
/// owner): reading it by id alone shows any signed-in user another user's record. Admin and
/// public routes, role checks and handlers that change the record (the write rule's) are left
/// out.
pub fn records_read_by_request_id(
    files: &[FileFacts],
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    out: &mut Vec<Finding>,
) {
    let owned: BTreeSet<&str> = files
        .iter()
        .flat_map(|f| &f.summaries)
        .flat_map(|s| &s.owner_models)
        .map(String::as_str)
        .collect();
    if owned.is_empty() {
        return;
    }
    let project = Project::new(files);
    for v in entry_views(&project, false) {
        let summary = project.summary(v.handler);
        let Some((spot, model, call)) = summary
            .reads_by_request_id
            .iter()
            .find(|(_, model, _)| owned.contains(model.as_str()))
        else {
            continue;
        };
        // a handler that also changes a record by the id is the write rule's
        let writes_by_id = !summary.ops_by_request_id.is_empty()
            || summary.request_id_arguments.iter().any(|(callee, k)| {
                project
                    .resolve_fn(v.handler.0, callee)
                    .is_some_and(|target| {
                        project
                            .summary(target)
                            .writes_by_parameter
                            .iter()
                            .any(|(p, _)| p == k)
                    })
            });
        if writes_by_id
            || summary.account_op.is_some()
            || summary.identity_from_request.is_some()
            || !acts_on_unrelated_records(&project, &v)
        {
            continue;
        }
        let path = &files[v.handler.0].path;
        let entry_path = &files[v.file].path;
        let message = format!(
            "{} ({entry_path}:{}) authenticates the caller, then reads one `{model}` record (`{call}`) by an id from the request; other code scopes `{model}` records to their owner, but nothing here relates this one to the caller",
            v.label, v.site.start.line,
        );
        out.push(entry_finding(
            ctx,
            rule_idx,
            (entry_path, &v),
            message,
            (path, spot),
            Some(format!("`{model}` read here")),
        ));
    }
    dedup(out);
}

/// A finding of `rule_idx` at `spot` in `path`, with the entry point and related spots.
fn flow_finding(
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    severity: Option<crate::rules::Severity>,
    message: String,
    at: (&str, &Spot),
    entry: (&str, &Spot),
    related: Vec<Related>,
) -> Finding {
    let rule = &ctx.rules.rules()[rule_idx];
    let mut properties = BTreeMap::new();
    properties.insert(
        "entry-point".to_string(),
        format!("{}:{}", entry.0, entry.1.start.line),
    );
    Finding {
        severity: severity.unwrap_or(rule.severity),
        message,
        related,
        is_flow: true,
        properties,
        ..Finding::of_rule(rule, at.0, (at.1.start, at.1.end), at.1.range.clone())
    }
}

/// A finding at `at` of the handler of the entry point `v` (in `entry.0`): related to the entry
/// point, and to `at` itself with `what` when given.
fn entry_finding(
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    entry: (&str, &EntryView<'_>),
    message: String,
    at: (&str, &Spot),
    what: Option<String>,
) -> Finding {
    let (entry_path, v) = entry;
    let mut related = vec![related_at(
        entry_path,
        v.site,
        format!("entry point: {}", v.label),
    )];
    if let Some(what) = what {
        related.push(related_at(at.0, at.1, what));
    }
    flow_finding(
        ctx,
        rule_idx,
        None,
        message,
        at,
        (entry_path, v.site),
        related,
    )
}

/// What the project pass knows about one entry point, shared by the role and identity rules.
struct EntryView<'f> {
    file: usize,
    entry: &'f EntryPoint,
    site: &'f Spot,
    label: String,
    handler: FnRef,
    reached: Vec<FnRef>,
    guarded: bool,
}

/// Every entry point whose handler resolves, with its guard and reach; public ones (sign-up,
/// webhooks, ...) only with `with_public`.
fn entry_views<'f>(project: &Project<'f>, with_public: bool) -> Vec<EntryView<'f>> {
    let has_global = project.has_global_auth();
    let mut out = Vec::new();
    for (file, facts) in project.files.iter().enumerate() {
        for (entry, site) in facts.module.entries.iter().zip(&facts.entry_spots) {
            let prefix = if entry.framework == Framework::Express {
                project.mount_prefix(file, 0)
            } else {
                String::new()
            };
            if !with_public && (ops::is_public_name(&entry.route) || ops::is_public_name(&prefix)) {
                continue;
            }
            let Some(handler) = project.handler(file, entry) else {
                continue;
            };
            let reached = project.reachable(handler);
            let guarded = guard(project, file, entry, has_global).is_some();
            out.push(EntryView {
                file,
                entry,
                site,
                label: entry_label(entry, &prefix),
                handler,
                reached,
                guarded,
            });
        }
    }
    out
}

impl Project<'_> {
    /// Whether middleware named like a role check runs before the entry point: on the route, on
    /// its router, or where its router is mounted.
    fn role_middleware(&self, file: usize, entry: &EntryPoint) -> bool {
        let named = |g: usize, args: &[String]| {
            args.iter()
                .any(|a| super::roles::is_role_middleware(a) && !self.is_router(g, a))
        };
        let covers = |u: &Use, route: &str| u.path.as_deref().is_none_or(|p| route.starts_with(p));
        entry
            .middleware
            .iter()
            .any(|m| super::roles::is_role_middleware(m))
            || self.files[file].module.uses.iter().any(|u| {
                u.offset < entry.site.start
                    && entry.router.as_deref().is_none_or(|r| r == u.target)
                    && covers(u, &entry.route)
                    && named(file, &u.args)
            })
            || self.mounts_of(file).iter().any(|(g, u, _)| {
                let mount = u.path.as_deref().unwrap_or("/");
                named(*g, &u.args)
                    || self.files[*g].module.uses.iter().any(|v| {
                        v.offset < u.offset
                            && v.target == u.target
                            && covers(v, mount)
                            && named(*g, &v.args)
                    })
            })
            || (entry.framework == Framework::Nest
                && self.files.iter().any(|f| {
                    f.module
                        .global_guards
                        .iter()
                        .any(|g| super::roles::is_role_middleware(g))
                }))
    }
}

/// Reports handlers that authenticate the caller, then delete, change or re-role a user account
/// chosen by an id from the request (or list every user), with no role check and no
/// comparison with the caller's own id.
pub fn admin_operations_without_role_check(
    files: &[FileFacts],
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    out: &mut Vec<Finding>,
) {
    let project = Project::new(files);
    for v in entry_views(&project, false) {
        let summaries: Vec<&Summary> = v.reached.iter().map(|r| project.summary(*r)).collect();
        let authenticated = v.guarded || summaries.iter().any(|s| s.has_check);
        if !authenticated
            || summaries.iter().any(|s| s.role_check || s.compares_caller)
            || project.role_middleware(v.file, v.entry)
        {
            continue;
        }
        let handler = project.summary(v.handler);
        let handler_path = &files[v.handler.0].path;
        let (what, path, spot) = if let Some((op, spot)) = &handler.account_op {
            (
                format!(
                    "picks a user account by an id from the request and {}",
                    op.describe()
                ),
                handler_path,
                spot,
            )
        } else if let Some((r, spot)) = v.reached.iter().find_map(|r| {
            project
                .summary(*r)
                .ops
                .iter()
                .find(|(k, ..)| *k == OpKind::UserListing)
                .map(|(_, spot, ..)| (*r, spot))
        }) {
            (
                "reads every user account".to_string(),
                &files[r.0].path,
                spot,
            )
        } else {
            continue;
        };
        let entry_path = &files[v.file].path;
        let message = format!(
            "{} ({}:{}) checks that the caller is signed in, then {what}; nothing checks the caller's role or that the account is their own",
            v.label, entry_path, v.site.start.line,
        );
        out.push(entry_finding(
            ctx,
            rule_idx,
            (entry_path, &v),
            message,
            (path, spot),
            Some(what),
        ));
    }
    dedup(out);
}

/// Reports handlers that take the acting user's identity from the request: an identity header
/// the client sets, or a user id from the body while a token is verified and its identity never
/// used.
pub fn caller_identity_from_request(
    files: &[FileFacts],
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    out: &mut Vec<Finding>,
) {
    let project = Project::new(files);
    for v in entry_views(&project, false) {
        let handler = project.summary(v.handler);
        let Some((spot, name)) = &handler.identity_from_request else {
            continue;
        };
        let summaries: Vec<&Summary> = v.reached.iter().map(|r| project.summary(*r)).collect();
        let acts = summaries.iter().any(|s| !s.ops.is_empty())
            || handler.account_op.is_some()
            || handler.queries_by_identity;
        let message = if handler.identity_from_header {
            // a Next.js middleware that writes the header overrides what the client sent
            let set_by_middleware = project
                .next_middleware(&files[v.file].path)
                .is_some_and(|m| m.sets_identity_headers);
            if set_by_middleware || !(acts || summaries.iter().any(|s| s.role_check)) {
                continue;
            }
            format!(
                "{} ({}:{}) decides who the caller is from a request header (`{name}`) that any client can set",
                v.label, files[v.file].path, v.site.start.line,
            )
        } else {
            let verifies = summaries.iter().any(|s| s.verifies_token) || v.guarded;
            if !verifies
                || !acts
                || summaries
                    .iter()
                    .any(|s| s.uses_verified_identity || s.role_check || s.compares_caller)
            {
                continue;
            }
            format!(
                "{} ({}:{}) verifies the caller's token, then acts for the user named by `{name}` from the request instead of the verified identity",
                v.label, files[v.file].path, v.site.start.line,
            )
        };
        let path = &files[v.handler.0].path;
        let entry_path = &files[v.file].path;
        out.push(entry_finding(
            ctx,
            rule_idx,
            (entry_path, &v),
            message,
            (path, spot),
            None,
        ));
    }
    dedup(out);
}

/// Reports handlers whose only caller check is that an `Authorization` header is present: no
/// reached function verifies the token, and the handler uses an admin client or performs a
/// privileged operation.
pub fn auth_results_ignored(
    files: &[FileFacts],
    ctx: &ProjectContext<'_>,
    rule_idx: usize,
    out: &mut Vec<Finding>,
) {
    let project = Project::new(files);
    for v in entry_views(&project, true) {
        let handler = project.summary(v.handler);
        let summaries: Vec<&Summary> = v.reached.iter().map(|r| project.summary(*r)).collect();
        if v.guarded || !summaries.iter().any(|s| s.admin || !s.ops.is_empty()) {
            continue;
        }
        let entry_path = &files[v.file].path;
        let (spot, message) = if let Some(spot) = &handler.header_presence {
            if summaries.iter().any(|s| s.verifies_token || s.machine_auth) {
                continue;
            }
            (
                spot,
                format!(
                    "{} ({}:{}) only checks that an `Authorization` header is present; nothing verifies the token, so any value passes",
                    v.label, entry_path, v.site.start.line,
                ),
            )
        } else if let Some(spot) = &handler.fail_open_secret {
            if summaries.iter().any(|s| s.verifies_token) {
                continue;
            }
            (
                spot,
                format!(
                    "{} ({}:{}) compares the shared secret only when one is configured; with the variable unset, every caller passes",
                    v.label, entry_path, v.site.start.line,
                ),
            )
        } else if let Some(spot) = &handler.optional_auth {
            (
                spot,
                format!(
                    "{} ({}:{}) verifies the caller only when an `Authorization` header is sent; a request without one (or with a token that names no user) skips the check and goes on",
                    v.label, entry_path, v.site.start.line,
                ),
            )
        } else if let Some(spot) = &handler.forgeable_webhook {
            (
                spot,
                format!(
                    "{} ({}:{}) lets a request through when its body looks like a database webhook (an event `type` such as `'INSERT'`, a table name): any caller can send that body; a webhook should carry a secret header the function compares",
                    v.label, entry_path, v.site.start.line,
                ),
            )
        } else if let Some(spot) = &handler.optional_sign_in {
            // only a sign-in that opens privileged work matters, and only when nothing the
            // handler reaches checks the caller another way
            let ops: Vec<&(OpKind, Spot, String, Option<QueryInput>)> =
                summaries.iter().flat_map(|s| &s.ops).collect();
            let Some((kind, ..)) = ops.iter().max_by_key(|(k, ..)| k.severity(handler.admin))
            else {
                continue;
            };
            // (the handler's own checks are all the sign-in, or the spot would not be set)
            if summaries
                .iter()
                .skip(1)
                .any(|s| s.has_check || s.role_check)
                || handler.role_check
            {
                continue;
            }
            (
                spot,
                format!(
                    "{} ({}:{}) signs the caller in only to choose something for them and refuses nobody: a request without a token (or with one that names no user) goes on, and the handler {}",
                    v.label,
                    entry_path,
                    v.site.start.line,
                    kind.describe(),
                ),
            )
        } else {
            continue;
        };
        let path = &files[v.handler.0].path;
        out.push(entry_finding(
            ctx,
            rule_idx,
            (entry_path, &v),
            message,
            (path, spot),
            None,
        ));
    }
    dedup(out);
}

//! The project pass: joins the files' facts into entry point → handler → helpers, decides whether
//! middleware or a check guards each entry point, and reports unguarded privileged operations.

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use crate::discover::Candidate;
use crate::engine::ProjectContext;
use crate::entry::{EntryPoint, Framework, Handler, Use, resolve_import};
use crate::finding::{Finding, Related};
use crate::parse::{self, Grammar};
use crate::source::{self, Loaded};

use super::ops::{self, OpKind};
use super::{FileFacts, Spot, Summary};

/// How deep helper calls are followed from a handler.
const MAX_DEPTH: usize = 4;
/// How many `use` mounts are followed upwards.
const MAX_MOUNTS: usize = 4;

/// Reads the modules that entry-point files import (controllers, helpers, auth middleware),
/// following imports [`MAX_DEPTH`] deep. The per-file pass parsed only entry-point modules, so
/// helper files cost a parse only when a handler actually reaches them.
pub fn load_imported(facts: &mut Vec<FileFacts>, ctx: &ProjectContext<'_>) {
    let by_name = candidates_by_file_name(ctx.candidates);
    let mut known: BTreeSet<String> = facts.iter().map(|f| f.path.clone()).collect();
    let mut frontier: Vec<usize> = (0..facts.len()).collect();
    for _ in 0..MAX_DEPTH {
        let mut wanted: Vec<&Candidate> = Vec::new();
        for &i in &frontier {
            for import in &facts[i].module.imports {
                if let Some(c) =
                    find_candidate(ctx.candidates, &by_name, &facts[i].path, &import.source)
                    && known.insert(c.display.clone())
                {
                    wanted.push(c);
                }
            }
        }
        if wanted.is_empty() {
            break;
        }
        let start = facts.len();
        // read and parsed on the worker pool; `collect` keeps the order, so output is stable
        let loaded: Vec<FileFacts> = wanted
            .par_iter()
            // file_facts ignores files past its size limit: never read or parse them
            .filter(|candidate| candidate.size <= super::MAX_FILE_BYTES as u64)
            .filter_map(|candidate| {
                let Loaded::File(file, _) = source::load(candidate) else {
                    return None;
                };
                let tree = parse::parse(Grammar::for_kind(file.kind)?, &file.text)?;
                // on a worker thread: a stack budget of its own (the file's scan noted a cut)
                crate::engine::stack::budget(|| super::file_facts(&file, tree.root_node())).0
            })
            .collect();
        facts.extend(loaded);
        frontier = (start..facts.len()).collect();
    }
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
        let lower = name.to_ascii_lowercase();
        if lower.ends_with("router") || lower.ends_with("routes") || lower.ends_with("route") {
            return true;
        }
        self.import_target(file, name)
            .is_some_and(|(t, _)| !self.files[t].module.entries.is_empty())
    }

    fn use_authenticates(&self, file: usize, u: &Use, upto: Option<&str>) -> bool {
        u.args
            .iter()
            .take_while(|a| Some(a.as_str()) != upto)
            .any(|a| !self.is_router(file, a) && ops::is_auth_middleware(a))
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
    if entry.middleware.iter().any(|m| ops::is_auth_middleware(m)) {
        return Some("route middleware");
    }
    match entry.framework {
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
                    // most severe first, then the kind listed first (user management before writes)
                    let better = best.is_none_or(|(b, j)| {
                        let bs = project.summary(b);
                        let (bk, bsev) = (bs.ops[j].0, bs.ops[j].0.severity(bs.admin));
                        let sev = kind.severity(s.admin);
                        sev > bsev || (sev == bsev && *kind < bk)
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
            let handler_summary = project.summary(handler);
            if *supabase_chain
                && (handler_summary.supabase_service_role_from_request
                    || op_summary.supabase_service_role_from_request)
            {
                continue;
            }
            let op_path = &files[op_ref.0].path;
            let admin = op_summary.admin
                && matches!(kind, OpKind::Delete | OpKind::Write | OpKind::UserListing);
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
            // point at the route registration when the handler lives elsewhere (where the fix goes)
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
            out.push(Finding {
                rule_id: rule.id.clone(),
                severity: kind.severity(op_summary.admin),
                confidence: rule.confidence,
                message,
                path: path.clone(),
                start: spot.start,
                end: spot.end,
                byte_range: spot.range.clone(),
                snippet: String::new(),
                redactions: Vec::new(),
                fingerprint: String::new(),
                related,
                is_flow: true,
                properties,
            });
        }
    }
    dedup(out);
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
    let has_global = project.has_global_auth();
    let rule = &ctx.rules.rules()[rule_idx];
    for (file, facts) in files.iter().enumerate() {
        for (entry, site) in facts.module.entries.iter().zip(&facts.entry_spots) {
            let prefix = if entry.framework == Framework::Express {
                project.mount_prefix(file, 0)
            } else {
                String::new()
            };
            let label = entry_label(entry, &prefix);
            if ops::is_public_name(&entry.route)
                || ops::is_public_name(&prefix)
                || label.to_ascii_lowercase().contains("admin")
            {
                continue;
            }
            let Some(handler) = project.handler(file, entry) else {
                continue;
            };
            let summary = project.summary(handler);
            let Some(&op_idx) = summary.ops_by_request_id.first() else {
                continue;
            };
            let reached = project.reachable(handler);
            let authenticated = reached.iter().any(|r| project.summary(*r).has_check)
                || guard(&project, file, entry, has_global).is_some();
            if !authenticated
                || reached.iter().any(|r| {
                    let s = project.summary(*r);
                    s.refers_to_caller || s.machine_auth
                })
            {
                continue;
            }
            let (kind, spot, op_text, supabase_chain) = &summary.ops[op_idx];
            // Supabase service-role queries fed by the request are the platform rule's
            if *supabase_chain && summary.supabase_service_role_from_request {
                continue;
            }
            let path = &files[handler.0].path;
            let message = format!(
                "{label} ({}:{}) authenticates the caller, then {} (`{op_text}`) on a record chosen by an id from the request; nothing relates that record to the caller (no owner filter, no comparison with the caller's id)",
                facts.path,
                site.start.line,
                kind.describe(),
            );
            let mut properties = BTreeMap::new();
            properties.insert(
                "entry-point".to_string(),
                format!("{}:{}", facts.path, site.start.line),
            );
            out.push(Finding {
                rule_id: rule.id.clone(),
                severity: rule.severity,
                confidence: rule.confidence,
                message,
                path: path.clone(),
                start: spot.start,
                end: spot.end,
                byte_range: spot.range.clone(),
                snippet: String::new(),
                redactions: Vec::new(),
                fingerprint: String::new(),
                related: vec![
                    related_at(&facts.path, site, format!("entry point: {label}")),
                    related_at(path, spot, format!("{} here", kind.describe())),
                ],
                is_flow: true,
                properties,
            });
        }
    }
    dedup(out);
}

//! `vibeward mcp`: the Model Context Protocol face, for coding agents (stdio, official Rust SDK).
//!
//! Four tools, each a thin call into the library, no analysis of its own: `scan` (files or
//! folders), `check_code` (code not written to disk yet, judged by the file name it would have),
//! `explain_rule` and `list_rules`. Results are structured content (with output schemas) plus a
//! short text. Every finding leaves through the scan's finish step, so snippets and properties
//! are redacted and no result carries a whole secret; mechanical fixes are computed from the
//! redacted text ([`crate::fix`]).
//!
//! Boundaries: `scan` reads only inside the client's MCP roots, or the working directory when the
//! client has none; `check_code` reads nothing of the project (it writes the code into a private
//! temporary folder so the project-wide rules judge it too, and deletes it). No tool touches the
//! network. Bad arguments (a path outside the roots, an unknown rule or family) are JSON-RPC
//! `invalid_params` errors naming the argument.

pub mod output;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::schemars::JsonSchema;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use serde::Deserialize;
use thiserror::Error;

use crate::config::{self, Settings};
use crate::discover::display_path;
use crate::rules::{RuleSet, Severity};
use crate::{ScanError, Scanner};
use output::{FindingOut, RuleDoc, RuleList, RuleSummary, ScanOutput, SkippedOut};

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum McpError {
    /// The rules or the configuration could not be loaded.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// `vibeward.toml` is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// Standard input/output or the runtime failed.
    #[error("mcp: {0}")]
    Io(String),
}

/// Findings returned by default; the rest are counted in `omitted`.
const DEFAULT_LIMIT: usize = 50;

/// What every request shares: the working directory, the settings and the compiled rules.
struct State {
    /// The working directory, canonical.
    cwd: PathBuf,
    /// Scans the project (settings of `vibeward.toml`).
    scanner: Scanner,
    /// Scans `check_code`'s temporary folder: the same rules, without path filters.
    checker: Scanner,
}

/// The MCP server.
#[derive(Clone)]
pub struct VibewardMcp {
    state: Arc<State>,
    tool_router: ToolRouter<Self>,
}

/// Arguments of `scan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ScanParams {
    /// Files or folders to scan, absolute or relative to the first root (default: the roots).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Only these rule families (e.g. `secrets`, `supabase`) or rule ids.
    #[serde(default)]
    pub families: Vec<String>,
    /// Leave out findings below this severity: critical, high, medium, low or info.
    pub min_severity: Option<String>,
    /// The most findings to return, most severe first (default 50).
    pub limit: Option<usize>,
}

/// Arguments of `check_code`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct CheckCodeParams {
    /// The code (a file's whole content).
    pub code: String,
    /// The path the file would have in the project, relative (`supabase/migrations/001_init.sql`,
    /// `firestore.rules`, `app/api/users/route.ts`, `.env`): it decides how the code is judged.
    pub filename: String,
    /// The most findings to return, most severe first (default 50).
    pub limit: Option<usize>,
}

/// Arguments of `explain_rule`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ExplainParams {
    /// A rule id, e.g. `supabase.table-without-rls` (see `list_rules`).
    pub id: String,
}

/// Arguments of `list_rules`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ListRulesParams {
    /// Only this family (e.g. `secrets`).
    pub family: Option<String>,
}

fn invalid(message: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(message.into(), None)
}

fn structured<T: serde::Serialize>(value: &T, text: String) -> Result<CallToolResult, ErrorData> {
    let value =
        serde_json::to_value(value).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    let mut result = CallToolResult::structured(value);
    result.content = vec![ContentBlock::text(text)];
    Ok(result)
}

#[tool_router]
impl VibewardMcp {
    /// Builds the server for a working directory: loads `vibeward.toml` (inside it) and compiles
    /// the rules once.
    pub fn new(cwd: &Path) -> Result<Self, McpError> {
        let cwd = std::fs::canonicalize(cwd).map_err(|e| McpError::Io(e.to_string()))?;
        let settings = Settings::for_root(&cwd)?;
        let scanner = Scanner::new(&settings)?;
        let mut check = settings.clone();
        check.include.clear();
        check.exclude.clear();
        check.discover.respect_ignore_files = false;
        check.discover.default_excludes = false;
        let checker = Scanner::new(&check)?;
        Ok(VibewardMcp {
            state: Arc::new(State {
                cwd,
                scanner,
                checker,
            }),
            tool_router: Self::tool_router(),
        })
    }

    /// Scan files or folders of the project for security holes.
    #[tool(
        description = "Scan files or folders of the project (default: the whole project) for the security holes AI-written backends have: leaked keys, tables without row level security, permissive Firebase rules, injection, missing authorization, risky dependencies. Returns findings (rule, severity, location, redacted snippet, how to fix, and an edit when the fix is mechanical), most severe first.",
        output_schema = rmcp::handler::server::common::schema_for_output::<ScanOutput>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn scan(
        &self,
        Parameters(params): Parameters<ScanParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let roots = self.roots(&context).await;
        let targets = if params.paths.is_empty() {
            roots.clone()
        } else {
            params
                .paths
                .iter()
                .map(|p| resolve_inside(p, &roots))
                .collect::<Result<Vec<_>, _>>()?
        };
        let min = match &params.min_severity {
            Some(s) => s.parse::<Severity>().map_err(invalid)?,
            None => Severity::Info,
        };
        check_names(self.state.scanner.engine().rules(), &params.families)?;
        let state = Arc::clone(&self.state);
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        let families = params.families;
        let out = tokio::task::spawn_blocking(move || -> Result<ScanOutput, ErrorData> {
            let paths: Vec<PathBuf> = targets
                .iter()
                .map(|t| {
                    t.strip_prefix(&state.cwd)
                        .map_or_else(|_| t.clone(), relative_or_dot)
                })
                .collect();
            let report = state
                .scanner
                .scan(&paths)
                .map_err(|e| invalid(e.to_string()))?;
            let rules = report.rules.as_ref();
            let findings = report
                .findings
                .iter()
                .filter(|f| f.severity >= min)
                .filter(|f| {
                    families.is_empty()
                        || families.iter().any(|n| {
                            rules
                                .get(&f.rule_id)
                                .is_some_and(|r| r.is_named(n) || r.family() == n)
                        })
                })
                .map(|f| FindingOut::new(f, rules, report.sources.get(&f.path).map(|s| &**s)))
                .collect();
            let mut out = ScanOutput::new(findings, limit, report.stats.files_analysed);
            out.suppressed = report.stats.suppressed;
            out.skipped = report.notes.iter().map(SkippedOut::from).collect();
            Ok(out)
        })
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))??;
        let text = out.text();
        structured(&out, text)
    }

    /// Check code that is not written to disk yet.
    #[tool(
        description = "Check code before writing it: pass the file's whole content and the path it will have (e.g. `supabase/migrations/20240101_init.sql`, `firestore.rules`, `app/api/users/route.ts`, `.env`); the path decides how it is judged. Returns the same findings as `scan`, for this file alone (rules about other files, such as a later migration enabling row level security, see only this one).",
        output_schema = rmcp::handler::server::common::schema_for_output::<ScanOutput>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn check_code(
        &self,
        Parameters(params): Parameters<CheckCodeParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let roots = self.roots(&context).await;
        let rel = relative_name(&params.filename, &roots)?;
        let state = Arc::clone(&self.state);
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        let code = params.code;
        let out = tokio::task::spawn_blocking(move || check_code(&state, &rel, code, limit))
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))??;
        let text = out.text();
        structured(&out, text)
    }

    /// A rule's documentation.
    #[tool(
        description = "A rule's documentation: what it detects, why it matters, how to fix it, references, and code it flags next to a safe look-alike.",
        output_schema = rmcp::handler::server::common::schema_for_output::<RuleDoc>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn explain_rule(
        &self,
        Parameters(params): Parameters<ExplainParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let rules = self.state.scanner.engine().rules();
        let rule = rules
            .rules()
            .iter()
            .find(|r| r.is_named(&params.id))
            .ok_or_else(|| {
                let known: Vec<&str> = rules.rules().iter().map(|r| r.id.as_str()).collect();
                let hint = config::file::closest(&params.id, known)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                invalid(format!(
                    "id: no rule `{}`{hint} (list_rules lists them)",
                    params.id
                ))
            })?;
        let doc = RuleDoc::from(rule);
        let text = format!("{}: {}\n\n{}", doc.id, doc.title, doc.help);
        structured(&doc, text)
    }

    /// Every rule.
    #[tool(
        description = "List the rules: id, family, title, default severity, confidence. Optionally one family.",
        output_schema = rmcp::handler::server::common::schema_for_output::<RuleList>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_rules(
        &self,
        Parameters(params): Parameters<ListRulesParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let rules = self.state.scanner.engine().rules();
        let mut families: Vec<String> = rules
            .rules()
            .iter()
            .map(|r| r.family().to_string())
            .collect();
        families.dedup();
        if let Some(family) = &params.family
            && !families.contains(family)
        {
            return Err(invalid(format!(
                "family: no family `{family}`; one of: {}",
                families.join(", ")
            )));
        }
        let list: Vec<RuleSummary> = rules
            .rules()
            .iter()
            .filter(|r| params.family.as_deref().is_none_or(|f| r.family() == f))
            .map(|r| RuleSummary {
                id: r.id.clone(),
                family: r.family().to_string(),
                title: r.title.clone(),
                severity: r.severity.as_str().into(),
                confidence: r.confidence.as_str().into(),
            })
            .collect();
        let text = format!("{} rules; families: {}", list.len(), families.join(", "));
        let out = RuleList {
            count: list.len(),
            families,
            rules: list,
        };
        structured(&out, text)
    }
}

impl VibewardMcp {
    /// The folders this client lets the server read: its MCP roots (`file://` URIs) when it
    /// declares the capability and lists some, else the working directory.
    #[allow(
        deprecated,
        reason = "roots are deprecated from protocol 2026-07-28 on, and still how the clients of earlier versions bound a server"
    )]
    async fn roots(&self, context: &RequestContext<RoleServer>) -> Vec<PathBuf> {
        let declares = context
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.roots.is_some());
        if declares {
            let listed = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                context.peer.list_roots(),
            )
            .await;
            if let Ok(Ok(listed)) = listed {
                let roots: Vec<PathBuf> = listed
                    .roots
                    .iter()
                    .filter_map(|r| file_uri_to_path(&r.uri))
                    .filter_map(|p| std::fs::canonicalize(p).ok())
                    .collect();
                if !roots.is_empty() {
                    return roots;
                }
            }
        }
        vec![self.state.cwd.clone()]
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for VibewardMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("vibeward", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "vibeward finds the security holes AI-written backends have. Call `check_code` with the content and intended path of a file before writing it, and `scan` after editing; apply each finding's `fix.edit` when present, else follow `fix.advice`. Secrets are always masked in results.",
            )
    }
}

/// Runs the server on standard input and output until the client disconnects.
pub fn serve_stdio(cwd: &Path) -> Result<(), McpError> {
    let server = VibewardMcp::new(cwd)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| McpError::Io(e.to_string()))?;
    runtime.block_on(async move {
        let service = match server.serve(rmcp::transport::stdio()).await {
            Ok(service) => service,
            // the client went away before `initialize` (`vibeward mcp < /dev/null`)
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => return Err(McpError::Io(e.to_string())),
        };
        service
            .waiting()
            .await
            .map_err(|e| McpError::Io(e.to_string()))?;
        Ok(())
    })
}

/// `check_code`: the code is written into a private temporary folder at its relative path and
/// that folder is scanned whole, so the project-wide rules (migration histories, manifests)
/// judge it as well; the folder is removed before the result is returned.
fn check_code(
    state: &State,
    rel: &str,
    code: String,
    limit: usize,
) -> Result<ScanOutput, ErrorData> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vibeward-check-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = dir.join(rel);
    let written = file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&file, code.as_bytes()));
    let result = if written.is_ok() {
        state
            .checker
            .scan(std::slice::from_ref(&dir))
            .map(|report| {
                let cwd = std::env::current_dir().ok();
                let prefix = format!("{}/", display_path(&dir, cwd.as_deref()));
                let rename = |p: &str| p.strip_prefix(&prefix).unwrap_or(p).to_string();
                let rules = report.rules.as_ref();
                let findings = report
                    .findings
                    .iter()
                    .map(|f| {
                        let mut f = f.clone();
                        let text = report.sources.get(&f.path).cloned();
                        f.path = rename(&f.path);
                        for r in &mut f.related {
                            r.path = rename(&r.path);
                        }
                        FindingOut::new(&f, rules, text.as_deref())
                    })
                    .collect();
                let mut out = ScanOutput::new(findings, limit, report.stats.files_analysed);
                out.suppressed = report.stats.suppressed;
                out.skipped = report
                    .notes
                    .iter()
                    .map(|n| {
                        let mut s = SkippedOut::from(n);
                        s.path = rename(&s.path);
                        s
                    })
                    .collect();
                out
            })
    } else {
        // no temporary folder: the per-file pass alone, in memory
        let scan = state.checker.scan_text(rel, code);
        let rules = state.checker.engine().rules();
        let findings = scan
            .findings
            .iter()
            .map(|f| FindingOut::new(f, rules, scan.redacted.as_deref()))
            .collect();
        let mut out = ScanOutput::new(findings, limit, 1);
        out.suppressed = scan.suppressed;
        out.skipped = scan.notes.iter().map(SkippedOut::from).collect();
        Ok(out)
    };
    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// Every name in `names` must be a rule id, alias or family.
fn check_names(rules: &RuleSet, names: &[String]) -> Result<(), ErrorData> {
    for name in names {
        if !rules
            .rules()
            .iter()
            .any(|r| r.is_named(name) || r.family() == name)
        {
            let mut known: Vec<&str> = rules
                .rules()
                .iter()
                .map(crate::rules::Rule::family)
                .collect();
            known.dedup();
            return Err(invalid(format!(
                "families: no rule or family `{name}`; families are: {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// `path` (absolute, or relative to the first root) made canonical, if it lies inside a root.
fn resolve_inside(path: &str, roots: &[PathBuf]) -> Result<PathBuf, ErrorData> {
    let given = Path::new(path);
    let joined = if given.is_absolute() {
        given.to_path_buf()
    } else {
        roots
            .first()
            .map_or_else(|| given.to_path_buf(), |r| r.join(given))
    };
    let canonical =
        std::fs::canonicalize(&joined).map_err(|e| invalid(format!("paths: {path}: {e}")))?;
    if roots.iter().any(|r| canonical.starts_with(r)) {
        Ok(canonical)
    } else {
        Err(invalid(format!(
            "paths: {path} is outside the folders this server may read ({})",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// `check_code`'s file name as a clean relative path: an absolute one inside a root is made
/// relative to it; `..`, and absolute paths elsewhere, are refused.
fn relative_name(name: &str, roots: &[PathBuf]) -> Result<String, ErrorData> {
    let given = Path::new(name);
    let rel = if given.is_absolute() {
        roots
            .iter()
            .find_map(|r| given.strip_prefix(r).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "filename: {name} is outside the project; give the path relative to it"
                ))
            })?
    } else {
        given
    };
    let mut parts = Vec::new();
    for component in rel.components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => {
                return Err(invalid(format!(
                    "filename: {name}: give a path inside the project, without `..`"
                )));
            }
        }
    }
    if parts.is_empty() {
        return Err(invalid(
            "filename: empty; give the path the file would have",
        ));
    }
    Ok(parts.join("/"))
}

/// A path relative to the working directory, `.` for the directory itself.
fn relative_or_dot(rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel.to_path_buf()
    }
}

/// The local path of a `file://` URI (percent-decoded); `None` for other schemes.
pub fn file_uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file://localhost/x` and `file:///x`
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = rest.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_become_paths() {
        assert_eq!(
            file_uri_to_path("file:///home/a%20b/x"),
            Some(PathBuf::from("/home/a b/x"))
        );
        assert_eq!(file_uri_to_path("https://x"), None);
    }

    #[test]
    fn check_code_names_stay_inside_the_project() {
        let roots = [PathBuf::from("/p")];
        assert_eq!(
            relative_name("./supabase/migrations/1.sql", &roots).expect("relative"),
            "supabase/migrations/1.sql"
        );
        assert_eq!(relative_name("/p/a.ts", &roots).expect("inside"), "a.ts");
        assert!(relative_name("../a.ts", &roots).is_err());
        assert!(relative_name("/etc/passwd", &roots).is_err());
        assert!(relative_name("", &roots).is_err());
    }
}

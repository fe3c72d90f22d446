//! `vibeward lsp`: the language server face, for editors (stdio, `lsp-server` + `lsp-types`).
//!
//! - Open and edited documents are analysed in memory with [`Scanner::scan_text`] (the per-file
//!   pass, milliseconds for a file): at once on open, after a short pause on change (debounced),
//!   and again on save.
//! - A save also re-runs the whole-project scan on a worker thread, for the rules that need other
//!   files (migration histories, manifests with their lockfiles, cross-module authorization).
//!   Its findings that the per-file pass does not make are kept per file and shown with the
//!   buffer's own until the next save; files that are not open get the whole scan's findings.
//! - Code actions: the mechanical fix when a rule has one ([`crate::fix`]), a `vibeward-ignore`
//!   comment with a reason on the line above (see [`crate::suppress`]), and the rule's
//!   documentation (`window/showDocument`, or its advice as a message).
//! - Settings come from the `vibeward.toml` of the workspace folder; saving it reloads them.
//!
//! Positions: findings count columns in code points; LSP counts UTF-16 units, converted here
//! against the document's text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CodeDescription, Command, Diagnostic, DiagnosticSeverity,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, ExecuteCommandOptions, ExecuteCommandParams, InitializeParams,
    LogMessageParams, MessageType, NumberOrString, Position, PublishDiagnosticsParams, Range,
    SaveOptions, ServerCapabilities, ShowDocumentParams, ShowMessageParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, TextEdit, Uri, WorkspaceEdit,
};
use serde_json::{Value, json};
use thiserror::Error;

use crate::config::{self, Settings};
use crate::discover::FileKind;
use crate::finding::Finding;
use crate::rules::Severity;
use crate::{ScanError, Scanner, fix};

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum LspError {
    /// The rules could not be loaded.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// `vibeward.toml` is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The protocol or standard input/output failed.
    #[error("lsp: {0}")]
    Protocol(String),
}

/// Pause after the last change before a document is analysed again.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// The command that shows a rule's documentation.
const SHOW_DOCS: &str = "vibeward.showRuleDocs";

/// An open document.
struct Doc {
    /// Path relative to the workspace root, `/`-separated (what rules match against).
    rel: String,
    /// The buffer.
    text: String,
    /// The buffer's version.
    version: i32,
    /// Per-file findings of the buffer, finished, and the redacted text they came from.
    findings: Vec<Finding>,
    redacted: Option<Arc<str>>,
}

/// The result of a whole-project scan.
struct ProjectScan {
    /// Every finding, by display path (relative to the root).
    by_path: BTreeMap<String, Vec<Finding>>,
    /// Per file: the findings the per-file pass of its saved text does not make.
    project_only: BTreeMap<String, Vec<Finding>>,
    /// Redacted texts, for the mechanical fixes of files that are not open.
    sources: BTreeMap<String, Arc<str>>,
    elapsed: Duration,
}

struct Server {
    connection: Connection,
    root: PathBuf,
    scanner: Arc<Scanner>,
    docs: BTreeMap<String, Doc>,
    pending: BTreeMap<String, Instant>,
    project: Option<ProjectScan>,
    /// Files that are not open and were given diagnostics by the last project scan.
    published: BTreeSet<String>,
    scanning: bool,
    rescan: bool,
    results: (Sender<ProjectScan>, Receiver<ProjectScan>),
    shows_documents: bool,
    next_id: i32,
}

/// Runs the server on standard input and output until the client says `exit` or disconnects.
pub fn serve_stdio() -> Result<(), LspError> {
    let (connection, io_threads) = Connection::stdio();
    let (id, params) = match connection.initialize_start() {
        Ok(started) => started,
        // the client went away before `initialize` (`vibeward lsp < /dev/null`)
        Err(e) if e.channel_is_disconnected() => return Ok(()),
        Err(e) => return Err(LspError::Protocol(e.to_string())),
    };
    let params: InitializeParams =
        serde_json::from_value(params).map_err(|e| LspError::Protocol(e.to_string()))?;
    let root = workspace_root(&params);
    // display paths (and the rules' path globs) are relative to the workspace root
    std::env::set_current_dir(&root).map_err(|e| LspError::Protocol(e.to_string()))?;
    let scanner = Arc::new(Scanner::new(&Settings::for_root(Path::new("."))?)?);
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![SHOW_DOCS.to_string()],
            ..ExecuteCommandOptions::default()
        }),
        ..ServerCapabilities::default()
    };
    let result = json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "vibeward", "version": env!("CARGO_PKG_VERSION") },
    });
    if let Err(e) = connection.initialize_finish(id, result) {
        return if e.channel_is_disconnected() {
            Ok(())
        } else {
            Err(LspError::Protocol(e.to_string()))
        };
    }
    let shows_documents = params
        .capabilities
        .window
        .as_ref()
        .and_then(|w| w.show_document.as_ref())
        .is_some_and(|s| s.support);
    let mut server = Server {
        connection,
        root: std::env::current_dir().unwrap_or(root),
        scanner,
        docs: BTreeMap::new(),
        pending: BTreeMap::new(),
        project: None,
        published: BTreeSet::new(),
        scanning: false,
        rescan: false,
        results: crossbeam_channel::unbounded(),
        shows_documents,
        next_id: 0,
    };
    server.start_project_scan();
    let outcome = server.run();
    drop(server);
    // the reader thread ends at `exit` or end of input; the writer once the connection is gone
    let _ = io_threads.join();
    outcome
}

/// The first workspace folder, else the root URI, else the current directory.
fn workspace_root(params: &InitializeParams) -> PathBuf {
    #[expect(deprecated, reason = "older clients send only rootUri")]
    let root_uri = params.root_uri.clone();
    params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| f.uri.clone())
        .or(root_uri)
        .and_then(|uri| crate::mcp::file_uri_to_path(uri.as_str()))
        .filter(|p| p.is_dir())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Server {
    fn run(&mut self) -> Result<(), LspError> {
        loop {
            let wait = self
                .pending
                .values()
                .min()
                .map_or(Duration::from_secs(3600), |due| {
                    due.saturating_duration_since(Instant::now())
                });
            let results = self.results.1.clone();
            select! {
                recv(self.connection.receiver) -> message => match message {
                    Ok(Message::Request(request)) => {
                        if self
                            .connection
                            .handle_shutdown(&request)
                            .map_err(|e| LspError::Protocol(e.to_string()))?
                        {
                            return Ok(());
                        }
                        self.on_request(request);
                    }
                    Ok(Message::Notification(n)) => {
                        if n.method == lsp_types::notification::Exit::METHOD {
                            return Ok(());
                        }
                        self.on_notification(n);
                    }
                    Ok(Message::Response(_)) => {}
                    Err(_) => return Ok(()),
                },
                recv(results) -> scan => {
                    if let Ok(scan) = scan {
                        self.on_project_scan(scan);
                    }
                }
                default(wait) => {}
            }
            self.analyse_due();
        }
    }

    fn send(&self, message: impl Into<Message>) {
        // a closed connection ends the loop at the next receive
        let _ = self.connection.sender.send(message.into());
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) {
        self.send(Notification::new(method.to_string(), params));
    }

    fn log(&self, message: String) {
        self.notify(
            lsp_types::notification::LogMessage::METHOD,
            LogMessageParams {
                typ: MessageType::LOG,
                message,
            },
        );
    }

    fn on_notification(&mut self, n: Notification) {
        use lsp_types::notification::{
            DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
        };
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri.as_str().to_string();
                    let Some(rel) = self.relative(&uri) else {
                        return;
                    };
                    self.docs.insert(
                        uri.clone(),
                        Doc {
                            rel,
                            text: p.text_document.text,
                            version: p.text_document.version,
                            findings: Vec::new(),
                            redacted: None,
                        },
                    );
                    self.analyse(&uri);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri.as_str().to_string();
                    if let Some(doc) = self.docs.get_mut(&uri) {
                        // full sync: the last change holds the whole text
                        if let Some(change) = p.content_changes.into_iter().last() {
                            doc.text = change.text;
                            doc.version = p.text_document.version;
                            self.pending.insert(uri, Instant::now() + DEBOUNCE);
                        }
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidSaveTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri.as_str().to_string();
                    if let Some(text) = p.text
                        && let Some(doc) = self.docs.get_mut(&uri)
                    {
                        doc.text = text;
                    }
                    let is_config =
                        uri.ends_with("/vibeward.toml") || uri.ends_with("/.vibeward.toml");
                    if is_config {
                        self.reload();
                    } else if self.docs.contains_key(&uri) {
                        self.pending.remove(&uri);
                        self.analyse(&uri);
                    }
                    self.start_project_scan();
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri.as_str().to_string();
                    self.pending.remove(&uri);
                    if let Some(doc) = self.docs.remove(&uri) {
                        // back to what the last project scan says about the file on disk
                        let findings = self
                            .project
                            .as_ref()
                            .and_then(|p| p.by_path.get(&doc.rel))
                            .cloned()
                            .unwrap_or_default();
                        if !findings.is_empty() {
                            self.published.insert(doc.rel.clone());
                        }
                        self.publish_closed(&doc.rel, &findings);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_request(&mut self, request: Request) {
        use lsp_types::request::{CodeActionRequest, ExecuteCommand};
        let id = request.id.clone();
        match request.method.as_str() {
            CodeActionRequest::METHOD => {
                let actions = serde_json::from_value::<CodeActionParams>(request.params)
                    .map(|p| self.code_actions(&p))
                    .unwrap_or_default();
                self.send(Response::new_ok(id, actions));
            }
            ExecuteCommand::METHOD => {
                if let Ok(p) = serde_json::from_value::<ExecuteCommandParams>(request.params) {
                    self.execute(&p);
                }
                self.send(Response::new_ok(id, Value::Null));
            }
            _ => self.send(Response::new_err(
                id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("vibeward does not handle {}", request.method),
            )),
        }
    }

    /// The display path of a `file://` URI inside the workspace root.
    fn relative(&self, uri: &str) -> Option<String> {
        let path = crate::mcp::file_uri_to_path(uri)?;
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let rel = path.strip_prefix(&self.root).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    fn uri_of(&self, rel: &str) -> Option<Uri> {
        Uri::from_str(&path_to_uri(&self.root.join(rel))).ok()
    }

    fn reload(&mut self) {
        match Settings::for_root(Path::new("."))
            .map_err(LspError::from)
            .and_then(|s| Ok(Scanner::new(&s)?))
        {
            Ok(scanner) => {
                self.scanner = Arc::new(scanner);
                let uris: Vec<String> = self.docs.keys().cloned().collect();
                for uri in uris {
                    self.analyse(&uri);
                }
                self.log("vibeward: vibeward.toml reloaded".into());
            }
            Err(e) => self.notify(
                lsp_types::notification::ShowMessage::METHOD,
                ShowMessageParams {
                    typ: MessageType::ERROR,
                    message: format!("vibeward: {e}"),
                },
            ),
        }
    }

    fn analyse_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for uri in due {
            self.pending.remove(&uri);
            self.analyse(&uri);
        }
    }

    /// Runs the per-file pass on a document's buffer and publishes its diagnostics.
    fn analyse(&mut self, uri: &str) {
        let Some(doc) = self.docs.get_mut(uri) else {
            return;
        };
        let started = Instant::now();
        let scan = self.scanner.scan_text(&doc.rel, doc.text.clone());
        let elapsed = started.elapsed();
        doc.findings = scan.findings;
        doc.redacted = scan.redacted;
        let message = format!(
            "vibeward: analysed {} in {:.1} ms ({} findings)",
            doc.rel,
            elapsed.as_secs_f64() * 1000.0,
            doc.findings.len()
        );
        self.log(message);
        self.publish_open(uri);
    }

    fn publish_open(&self, uri: &str) {
        let Some(doc) = self.docs.get(uri) else {
            return;
        };
        let mut diagnostics: Vec<Diagnostic> = doc
            .findings
            .iter()
            .map(|f| self.diagnostic(f, Some(&doc.text), doc.redacted.as_deref()))
            .collect();
        if let Some(project) = &self.project
            && let Some(extra) = project.project_only.get(&doc.rel)
        {
            let redacted = project.sources.get(&doc.rel).map(|s| &**s);
            diagnostics.extend(
                extra
                    .iter()
                    .map(|f| self.diagnostic(f, Some(&doc.text), redacted)),
            );
        }
        let Ok(uri) = Uri::from_str(uri) else { return };
        self.notify(
            lsp_types::notification::PublishDiagnostics::METHOD,
            PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: Some(doc.version),
            },
        );
    }

    fn publish_closed(&self, rel: &str, findings: &[Finding]) {
        let Some(uri) = self.uri_of(rel) else { return };
        let redacted = self
            .project
            .as_ref()
            .and_then(|p| p.sources.get(rel))
            .map(|s| &**s);
        let diagnostics = findings
            .iter()
            .map(|f| self.diagnostic(f, redacted, redacted))
            .collect();
        self.notify(
            lsp_types::notification::PublishDiagnostics::METHOD,
            PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: None,
            },
        );
    }

    fn diagnostic(&self, f: &Finding, text: Option<&str>, redacted: Option<&str>) -> Diagnostic {
        let rules = self.scanner.engine().rules();
        let rule = rules.get(&f.rule_id);
        let range = Range {
            start: utf16(text, f.start),
            end: utf16(text, f.end),
        };
        let kind = FileKind::classify(Path::new(&f.path)).unwrap_or(FileKind::Text);
        let edit = redacted.and_then(|t| fix::edit(f, t, kind)).map(|e| {
            json!({
                "description": e.description,
                "range": Range { start: utf16(text, e.start), end: utf16(text, e.end) },
                "newText": e.new_text,
            })
        });
        let related = f
            .related
            .iter()
            .filter_map(|r| {
                Some(lsp_types::DiagnosticRelatedInformation {
                    location: lsp_types::Location {
                        uri: self.uri_of(&r.path)?,
                        range: Range {
                            start: plain(r.start),
                            end: plain(r.end),
                        },
                    },
                    message: r.message.clone(),
                })
            })
            .collect::<Vec<_>>();
        Diagnostic {
            range,
            severity: Some(match f.severity {
                Severity::Critical | Severity::High => DiagnosticSeverity::ERROR,
                Severity::Medium => DiagnosticSeverity::WARNING,
                Severity::Low => DiagnosticSeverity::INFORMATION,
                Severity::Info => DiagnosticSeverity::HINT,
            }),
            code: Some(NumberOrString::String(f.rule_id.clone())),
            code_description: rule
                .and_then(|r| Uri::from_str(&r.help_uri()).ok())
                .map(|href| CodeDescription { href }),
            source: Some("vibeward".into()),
            message: f.message.clone(),
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data: Some(json!({
                "rule_id": f.rule_id,
                "severity": f.severity.as_str(),
                "fix": rule.map(fix::advice),
                "edit": edit,
            })),
        }
    }

    fn code_actions(&self, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = params.text_document.uri.clone();
        let doc = self.docs.get(uri.as_str());
        let kind = doc
            .and_then(|d| FileKind::classify(Path::new(&d.rel)))
            .unwrap_or(FileKind::Text);
        let mut actions = Vec::new();
        let mut seen = BTreeSet::new();
        for diagnostic in &params.context.diagnostics {
            if diagnostic.source.as_deref() != Some("vibeward") {
                continue;
            }
            let Some(data) = &diagnostic.data else {
                continue;
            };
            let Some(rule_id) = data["rule_id"].as_str() else {
                continue;
            };
            if let Some(edit) = data.get("edit").filter(|e| !e.is_null())
                && let Ok(range) = serde_json::from_value::<Range>(edit["range"].clone())
            {
                let new_text = edit["newText"].as_str().unwrap_or_default().to_string();
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Fix: {}", edit["description"].as_str().unwrap_or(rule_id)),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostic.clone()]),
                    edit: Some(workspace_edit(&uri, range, new_text)),
                    is_preferred: Some(true),
                    ..CodeAction::default()
                }));
            }
            let line = diagnostic.range.start.line;
            if let (Some(doc), Some(comment)) = (doc, comment_prefix(kind)) {
                let text_line = doc.text.lines().nth(line as usize).unwrap_or("");
                let indent: String = text_line
                    .chars()
                    .take_while(|c| c.is_whitespace())
                    .collect();
                let insert = format!(
                    "{indent}{comment} vibeward-ignore: {rule_id} -- reason: <why this is safe>\n"
                );
                let at = Position { line, character: 0 };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Ignore {rule_id} here (vibeward-ignore comment with a reason)"),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostic.clone()]),
                    edit: Some(workspace_edit(&uri, Range { start: at, end: at }, insert)),
                    ..CodeAction::default()
                }));
            }
            if seen.insert(rule_id.to_string()) {
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Show documentation for {rule_id}"),
                    kind: Some(CodeActionKind::EMPTY),
                    command: Some(Command {
                        title: format!("Show documentation for {rule_id}"),
                        command: SHOW_DOCS.into(),
                        arguments: Some(vec![Value::String(rule_id.to_string())]),
                    }),
                    ..CodeAction::default()
                }));
            }
        }
        actions
    }

    fn execute(&mut self, params: &ExecuteCommandParams) {
        if params.command != SHOW_DOCS {
            return;
        }
        let Some(id) = params.arguments.first().and_then(Value::as_str) else {
            return;
        };
        let rules = self.scanner.engine().rules();
        let Some(rule) = rules.get(id) else { return };
        let url = rule.help_uri();
        if self.shows_documents
            && let Ok(uri) = Uri::from_str(&url)
        {
            self.next_id += 1;
            let request = Request::new(
                RequestId::from(format!("vibeward-{}", self.next_id)),
                lsp_types::request::ShowDocument::METHOD.to_string(),
                ShowDocumentParams {
                    uri,
                    external: Some(true),
                    take_focus: Some(true),
                    selection: None,
                },
            );
            self.send(request);
        } else {
            let message = format!(
                "{}: {}\n\n{}\n\n{url}",
                rule.id,
                rule.title,
                fix::advice(rule)
            );
            self.notify(
                lsp_types::notification::ShowMessage::METHOD,
                ShowMessageParams {
                    typ: MessageType::INFO,
                    message,
                },
            );
        }
    }

    /// Starts a whole-project scan on a worker thread (or marks one to follow the running one).
    fn start_project_scan(&mut self) {
        if self.scanning {
            self.rescan = true;
            return;
        }
        self.scanning = true;
        let scanner = Arc::clone(&self.scanner);
        let sender = self.results.0.clone();
        let spawned = std::thread::Builder::new()
            .name("vibeward-project-scan".into())
            .spawn(move || {
                if let Some(scan) = project_scan(&scanner) {
                    let _ = sender.send(scan);
                }
            });
        if spawned.is_err() {
            self.scanning = false;
        }
    }

    fn on_project_scan(&mut self, scan: ProjectScan) {
        self.scanning = false;
        self.log(format!(
            "vibeward: project scan in {:.0} ms ({} files with findings)",
            scan.elapsed.as_secs_f64() * 1000.0,
            scan.by_path.len()
        ));
        let open: BTreeSet<String> = self.docs.values().map(|d| d.rel.clone()).collect();
        // closed files that no longer have findings are cleared; open ones are republished below
        let stale: Vec<String> = self
            .published
            .iter()
            .filter(|p| !scan.by_path.contains_key(*p) || open.contains(*p))
            .cloned()
            .collect();
        self.project = Some(scan);
        for rel in stale {
            self.published.remove(&rel);
            if !open.contains(&rel) {
                self.publish_closed(&rel, &[]);
            }
        }
        let by_path: Vec<(String, Vec<Finding>)> = self
            .project
            .as_ref()
            .map(|p| {
                p.by_path
                    .iter()
                    .filter(|(rel, _)| !open.contains(*rel))
                    .map(|(r, f)| (r.clone(), f.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (rel, findings) in by_path {
            self.published.insert(rel.clone());
            self.publish_closed(&rel, &findings);
        }
        let uris: Vec<String> = self.docs.keys().cloned().collect();
        for uri in uris {
            self.publish_open(&uri);
        }
        if std::mem::take(&mut self.rescan) {
            self.start_project_scan();
        }
    }
}

/// The whole-project scan of the current directory (the workspace root), split for the server:
/// for every file with findings, those the per-file pass of its text on disk does not make
/// (milliseconds a file) are the project pass's, shown beside an open buffer's own.
fn project_scan(scanner: &Scanner) -> Option<ProjectScan> {
    let started = Instant::now();
    let report = scanner.scan(&[PathBuf::from(".")]).ok()?;
    let mut by_path: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for f in report.findings {
        by_path.entry(f.path.clone()).or_default().push(f);
    }
    let mut project_only = BTreeMap::new();
    for (rel, all) in &by_path {
        // what the per-file pass says of the saved file; the rest came from the project pass
        let Ok(text) = std::fs::read_to_string(rel) else {
            continue;
        };
        let own = scanner.scan_text(rel, text).findings;
        let extra: Vec<Finding> = all
            .iter()
            .filter(|f| {
                !own.iter()
                    .any(|o| o.rule_id == f.rule_id && o.start == f.start && o.end == f.end)
            })
            .cloned()
            .collect();
        project_only.insert(rel.clone(), extra);
    }
    Some(ProjectScan {
        by_path,
        project_only,
        sources: report.sources,
        elapsed: started.elapsed(),
    })
}

fn workspace_edit(uri: &Uri, range: Range, new_text: String) -> WorkspaceEdit {
    #[expect(
        clippy::mutable_key_type,
        reason = "lsp-types keys workspace edits by Uri, which is never mutated here"
    )]
    let changes =
        std::collections::HashMap::from([(uri.clone(), vec![TextEdit { range, new_text }])]);
    WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    }
}

/// The line-comment syntax of a file kind; `None` where comments are impossible (JSON,
/// lockfiles), where a baseline is the way to accept a finding.
fn comment_prefix(kind: FileKind) -> Option<&'static str> {
    match kind {
        FileKind::Js | FileKind::Ts | FileKind::Tsx | FileKind::Dts | FileKind::FirebaseRules => {
            Some("//")
        }
        FileKind::Sql => Some("--"),
        FileKind::Dotenv | FileKind::Yaml | FileKind::Toml | FileKind::Text => Some("#"),
        FileKind::Json | FileKind::Lockfile | FileKind::Any => None,
    }
}

/// A finding position (1-based, code points) as an LSP position (0-based, UTF-16 units of `text`).
fn utf16(text: Option<&str>, p: crate::source::Position) -> Position {
    let line = p.line.saturating_sub(1);
    let character =
        text.and_then(|t| t.split('\n').nth(line))
            .map_or(p.column.saturating_sub(1), |l| {
                l.chars()
                    .take(p.column.saturating_sub(1))
                    .map(char::len_utf16)
                    .sum()
            });
    Position {
        line: line as u32,
        character: character as u32,
    }
}

/// A position in another file, without its text (code points taken as UTF-16 units).
fn plain(p: crate::source::Position) -> Position {
    utf16(None, p)
}

/// A `file://` URI for a local path, percent-encoding what URIs do not allow.
pub fn path_to_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_counted_in_utf16_units() {
        let text = "const a = '€𝄞'; eval(x)\n";
        // `eval` starts at code point 17 (1-based): `€` is one unit, `𝄞` two
        let p = utf16(
            Some(text),
            crate::source::Position {
                line: 1,
                column: 17,
            },
        );
        assert_eq!(
            p,
            Position {
                line: 0,
                character: 17
            }
        );
        let p = utf16(
            Some(text),
            crate::source::Position {
                line: 1,
                column: 14,
            },
        );
        assert_eq!(p.character, 14);
    }

    #[test]
    fn paths_round_trip_through_uris() {
        let uri = path_to_uri(Path::new("/tmp/a b/x.ts"));
        assert_eq!(uri, "file:///tmp/a%20b/x.ts");
        assert_eq!(
            crate::mcp::file_uri_to_path(&uri),
            Some(PathBuf::from("/tmp/a b/x.ts"))
        );
    }
}

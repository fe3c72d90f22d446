//! The per-file plan: read once, prefilter, parse at most once, hand the file to every analyzer.
//!
//! An [`Analyzer`] is one capability (query rules, secrets, taint flows, platform checks,
//! dependencies). Each claims the rules of its matcher kinds when the engine is built, analyses
//! files through a [`FileContext`], and may run once more over the whole project
//! ([`ProjectContext`]) for cross-file rules. Analyzers know nothing about output formats.

pub mod pattern;
pub mod prefilter;
pub mod query;

use std::cell::OnceCell;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;

use tree_sitter::Tree;

use crate::discover::{Candidate, SkipReason, Skipped};
use crate::finding::Finding;
use crate::parse::{self, Grammar};
use crate::rules::{Matcher, RuleError, RuleSet};
use crate::source::{self, Loaded, SourceFile, ceil_char, floor_char};
use crate::suppress;

use prefilter::Prefilter;

/// One capability of the scanner.
pub trait Analyzer: Send + Sync {
    /// A short name for diagnostics.
    fn name(&self) -> &'static str;

    /// The rules (indices into the engine's [`RuleSet`]) this analyzer runs.
    fn rule_indices(&self) -> Vec<usize>;

    /// Analyses one file. Only rules for which `ctx.is_active(i)` holds may report.
    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>);

    /// Runs once after every file, for rules that need the whole project (migrations in order,
    /// manifest and lockfile together, ...).
    fn analyze_project(&self, _project: &ProjectContext<'_>, _out: &mut Vec<Finding>) {}
}

/// Builds a capability's analyzer from the rules it claims; `None` when it has no rules.
/// Capabilities read their options (e.g. the advisory database path) from the scan [`Settings`].
pub type AnalyzerBuilder =
    fn(&RuleSet, &crate::Settings) -> Result<Option<Box<dyn Analyzer>>, RuleError>;

/// What the engine gives an analyzer for one file.
pub struct FileContext<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// All rules of the scan.
    pub rules: &'a RuleSet,
    active: Vec<bool>,
    tree: OnceCell<Option<Tree>>,
}

impl<'a> FileContext<'a> {
    /// A context for `file` with the rules that apply to it and survive the prefilter.
    pub fn new(file: &'a SourceFile, rules: &'a RuleSet, prefilter: &Prefilter) -> Self {
        let mut active = prefilter.active_rules(&file.text);
        for (idx, rule) in rules.rules().iter().enumerate() {
            if active[idx] && !rule.applies_to(file.kind, &file.display) {
                active[idx] = false;
            }
        }
        FileContext {
            file,
            rules,
            active,
            tree: OnceCell::new(),
        }
    }

    /// Whether rule `idx` applies to this file and its triggers occur in it.
    pub fn is_active(&self, idx: usize) -> bool {
        self.active.get(idx).copied().unwrap_or(false)
    }

    /// Whether any rule is active on this file.
    pub fn has_active_rules(&self) -> bool {
        self.active.iter().any(|a| *a)
    }

    /// The syntax tree, parsed on first call (JS/TS/TSX only); `None` for other kinds.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree
            .get_or_init(|| {
                Grammar::for_kind(self.file.kind).and_then(|g| parse::parse(g, &self.file.text))
            })
            .as_ref()
    }

    /// Whether the tree was parsed (for statistics).
    pub fn was_parsed(&self) -> bool {
        self.tree.get().is_some_and(Option::is_some)
    }

    /// A finding of rule `rule_idx` over `range`, with the rule's defaults. The engine fills in
    /// the snippet and fingerprint after every analyzer has run (and redactions are known).
    pub fn finding(&self, rule_idx: usize, range: Range<usize>) -> Finding {
        let rule = &self.rules.rules()[rule_idx];
        Finding {
            rule_id: rule.id.clone(),
            severity: rule.severity,
            confidence: rule.confidence,
            message: rule.message.clone(),
            path: self.file.display.clone(),
            start: self.file.position(range.start),
            end: self.file.position(range.end),
            byte_range: range,
            snippet: String::new(),
            fingerprint: String::new(),
            related: Vec::new(),
            is_flow: false,
            properties: std::collections::BTreeMap::new(),
        }
    }

    /// A related location in this file.
    pub fn related(
        &self,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> crate::finding::Related {
        crate::finding::Related {
            path: self.file.display.clone(),
            start: self.file.position(range.start),
            end: self.file.position(range.end),
            message: message.into(),
        }
    }
}

/// What the engine gives an analyzer for the project-wide pass.
pub struct ProjectContext<'a> {
    /// The roots given on the command line.
    pub roots: &'a [PathBuf],
    /// Every file discovered (analysed or not), sorted by display path.
    pub candidates: &'a [Candidate],
    /// All rules of the scan.
    pub rules: &'a RuleSet,
}

impl ProjectContext<'_> {
    /// Whether rule `idx` applies to a candidate (by kind and path; triggers are not checked).
    pub fn applies(&self, idx: usize, candidate: &Candidate) -> bool {
        self.rules.rules()[idx].applies_to(candidate.kind, &candidate.display)
    }
}

/// A finding in another file than the one being built, e.g. from the project pass.
/// Builds it from the file's text so positions and snippets are right.
pub fn finding_in(
    file: &SourceFile,
    rules: &RuleSet,
    rule_idx: usize,
    range: Range<usize>,
) -> Finding {
    let prefilter_free = FileContext {
        file,
        rules,
        active: Vec::new(),
        tree: OnceCell::new(),
    };
    let mut f = prefilter_free.finding(rule_idx, range);
    f.snippet = snippet(&file.text, file, &f);
    f
}

/// Everything one file produced.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// Findings, unsorted, after inline suppressions.
    pub findings: Vec<Finding>,
    /// Findings silenced by inline `vibeward-ignore` comments.
    pub suppressed: usize,
    /// Skip or degradation notes.
    pub notes: Vec<Skipped>,
    /// The redacted text, kept only when the file has findings (for code frames).
    pub source: Option<Arc<str>>,
    /// Bytes analysed (0 when skipped).
    pub bytes: u64,
    /// Whether the file was analysed (not skipped).
    pub analysed: bool,
    /// Whether tree-sitter parsed it.
    pub parsed: bool,
}

/// The compiled rules and analyzers, shared read-only by every worker.
pub struct Engine {
    rules: Arc<RuleSet>,
    prefilter: Prefilter,
    analyzers: Vec<Box<dyn Analyzer>>,
}

/// Engine options.
#[derive(Clone, Copy, Debug)]
pub struct EngineOptions {
    /// Run query rules on the native matcher, in one walk per tree (the fast path). `false` runs
    /// one tree-sitter query per rule: the reference that tests compare the fast path with.
    pub combined_queries: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            combined_queries: true,
        }
    }
}

impl Engine {
    /// Compiles the analyzers. Every rule must be claimed by exactly one analyzer.
    pub fn new(rules: RuleSet, settings: &crate::Settings) -> Result<Self, RuleError> {
        let options = settings.engine;
        let mut analyzers: Vec<Box<dyn Analyzer>> = Vec::new();
        if let Some(q) = query::QueryAnalyzer::new(&rules, options.combined_queries)? {
            analyzers.push(Box::new(q));
        }
        for build in crate::capabilities() {
            if let Some(a) = build(&rules, settings)? {
                analyzers.push(a);
            }
        }
        let mut claimed = vec![false; rules.len()];
        for a in &analyzers {
            for i in a.rule_indices() {
                claimed[i] = true;
            }
        }
        for (i, rule) in rules.rules().iter().enumerate() {
            if !claimed[i] {
                let kind = rule.matcher.kind();
                let detail = match &rule.matcher {
                    Matcher::Spec { spec, .. } => {
                        serde_yaml_ng::to_string(spec).unwrap_or_default()
                    }
                    Matcher::Query(_) => String::new(),
                };
                return Err(RuleError::Field {
                    source_name: rule.source.clone(),
                    id: rule.id.clone(),
                    field: kind.key().into(),
                    message: format!(
                        "no analyzer in this build handles this `{}` matcher: {}",
                        kind.key(),
                        detail.trim()
                    ),
                });
            }
        }
        Ok(Engine {
            prefilter: Prefilter::new(&rules),
            rules: Arc::new(rules),
            analyzers,
        })
    }

    /// The rules of this engine.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The rules, shared (for the report).
    pub fn shared_rules(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules)
    }

    /// Reads and analyses one discovered file. Never panics: a panic inside an analyzer becomes
    /// an `internal-error` note for this file.
    pub fn scan_candidate(&self, candidate: &Candidate) -> FileOutcome {
        match source::load(candidate) {
            Loaded::Skip(skipped) => FileOutcome {
                notes: vec![skipped],
                ..FileOutcome::default()
            },
            Loaded::File(file, degraded) => {
                let mut outcome = self.scan_source(&file);
                outcome.notes.extend(degraded);
                outcome
            }
        }
    }

    /// Analyses a file already in memory.
    pub fn scan_source(&self, file: &SourceFile) -> FileOutcome {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| self.analyze(file)));
        match result {
            Ok(outcome) => outcome,
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "analyzer panicked".into());
                FileOutcome {
                    notes: vec![Skipped {
                        path: file.display.clone(),
                        reason: SkipReason::InternalError,
                        detail,
                    }],
                    bytes: file.text.len() as u64,
                    ..FileOutcome::default()
                }
            }
        }
    }

    fn analyze(&self, file: &SourceFile) -> FileOutcome {
        let ctx = FileContext::new(file, &self.rules, &self.prefilter);
        let mut findings = Vec::new();
        if ctx.has_active_rules() {
            for analyzer in &self.analyzers {
                analyzer.analyze_file(&ctx, &mut findings);
            }
        }
        let mut notes = Vec::new();
        if let Some(tree) = ctx.tree.get().and_then(Option::as_ref)
            && tree.root_node().has_error()
        {
            notes.push(Skipped {
                path: file.display.clone(),
                reason: SkipReason::ParseError,
                detail: "syntax errors; analysed as far as the tree allows".into(),
            });
        }
        apply_supersedes(&self.rules, &mut findings);
        let before = findings.len();
        suppress::apply_inline(file, &mut findings);
        let suppressed = before - findings.len();
        let source = if findings.is_empty() {
            None
        } else {
            let redacted = redact(&file.text, &findings);
            for f in &mut findings {
                f.snippet = snippet(&redacted, file, f);
            }
            Some(Arc::from(redacted))
        };
        FileOutcome {
            findings,
            suppressed,
            notes,
            source,
            bytes: file.text.len() as u64,
            analysed: true,
            parsed: ctx.was_parsed(),
        }
    }

    /// Runs every analyzer's project pass, each under `catch_unwind`.
    pub fn analyze_project(&self, project: &ProjectContext<'_>) -> (Vec<Finding>, Vec<Skipped>) {
        let mut findings = Vec::new();
        let mut notes = Vec::new();
        for analyzer in &self.analyzers {
            let mut out = Vec::new();
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                analyzer.analyze_project(project, &mut out);
            }));
            match result {
                Ok(()) => findings.extend(out),
                Err(_) => notes.push(Skipped {
                    path: "<project>".into(),
                    reason: SkipReason::InternalError,
                    detail: format!("the {} project pass failed", analyzer.name()),
                }),
            }
        }
        (findings, notes)
    }
}

/// Drops findings that a finding of a superseding rule covers on the same line.
pub fn apply_supersedes(rules: &RuleSet, findings: &mut Vec<Finding>) {
    let covered: Vec<(String, String, usize)> = findings
        .iter()
        .flat_map(|f| {
            rules
                .get(&f.rule_id)
                .map(|r| r.supersedes.as_slice())
                .unwrap_or_default()
                .iter()
                .map(move |s| (s.clone(), f.path.clone(), f.start.line))
        })
        .collect();
    if covered.is_empty() {
        return;
    }
    let is_covered = |f: &Finding| {
        covered
            .iter()
            .any(|(id, path, line)| *id == f.rule_id && *path == f.path && *line == f.start.line)
    };
    // a superseded secret finding hands its redaction to the findings on its line, so the
    // secret stays masked in their snippets (issue 17: parse master key)
    let moved: Vec<(String, usize, String)> = findings
        .iter()
        .filter(|f| is_covered(f))
        .filter_map(|f| {
            let spec = f.properties.get(REDACT_PROPERTY)?;
            Some((f.path.clone(), f.start.line, spec.clone()))
        })
        .collect();
    findings.retain(|f| !is_covered(f));
    for (path, line, spec) in moved {
        for f in findings
            .iter_mut()
            .filter(|f| f.path == path && f.start.line == line)
        {
            let merged = match f.properties.get(REDACT_PROPERTY) {
                Some(old) => format!("{old};{spec}"),
                None => spec.clone(),
            };
            f.properties.insert(REDACT_PROPERTY.into(), merged);
        }
    }
}

/// The key in `Finding::properties` holding byte ranges to mask, as `start..end;start..end`.
/// Secret detectors set it so that no output shows the secret, even in another rule's snippet.
pub const REDACT_PROPERTY: &str = "redact-ranges";

/// Masks the ranges every finding asked to redact (`*` per byte, so offsets stay valid).
fn redact(text: &str, findings: &[Finding]) -> String {
    let mut ranges: Vec<Range<usize>> = findings
        .iter()
        .filter_map(|f| f.properties.get(REDACT_PROPERTY))
        .flat_map(|spec| spec.split(';'))
        .filter_map(|r| {
            let (a, b) = r.split_once("..")?;
            Some(a.parse().ok()?..b.parse().ok()?)
        })
        .collect();
    if ranges.is_empty() {
        return text.to_string();
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in ranges {
        let start = floor_char(text, r.start.max(last));
        let end = ceil_char(text, r.end.min(text.len()));
        if start >= end {
            continue;
        }
        out.push_str(&text[last..start]);
        // keep the first 4 characters visible: enough to recognise a key type, never the secret
        let visible = text[start..end]
            .char_indices()
            .nth(4)
            .map_or(end, |(i, _)| start + i);
        out.push_str(&text[start..visible]);
        for c in text[visible..end].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                out.push_str(&"*".repeat(c.len_utf8()));
            }
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// The finding's lines (at most 3, each at most 240 characters) from the redacted text.
fn snippet(redacted: &str, file: &SourceFile, finding: &Finding) -> String {
    let first = finding.start.line;
    let last = finding.end.line.min(first + 2);
    (first..=last)
        .map(|line| {
            let range = file.line_range(line);
            let text = redacted.get(range).unwrap_or("");
            if text.chars().count() > 240 {
                text.chars().take(240).collect::<String>() + "…"
            } else {
                text.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

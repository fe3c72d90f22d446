//! Human output: a code frame per finding (codespan-reporting), then a summary line.
//!
//! Nothing of the scanned code reaches the terminal raw: frames show files through
//! [`frame::Shown`] (control characters escaped, long lines cut), and messages, notes and file
//! names go through [`escape_control`].

mod frame;

use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity as Level};
use codespan_reporting::term::{self, Config};
use termcolor::{Color, ColorSpec, WriteColor};

use crate::ScanReport;
use crate::finding::Finding;
use crate::report::escape_control;
use crate::rules::Severity;
use frame::{Shown, ShownFiles};

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low => Level::Note,
        Severity::Info => Level::Help,
    }
}

/// Options of the text report.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// Leave out the summary line.
    pub quiet: bool,
}

/// Related locations drawn in one code frame.
const MAX_FRAME_LABELS: usize = 8;

/// Writes every finding as a code frame, then (unless quiet) a summary line.
pub fn write(
    report: &ScanReport,
    out: &mut dyn WriteColor,
    options: TextOptions,
) -> io::Result<()> {
    let config = Config::default();
    let mut files = ShownFiles::default();
    let mut ids = std::collections::BTreeMap::new();
    // the spans frames will label in each file: long lines are cut around them
    let mut spans: std::collections::BTreeMap<&str, Vec<std::ops::Range<usize>>> =
        std::collections::BTreeMap::new();
    for f in &report.findings {
        spans.entry(&f.path).or_default().push(f.byte_range.clone());
    }
    for (path, source) in &report.sources {
        let spans = spans.get(path.as_str()).map_or(&[][..], Vec::as_slice);
        ids.insert(path.as_str(), files.add(Shown::new(path, source, spans)));
    }
    for finding in &report.findings {
        let mut diagnostic = Diagnostic::new(level(finding.severity))
            .with_code(format!(
                "{}:{}",
                finding.severity,
                escape_control(&finding.rule_id)
            ))
            .with_message(escape_control(&finding.message));
        match ids
            .get(finding.path.as_str())
            .and_then(|&id| Some((id, files.get(id)?)))
        {
            Some((id, shown)) => {
                let range = finding.byte_range.clone();
                let primary = shown.to_shown(range.start, false)..shown.to_shown(range.end, true);
                let mut labels = vec![Label::primary(id, primary)];
                // aggregated dependency findings list hundreds of entries: the frame shows the
                // first few (JSON and SARIF carry them all)
                for related in finding.related.iter().take(MAX_FRAME_LABELS) {
                    if related.path != finding.path {
                        continue;
                    }
                    let (Some(a), Some(b)) = (
                        shown.raw_offset(related.start.line, related.start.column),
                        shown.raw_offset(related.end.line, related.end.column),
                    ) else {
                        continue;
                    };
                    if a <= b {
                        let range = shown.to_shown(a, false)..shown.to_shown(b, true);
                        labels.push(
                            Label::secondary(id, range)
                                .with_message(escape_control(&related.message)),
                        );
                    }
                }
                diagnostic = diagnostic.with_labels(labels);
            }
            None => {
                diagnostic = diagnostic.with_notes(vec![format!(
                    "at {}:{}:{}\n{}",
                    escape_control(&finding.path),
                    finding.start.line,
                    finding.start.column,
                    escape_control(&finding.snippet)
                )]);
            }
        }
        diagnostic = diagnostic.with_notes(
            notes(report, finding)
                .into_iter()
                .map(|n| escape_control(&n).into_owned())
                .collect(),
        );
        term::emit_to_write_style(out, &config, &files, &diagnostic)
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    if !options.quiet {
        summary(report, out)?;
    }
    Ok(())
}

fn notes(report: &ScanReport, finding: &Finding) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(rule) = report.rules.get(&finding.rule_id) {
        let mut meta = vec![format!("confidence: {}", finding.confidence.as_str())];
        meta.extend(rule.cwe.iter().cloned());
        meta.extend(rule.owasp.iter().map(|o| format!("OWASP {o}")));
        notes.push(meta.join(" · "));
        if let Some(fix) = fix_line(&rule.help) {
            notes.push(format!("fix: {fix}"));
        }
    }
    for (k, v) in &finding.properties {
        {
            // long lists (an aggregated finding's packages) are cut here, kept whole in JSON/SARIF
            match v.char_indices().nth(200) {
                Some((cut, _)) => notes.push(format!("{k}: {}… (see JSON or SARIF)", &v[..cut])),
                None => notes.push(format!("{k}: {v}")),
            }
        }
    }
    notes.push(format!("docs: vibeward explain {}", finding.rule_id));
    notes
}

/// The first sentence under `## How to fix`, for a one-line hint.
fn fix_line(help: &str) -> Option<String> {
    let after = help.split("## How to fix").nth(1)?;
    let para: String = after
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = first_sentence(&para);
    (!sentence.is_empty()).then(|| sentence.to_string())
}

/// Up to the first ". " that ends a sentence (followed by a capital; not "e.g." or "i.e.").
fn first_sentence(para: &str) -> &str {
    let bytes = para.as_bytes();
    for (i, _) in para.match_indices(". ") {
        let next_is_upper = bytes.get(i + 2).is_some_and(u8::is_ascii_uppercase);
        let before = &para[..i];
        let is_abbreviation =
            before.ends_with("e.g") || before.ends_with("i.e") || before.ends_with("etc");
        if next_is_upper && !is_abbreviation {
            return &para[..=i];
        }
    }
    para.trim()
}

fn summary(report: &ScanReport, out: &mut dyn WriteColor) -> io::Result<()> {
    let stats = &report.stats;
    let skipped: usize = report
        .notes
        .iter()
        .filter(|n| !n.reason.is_degraded())
        .count();
    let mut spec = ColorSpec::new();
    spec.set_bold(true);
    if report.findings.is_empty() {
        spec.set_fg(Some(Color::Green));
    } else {
        spec.set_fg(Some(Color::Red));
    }
    out.set_color(&spec)?;
    write!(out, "{}", crate::report::counts_sentence(report))?;
    out.reset()?;
    writeln!(
        out,
        " in {} file{} ({} skipped, {} suppressed) in {:.2}s",
        stats.files_analysed,
        if stats.files_analysed == 1 { "" } else { "s" },
        skipped,
        stats.suppressed,
        stats.elapsed.as_secs_f64()
    )?;
    for note in report
        .notes
        .iter()
        .filter(|n| n.reason == crate::discover::SkipReason::Notice)
    {
        writeln!(out, "note: {}", note.detail)?;
    }
    Ok(())
}

/// The `--stats` block, written to standard error by `main`.
pub fn write_stats(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.stats;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let mb = s.bytes_analysed as f64 / 1_048_576.0;
    writeln!(out, "vibeward stats")?;
    writeln!(out, "  rules             {}", s.rules)?;
    writeln!(out, "  files discovered  {}", s.files_discovered)?;
    writeln!(out, "  files analysed    {}", s.files_analysed)?;
    writeln!(out, "  files parsed      {}", s.files_parsed)?;
    if s.files_cached > 0 {
        writeln!(out, "  from the cache    {}", s.files_cached)?;
    }
    for (reason, n) in &s.skipped {
        writeln!(out, "  {reason:<17} {n}")?;
    }
    writeln!(out, "  findings          {}", report.findings.len())?;
    writeln!(out, "  suppressed        {}", s.suppressed)?;
    if s.baselined > 0 {
        writeln!(out, "  in the baseline   {}", s.baselined)?;
    }
    if s.allowed > 0 {
        writeln!(out, "  allowed secrets   {}", s.allowed)?;
    }
    writeln!(out, "  elapsed           {secs:.3}s")?;
    // small trees read in KB: "0.0 MB/s" said nothing
    let (amount, unit) = if mb < 1.0 {
        (s.bytes_analysed as f64 / 1024.0, "KB")
    } else {
        (mb, "MB")
    };
    writeln!(
        out,
        "  throughput        {:.1} {unit}/s, {:.0} files/s ({amount:.1} {unit})",
        amount / secs,
        s.files_analysed as f64 / secs
    )
}

#[cfg(test)]
mod tests {
    use super::first_sentence;

    #[test]
    fn first_sentence_skips_abbreviations() {
        assert_eq!(
            first_sentence("Set it, e.g. `x`, in production. Then go."),
            "Set it, e.g. `x`, in production."
        );
        assert_eq!(first_sentence("No full stop"), "No full stop");
    }
}

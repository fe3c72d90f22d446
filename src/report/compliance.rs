//! `vibeward report` as text, Markdown and JSON: the per-control standards tables and the
//! compliance document ([`Document`]). HTML is in [`super::html`].
//!
//! No control is ever called "passed": controls whose checks found nothing say so ("no findings
//! from its checks"), and controls without a check say "not checked by vibeward" with what to
//! verify by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape_control;
use crate::compliance::{ControlCoverage, Document, Section, StandardCoverage, Status};
use crate::rules::Severity;

/// Rule ids listed by name before they are summarised by family.
const LISTED_CHECKS: usize = 4;

/// "secrets.a, secrets.b" or, past [`LISTED_CHECKS`], "112 checks: secrets ×108, parse ×4".
pub fn checks_summary(checks: &[String]) -> String {
    if checks.is_empty() {
        return "none".into();
    }
    if checks.len() <= LISTED_CHECKS {
        return checks.join(", ");
    }
    let mut families: BTreeMap<&str, usize> = BTreeMap::new();
    for id in checks {
        *families
            .entry(id.split_once('.').map_or(id.as_str(), |(f, _)| f))
            .or_default() += 1;
    }
    let parts: Vec<String> = families.iter().map(|(f, n)| format!("{f} ×{n}")).collect();
    format!("{} checks: {}", checks.len(), parts.join(", "))
}

/// The one-line tally of a standard.
pub fn tally(coverage: &StandardCoverage) -> String {
    format!(
        "{} controls: {} with findings, {} checked without findings, {} not checked by vibeward",
        coverage.controls.len(),
        coverage.count(Status::Findings),
        coverage.count(Status::NoFindings),
        coverage.count(Status::NotChecked),
    )
}

/// What to verify by hand for a row: the whole control when nothing checks it, the rest of it
/// otherwise.
pub fn manual_note(control: &ControlCoverage) -> String {
    let manual = control.manual.clone().unwrap_or_default();
    match control.status {
        Status::NotChecked => manual,
        _ if !control.requirements_not_checked.is_empty() => format!(
            "Not checked: {}. {manual}",
            control.requirements_not_checked.join(", ")
        ),
        _ => format!("Beyond the checks: {manual}"),
    }
}

fn counts_cells(control: &ControlCoverage) -> String {
    Severity::ALL
        .iter()
        .map(|s| format!("{:>4}", control.findings.get(*s)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The per-control tables as plain text (what `vibeward report --standard ...` prints).
pub fn render_text(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vibeward {}: {} files, {} rules, findings: {}\n",
        doc.tool_version,
        doc.files_analysed,
        doc.rules_run,
        doc.findings.sentence()
    );
    for coverage in &doc.standards {
        let _ = writeln!(out, "{} ({})", coverage.name, tally(coverage));
        let id_width = coverage
            .controls
            .iter()
            .map(|c| c.id.len())
            .max()
            .unwrap_or(0);
        let title_width = coverage
            .controls
            .iter()
            .map(|c| c.title.chars().count().min(48))
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "  {:<id_width$}  {:<title_width$}  {:<27}  crit high  med  low info  checks",
            "control", "title", "status"
        );
        for c in &coverage.controls {
            let title: String = escape_control(&c.title).chars().take(48).collect();
            let _ = writeln!(
                out,
                "  {:<id_width$}  {:<title_width$}  {:<27}  {}  {}",
                c.id,
                title,
                c.status.label(),
                counts_cells(c),
                checks_summary(&c.checks)
            );
        }
        let unchecked: Vec<&ControlCoverage> = coverage
            .controls
            .iter()
            .filter(|c| c.status == Status::NotChecked)
            .collect();
        if !unchecked.is_empty() {
            let _ = writeln!(out, "\n  Not checked by vibeward; verify by hand:");
            for c in unchecked {
                let _ = writeln!(out, "  - {} {}: {}", c.id, c.title, manual_note(c));
            }
        }
        out.push('\n');
    }
    out.push_str(
        "A control with no findings is not a pass: vibeward's checks cover part of it, and the \
         rest is for people to verify.\n",
    );
    out
}

fn cell(s: &str) -> String {
    super::markdown::cell(s)
}

fn section_markdown(out: &mut String, heading: &str, section: Option<&Section>) {
    let _ = writeln!(out, "## {heading}\n");
    let Some(section) = section else {
        out.push_str("_Not computed by this version of vibeward._\n\n");
        return;
    };
    let _ = writeln!(out, "{}\n", cell(&section.summary));
    if section.columns.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| {} |\n|{}|",
        section
            .columns
            .iter()
            .map(|c| cell(c))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(section.columns.len())
    );
    for row in &section.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out.push('\n');
}

/// The whole document as Markdown.
pub fn render_markdown(doc: &Document) -> String {
    let mut out = String::from("# Security and compliance report\n\n");
    let _ = writeln!(
        out,
        "Scanned {} with vibeward {}: {} files, {} rules.\n",
        doc.scanned
            .iter()
            .map(|p| format!("`{}`", cell(p).replace('`', "'")))
            .collect::<Vec<_>>()
            .join(", "),
        doc.tool_version,
        doc.files_analysed,
        doc.rules_run
    );
    out.push_str("## Summary\n\n| severity | findings |\n|---|---:|\n");
    for s in Severity::ALL {
        let _ = writeln!(out, "| {s} | {} |", doc.findings.get(s));
    }
    if !doc.families.is_empty() {
        out.push_str("\n| family | critical | high | medium | low | info |\n|---|---:|---:|---:|---:|---:|\n");
        for (family, counts) in &doc.families {
            let _ = writeln!(
                out,
                "| {} | {} |",
                cell(family),
                Severity::ALL
                    .iter()
                    .map(|s| counts.get(*s).to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
    }
    out.push_str("\n## Standards coverage\n\n");
    out.push_str(
        "A control with no findings is not a pass: vibeward's checks cover part of it; the rest \
         is for people to verify.\n\n",
    );
    for coverage in &doc.standards {
        let _ = writeln!(out, "### {}\n\n{}.\n", coverage.name, tally(coverage));
        out.push_str("| control | title | status | findings | checks | verify by hand |\n|---|---|---|---|---|---|\n");
        for c in &coverage.controls {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&c.id),
                cell(&c.title),
                c.status.label(),
                c.findings.sentence(),
                cell(&checks_summary(&c.checks)),
                cell(&manual_note(c))
            );
        }
        out.push('\n');
    }
    section_markdown(&mut out, "Data map", doc.data_map.as_ref());
    section_markdown(&mut out, "Residency", doc.residency.as_ref());
    out.push_str("## Top findings\n\n");
    if doc.top_findings.is_empty() {
        out.push_str("No findings.\n\n");
    }
    for f in &doc.top_findings {
        let _ = writeln!(
            out,
            "### {} · {} (`{}`)\n\n`{}`: {}\n",
            f.severity,
            cell(&f.title),
            cell(&f.rule_id),
            cell(&f.location).replace('`', "'"),
            cell(&f.message)
        );
        let fence = if f.frame.iter().any(|l| l.contains("```")) {
            "~~~~"
        } else {
            "```"
        };
        let _ = writeln!(out, "{fence}");
        for (i, line) in f.frame.iter().enumerate() {
            let marker = if (f.highlight.0..=f.highlight.1).contains(&i) {
                '>'
            } else {
                ' '
            };
            let _ = writeln!(
                out,
                "{marker}{:>5} | {}",
                f.frame_start + i,
                escape_control(line)
            );
        }
        let _ = writeln!(out, "{fence}\n");
        if !f.fix.is_empty() {
            let _ = writeln!(out, "**Fix.** {}\n", escape_control(&f.fix));
        }
    }
    out.push_str("## Dependencies\n\n");
    match &doc.dependencies {
        None => out.push_str("_Not computed._\n\n"),
        Some(d) => {
            let _ = writeln!(
                out,
                "{} components from {} lockfile{} ({} development-only, {} with a recorded licence).\n",
                d.components,
                d.lockfiles.len(),
                if d.lockfiles.len() == 1 { "" } else { "s" },
                d.development_only,
                d.with_licence
            );
            for (ecosystem, n) in &d.by_ecosystem {
                let _ = writeln!(out, "- {}: {n}", cell(ecosystem));
            }
            if !d.findings_by_rule.is_empty() {
                out.push_str("\n| dependency check | findings |\n|---|---:|\n");
                for (rule, n) in &d.findings_by_rule {
                    let _ = writeln!(out, "| `{}` | {n} |", cell(rule));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The whole document as JSON (pretty, trailing newline).
pub fn render_json(doc: &Document) -> String {
    let mut s = serde_json::to_string_pretty(doc).expect("the document always serialises");
    s.push('\n');
    s
}

//! `vibeward report --format html`: one self-contained HTML document (inline CSS and SVG, no
//! script, no external asset, no network request) that a team can forward or print.
//!
//! Every value that comes from the scanned code, a rule or the file system goes through [`esc`]:
//! HTML-escaped, with terminal controls and bidirectional overrides made visible.

use std::fmt::Write as _;

use super::compliance::{checks_summary, manual_note, tally};
use super::escape_control;
use crate::compliance::{Document, Section, SeverityCounts, StandardCoverage, Status};
use crate::rules::Severity;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let text = escape_control(s);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#b3123a",
        Severity::High => "#d9480f",
        Severity::Medium => "#c98a00",
        Severity::Low => "#2f6fb3",
        Severity::Info => "#6b7280",
    }
}

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#fff;--soft:#f5f7fa;--accent:#3b4cca}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;color:var(--fg);background:var(--bg);font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;line-height:1.5}
main{max-width:1080px;margin:0 auto;padding:2.5rem 2rem 4rem}
h1{font-size:1.9rem;margin:0 0 .3rem;letter-spacing:-.01em}
h2{font-size:1.35rem;margin:2.6rem 0 .8rem;padding-bottom:.3rem;border-bottom:2px solid var(--line)}
h3{font-size:1.08rem;margin:1.8rem 0 .5rem}
p{margin:.4rem 0 .8rem}
.meta{color:var(--muted);margin-bottom:1.2rem}
nav ol{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;padding:0;margin:1rem 0 0;list-style:none}
nav a{color:var(--accent);text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:.7rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:8px;padding:.7rem .9rem;background:var(--soft)}
.card b{display:block;font-size:1.6rem;line-height:1.2}
.card span{color:var(--muted);text-transform:capitalize}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border-bottom:1px solid var(--line);padding:.38rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.id{white-space:nowrap;font-weight:600}
table.std th.sv{width:2.6rem;padding-left:.2rem;padding-right:.3rem}
table.std td:nth-child(2){min-width:9rem}
table.std td:last-child{min-width:16rem;color:#39414f}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.78rem;font-weight:600;color:#fff;white-space:nowrap}
.st-findings{background:#b3123a}.st-no-findings{background:#2e7d32}.st-not-checked{background:#8a94a6}
.sev{color:#fff}
details summary{cursor:pointer;color:var(--accent)}
details ul{margin:.3rem 0;padding-left:1.1rem;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem}
.note{border-left:4px solid var(--accent);background:var(--soft);padding:.6rem .9rem;border-radius:0 6px 6px 0}
.placeholder{color:var(--muted);font-style:italic}
.finding{border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;margin:1rem 0;page-break-inside:avoid;break-inside:avoid}
.finding h3{margin:0 0 .3rem}
.finding .loc{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;color:var(--muted);word-break:break-all}
pre{background:#f6f8fb;border:1px solid var(--line);border-radius:6px;padding:.5rem 0;overflow-x:auto;font-size:.8rem;line-height:1.45;margin:.5rem 0}
pre code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;display:block}
.ln{display:block;padding:0 .8rem;white-space:pre}
.ln i{display:inline-block;width:3.2rem;color:#98a1b2;font-style:normal;user-select:none}
.ln.hl{background:#fff1f2;box-shadow:inset 3px 0 #b3123a}
.fix{white-space:pre-wrap;font-size:.9rem;margin:.4rem 0 0}
.chart{margin:.5rem 0 1rem}
footer{margin-top:3rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);padding-top:1rem}
@media (max-width:720px){.cards{grid-template-columns:repeat(2,1fr)}main{padding:1.2rem}}
@media print{
  html{font-size:10.5pt}
  main{max-width:none;padding:0}
  nav{display:none}
  h2{page-break-after:avoid;break-after:avoid}
  tr,.finding,.card{page-break-inside:avoid;break-inside:avoid}
  thead{display:table-header-group}
  a{color:inherit;text-decoration:none}
  .badge,.card,th,.ln.hl{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  pre{white-space:pre-wrap;word-break:break-all}
  @page{margin:16mm 14mm}
}
"#;

/// Renders the document as one HTML page (ends with a newline).
pub fn render(doc: &Document) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // no script, style or image may come from anywhere but this document
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    out.push_str("<title>Security and compliance report</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    header(&mut out, doc);
    summary(&mut out, doc);
    standards(&mut out, doc);
    section(
        &mut out,
        "data-map",
        "Data map",
        doc.data_map.as_ref(),
        "Which tables, classes and collections hold personal data, who can read or write them, and which third parties receive it.",
    );
    section(
        &mut out,
        "residency",
        "Residency",
        doc.residency.as_ref(),
        "Region settings in code and configuration, against the regions the team allows.",
    );
    top_findings(&mut out, doc);
    dependencies(&mut out, doc);
    let _ = write!(
        out,
        "<footer>Written by vibeward {}, a static scanner: it reads code and configuration, runs \
         nothing and sends nothing anywhere. A control listed with no findings is not a pass; \
         controls marked “not checked by vibeward” need a person to verify them. Secrets in code \
         frames are redacted.</footer>\n</main>\n</body>\n</html>\n",
        esc(&doc.tool_version)
    );
    out
}

fn header(out: &mut String, doc: &Document) {
    let scanned = doc
        .scanned
        .iter()
        .map(|p| format!("<code>{}</code>", esc(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        out,
        "<header>\n<h1>Security and compliance report</h1>\n<p class=\"meta\">Scanned {scanned} \
         with vibeward {} · {} files analysed · {} rules</p>\n",
        esc(&doc.tool_version),
        doc.files_analysed,
        doc.rules_run
    );
    out.push_str(
        "<nav><ol><li><a href=\"#summary\">Summary</a></li><li><a href=\"#standards\">Standards \
         coverage</a></li><li><a href=\"#data-map\">Data map</a></li><li><a \
         href=\"#residency\">Residency</a></li><li><a href=\"#findings\">Top findings</a></li>\
         <li><a href=\"#dependencies\">Dependencies</a></li></ol></nav>\n</header>\n",
    );
}

/// A horizontal bar per severity, scaled to the largest count.
fn severity_chart(counts: &SeverityCounts) -> String {
    const WIDTH: usize = 640;
    const LABEL: usize = 90;
    const BAR: usize = 22;
    const GAP: usize = 8;
    let max = Severity::ALL
        .iter()
        .map(|s| counts.get(*s))
        .max()
        .unwrap_or(0)
        .max(1);
    let height = Severity::ALL.len() * (BAR + GAP);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"Findings by severity\" \
         xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 {WIDTH} {height}\" \
         style=\"max-width:{WIDTH}px\">"
    );
    for (i, s) in Severity::ALL.iter().enumerate() {
        let n = counts.get(*s);
        let y = i * (BAR + GAP);
        let room = WIDTH - LABEL - 60;
        let w = if n == 0 { 0 } else { (n * room / max).max(2) };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\" fill=\"#1d2330\">{s}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{room}\" height=\"{BAR}\" rx=\"4\" fill=\"#eef1f5\"/>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{BAR}\" rx=\"4\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"#1d2330\">{n}</text>",
            y + BAR - 6,
            color(*s),
            LABEL + room + 8,
            y + BAR - 6,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn severity_header(out: &mut String, short: bool) {
    for s in Severity::ALL {
        let name = if short {
            match s {
                Severity::Critical => "crit",
                Severity::Medium => "med",
                other => other.as_str(),
            }
        } else {
            s.as_str()
        };
        let _ = write!(out, "<th class=\"n sv\" title=\"{s}\">{name}</th>");
    }
}

fn severity_cells(out: &mut String, counts: &SeverityCounts) {
    for s in Severity::ALL {
        let _ = write!(out, "<td class=\"n\">{}</td>", counts.get(s));
    }
}

fn summary(out: &mut String, doc: &Document) {
    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    let _ = write!(
        out,
        "<p>{} finding{} in {} files.</p>\n<div class=\"cards\">",
        doc.findings.total(),
        if doc.findings.total() == 1 { "" } else { "s" },
        doc.files_analysed
    );
    for s in Severity::ALL {
        let _ = write!(
            out,
            "<div class=\"card\" style=\"border-top:4px solid {}\"><b>{}</b><span>{s}</span></div>",
            color(s),
            doc.findings.get(s)
        );
    }
    out.push_str("</div>\n");
    out.push_str(&severity_chart(&doc.findings));
    out.push('\n');
    if !doc.families.is_empty() {
        out.push_str("<h3>By family</h3>\n<table><thead><tr><th>family</th>");
        severity_header(out, false);
        out.push_str("<th class=\"n\">total</th></tr></thead><tbody>\n");
        for (family, counts) in &doc.families {
            let _ = write!(out, "<tr><td class=\"id\">{}</td>", esc(family));
            severity_cells(out, counts);
            let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", counts.total());
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
}

fn status_badge(status: Status) -> String {
    let class = match status {
        Status::Findings => "st-findings",
        Status::NoFindings => "st-no-findings",
        Status::NotChecked => "st-not-checked",
    };
    format!("<span class=\"badge {class}\">{}</span>", status.label())
}

fn standards(out: &mut String, doc: &Document) {
    out.push_str("<section id=\"standards\">\n<h2>Standards coverage</h2>\n");
    out.push_str(
        "<p class=\"note\">vibeward maps each of its checks to the controls it tests part of. A \
         control whose checks found nothing is <em>not</em> a pass: the checks see what a static \
         scan can see. Controls no check covers are listed as <strong>not checked by \
         vibeward</strong>, with what to verify by hand.</p>\n",
    );
    out.push_str("<table><thead><tr><th>standard</th><th class=\"n\">controls</th><th class=\"n\">with findings</th><th class=\"n\">checked, no findings</th><th class=\"n\">not checked</th></tr></thead><tbody>\n");
    for c in &doc.standards {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#std-{}\">{}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            c.standard.as_str(),
            esc(&c.name),
            c.controls.len(),
            c.count(Status::Findings),
            c.count(Status::NoFindings),
            c.count(Status::NotChecked)
        );
    }
    out.push_str("</tbody></table>\n");
    for c in &doc.standards {
        standard_table(out, c);
    }
    out.push_str("</section>\n");
}

fn standard_table(out: &mut String, coverage: &StandardCoverage) {
    let _ = write!(
        out,
        "<h3 id=\"std-{}\">{}</h3>\n<p>{}. Source: <a href=\"{}\">{}</a>.</p>\n",
        coverage.standard.as_str(),
        esc(&coverage.name),
        esc(&tally(coverage)),
        esc(&coverage.uri),
        esc(&coverage.uri)
    );
    out.push_str("<table class=\"std\"><thead><tr><th>control</th><th>title</th><th>status</th>");
    severity_header(out, true);
    out.push_str("<th>checks</th><th>verify by hand</th></tr></thead><tbody>\n");
    for c in &coverage.controls {
        let _ = write!(
            out,
            "<tr><td class=\"id\">{}</td><td>{}</td><td>{}</td>",
            esc(&c.id),
            esc(&c.title),
            status_badge(c.status)
        );
        severity_cells(out, &c.findings);
        out.push_str("<td>");
        if c.checks.is_empty() {
            out.push('—');
        } else {
            let _ = write!(
                out,
                "<details><summary>{}</summary><ul>",
                esc(&checks_summary(&c.checks))
            );
            for id in &c.checks {
                let _ = write!(out, "<li>{}</li>", esc(id));
            }
            out.push_str("</ul></details>");
        }
        let _ = writeln!(out, "</td><td>{}</td></tr>", esc(&manual_note(c)));
    }
    out.push_str("</tbody></table>\n");
}

fn section(out: &mut String, id: &str, title: &str, section: Option<&Section>, what: &str) {
    let _ = write!(
        out,
        "<section id=\"{id}\">\n<h2>{title}</h2>\n<p>{what}</p>\n"
    );
    match section {
        None => {
            out.push_str(
                "<p class=\"placeholder\">Not computed by this version of vibeward.</p>\n",
            );
        }
        Some(s) => {
            let _ = writeln!(out, "<p>{}</p>", esc(&s.summary));
            if !s.columns.is_empty() {
                out.push_str("<table><thead><tr>");
                for c in &s.columns {
                    let _ = write!(out, "<th>{}</th>", esc(c));
                }
                out.push_str("</tr></thead><tbody>\n");
                for row in &s.rows {
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<td>{}</td>", esc(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
        }
    }
    out.push_str("</section>\n");
}

fn top_findings(out: &mut String, doc: &Document) {
    out.push_str("<section id=\"findings\">\n<h2>Top findings</h2>\n");
    if doc.top_findings.is_empty() {
        out.push_str("<p>No findings.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p>The {} most severe of {} findings; <code>vibeward scan</code> lists them all.</p>",
        doc.top_findings.len(),
        doc.findings.total()
    );
    for f in &doc.top_findings {
        let _ = write!(
            out,
            "<article class=\"finding\"><h3><span class=\"badge sev\" style=\"background:{}\">{}</span> {}</h3>\
             <div class=\"loc\">{} · {}</div><p>{}</p><pre><code>",
            color(f.severity),
            f.severity,
            esc(&f.title),
            esc(&f.location),
            esc(&f.rule_id),
            esc(&f.message)
        );
        for (i, line) in f.frame.iter().enumerate() {
            let hl = if (f.highlight.0..=f.highlight.1).contains(&i) {
                " hl"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<span class=\"ln{hl}\"><i>{}</i>{}</span>",
                f.frame_start + i,
                esc(line)
            );
        }
        out.push_str("</code></pre>");
        if !f.fix.is_empty() {
            let _ = write!(
                out,
                "<p><strong>Fix</strong></p><div class=\"fix\">{}</div>",
                esc(&f.fix)
            );
        }
        let refs: Vec<&str> = f.cwe.iter().chain(&f.owasp).map(String::as_str).collect();
        if !refs.is_empty() {
            let _ = write!(out, "<div class=\"loc\">{}</div>", esc(&refs.join(" · ")));
        }
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

fn dependencies(out: &mut String, doc: &Document) {
    out.push_str("<section id=\"dependencies\">\n<h2>Dependencies</h2>\n");
    let Some(d) = &doc.dependencies else {
        out.push_str("<p class=\"placeholder\">Not computed.</p>\n</section>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p>{} components from {} lockfile{} (the SBOM <code>vibeward sbom</code> writes).</p>",
        d.components,
        d.lockfiles.len(),
        if d.lockfiles.len() == 1 { "" } else { "s" }
    );
    out.push_str(
        "<table><thead><tr><th>SBOM</th><th class=\"n\">components</th></tr></thead><tbody>\n",
    );
    for (ecosystem, n) in &d.by_ecosystem {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(ecosystem)
        );
    }
    let _ = writeln!(
        out,
        "<tr><td>development only</td><td class=\"n\">{}</td></tr><tr><td>with a recorded licence</td><td class=\"n\">{}</td></tr><tr><td>unreadable lockfiles</td><td class=\"n\">{}</td></tr>",
        d.development_only, d.with_licence, d.unreadable
    );
    out.push_str("</tbody></table>\n");
    if d.findings_by_rule.is_empty() {
        out.push_str("<p>No dependency findings.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>dependency check</th><th class=\"n\">findings</th></tr></thead><tbody>\n");
        for (rule, n) in &d.findings_by_rule {
            let _ = writeln!(
                out,
                "<tr><td class=\"id\">{}</td><td class=\"n\">{n}</td></tr>",
                esc(rule)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !d.lockfiles.is_empty() {
        out.push_str("<details><summary>Lockfiles read</summary><ul>");
        for l in &d.lockfiles {
            let _ = write!(out, "<li>{}</li>", esc(l));
        }
        out.push_str("</ul></details>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn scanned_text_cannot_inject_markup() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"\u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;&lt;U+202E&gt;"
        );
    }
}

//! Plain-text and Markdown renderings of the [`DataMap`] (JSON is its serde form).

use std::fmt::Write as _;

use super::DataMap;
use super::data_map::Location;

fn at(locations: &[Location]) -> String {
    let mut shown: Vec<String> = locations
        .iter()
        .take(5)
        .map(|l| format!("{}:{}", l.path, l.line))
        .collect();
    if locations.len() > 5 {
        shown.push(format!("and {} more", locations.len() - 5));
    }
    shown.join(", ")
}

fn region_text(e: &super::data_map::ResidencyEntry) -> (String, String) {
    let region = e.region.clone().unwrap_or_else(|| {
        format!(
            "unresolved (`{}`)",
            e.expression.as_deref().unwrap_or_default()
        )
    });
    let status = e.status.map_or_else(
        || "not checked (no [compliance] regions)".to_string(),
        |s| format!("{s:?}").to_ascii_lowercase(),
    );
    (region, status)
}

/// The data map as plain text, for terminals.
pub fn text(map: &DataMap) -> String {
    let mut out = String::from("Personal data stores\n");
    if map.stores.is_empty() {
        out.push_str("  none found\n");
    }
    for s in &map.stores {
        let fields: Vec<String> = s
            .fields
            .iter()
            .map(|f| format!("{} ({})", f.name, f.data_type))
            .collect();
        let _ = writeln!(
            out,
            "  {} `{}` at {}:{}\n    fields: {}\n    read: {}; write: {} [{}]",
            s.kind,
            s.name,
            s.location.path,
            s.location.line,
            fields.join(", "),
            s.access.read,
            s.access.write,
            s.access.basis
        );
    }
    out.push_str("\nRecipients of personal data\n");
    if map.recipients.is_empty() {
        out.push_str("  none found\n");
    }
    for r in &map.recipients {
        let _ = writeln!(
            out,
            "  {}: {}\n    at {}",
            r.name,
            r.data_types.join(", "),
            at(&r.locations)
        );
    }
    out.push_str("\nData residency\n");
    if map.residency.is_empty() {
        out.push_str("  no region settings found\n");
    }
    for e in &map.residency {
        let (region, status) = region_text(e);
        let _ = writeln!(
            out,
            "  {}: {} -> {} ({}:{})",
            e.service, region, status, e.location.path, e.location.line
        );
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The data map as Markdown tables.
pub fn markdown(map: &DataMap) -> String {
    let mut out = String::from("## Data map\n\n### Personal data stores\n\n");
    if map.stores.is_empty() {
        out.push_str("None found.\n");
    } else {
        out.push_str("| Store | Kind | Personal data | Read | Write | Basis | Defined at |\n|---|---|---|---|---|---|---|\n");
        for s in &map.stores {
            let fields: Vec<String> = s
                .fields
                .iter()
                .map(|f| format!("`{}` ({})", f.name, f.data_type))
                .collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | `{}:{}` |",
                cell(&s.name),
                s.kind,
                cell(&fields.join(", ")),
                s.access.read,
                s.access.write,
                cell(&s.access.basis),
                s.location.path,
                s.location.line
            );
        }
    }
    out.push_str("\n### Recipients of personal data\n\n");
    if map.recipients.is_empty() {
        out.push_str("None found.\n");
    } else {
        out.push_str("| Recipient | Data types | Where |\n|---|---|---|\n");
        for r in &map.recipients {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                r.name,
                r.data_types.join(", "),
                cell(&at(&r.locations))
            );
        }
    }
    out.push_str("\n### Data residency\n\n");
    if map.residency.is_empty() {
        out.push_str("No region settings found.\n");
    } else {
        out.push_str("| Service | Region | Status | Where |\n|---|---|---|---|\n");
        for e in &map.residency {
            let (region, status) = region_text(e);
            let _ = writeln!(
                out,
                "| {} | {} | {} | `{}:{}` |",
                e.service,
                cell(&region),
                status,
                e.location.path,
                e.location.line
            );
        }
    }
    out
}

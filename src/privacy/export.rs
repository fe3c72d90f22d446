//! Data exports in the repository: a JSON, CSV, SQL or similar data file that holds the e-mail
//! addresses of many people, the way a table dump, a CRM export or a debugging snapshot of
//! production rows ends up committed next to the code.
//!
//! The judgement is by counting: distinct addresses whose domain is not a documentation or
//! placeholder domain (`example.com`, `*.test`, `localhost`, ...). Files that are meant to hold
//! synthetic people (seed, mock, fixture and test file names; the rule's `paths` exclude such folders) and files that list the
//! project's own people (package manifests, `AUTHORS`, `CONTRIBUTORS`) are not data exports.
//! No address is ever printed: the message gives counts and the most frequent domains, and the
//! snippet masks the first address.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::discover::FileKind;

/// Fewer distinct real-looking addresses than this is a contact list or a config, not an export.
pub const MIN_ADDRESSES: usize = 10;

/// What a data file holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Export {
    /// Distinct addresses with a real-looking domain.
    pub addresses: usize,
    /// The most frequent domains, most frequent first (ties by name), at most three.
    pub top_domains: Vec<String>,
    /// Distinct domains.
    pub domains: usize,
    /// Byte range of the first counted address.
    pub first: Range<usize>,
}

/// Names of files that list the project's own people, not its users.
const OWN_PEOPLE: &[&str] = &[
    "package.json",
    "composer.json",
    "bower.json",
    ".all-contributorsrc",
    "authors",
    "contributors",
    "maintainers",
    "mailmap",
    "changelog",
    "license",
    "notice",
    "readme",
    "codeowners",
];
/// File names of synthetic people (folders such as `seed/`, `__mocks__/`, `tests/` are excluded
/// by the rule's `paths`, which users can change).
const SYNTHETIC: &[&str] = &[
    "seed", "mock", "fake", "fixture", "sample", "demo", "dummy", "example", "test", "stub",
];

/// Whether a file of this kind and display path can be a data export at all.
pub fn is_data_file(kind: FileKind, display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let data_kind = match kind {
        FileKind::Json | FileKind::Sql => true,
        FileKind::Text => matches!(ext, "csv" | "tsv" | "jsonl" | "ndjson" | "txt" | "dump"),
        _ => false,
    };
    if !data_kind {
        return false;
    }
    if OWN_PEOPLE.iter().any(|p| name.contains(p)) {
        return false;
    }
    !SYNTHETIC.iter().any(|s| name.contains(s))
}

/// Counts the real-looking addresses of a data file; `None` below [`MIN_ADDRESSES`].
pub fn judge(text: &str) -> Option<Export> {
    static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?:^|[^A-Za-z0-9._%+\-:/@])([A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))\b",
        )
        .expect("the address pattern is valid")
    });
    memchr::memchr(b'@', text.as_bytes())?;
    let mut addresses = BTreeSet::new();
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    let mut first = None;
    for caps in EMAIL.captures_iter(text) {
        let (Some(local), Some(domain), Some(tld)) = (caps.get(1), caps.get(2), caps.get(3)) else {
            continue;
        };
        let domain_name = domain.as_str().to_ascii_lowercase();
        if is_placeholder_domain(&domain_name, &tld.as_str().to_ascii_lowercase()) {
            continue;
        }
        let address = format!("{}@{domain_name}", local.as_str().to_ascii_lowercase());
        if addresses.insert(address) {
            *domains.entry(domain_name).or_default() += 1;
            first.get_or_insert(local.start()..domain.end());
        }
    }
    if addresses.len() < MIN_ADDRESSES {
        return None;
    }
    let mut ranked: Vec<(&String, &usize)> = domains.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    Some(Export {
        addresses: addresses.len(),
        top_domains: ranked.iter().take(3).map(|(d, _)| (*d).clone()).collect(),
        domains: domains.len(),
        first: first.unwrap_or_default(),
    })
}

/// Documentation, reserved and placeholder domains, and "domains" that are file names
/// (`logo@2x.png`) or package versions.
fn is_placeholder_domain(domain: &str, tld: &str) -> bool {
    const FILE_EXTENSIONS: &[&str] = &[
        "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "js", "mjs", "cjs", "ts", "tsx",
        "jsx", "css", "scss", "json", "map", "html", "htm", "md", "txt", "woff", "woff2", "ttf",
    ];
    const RESERVED_TLDS: &[&str] = &[
        "test",
        "example",
        "invalid",
        "localhost",
        "local",
        "internal",
    ];
    const PLACEHOLDERS: &[&str] = &[
        "example.com",
        "example.org",
        "example.net",
        "email.com",
        "domain.com",
        "company.com",
        "yourdomain.com",
        "your-domain.com",
        "mydomain.com",
        "yourcompany.com",
        "acme.com",
        "foo.com",
        "bar.com",
        "test.com",
        "sentry.io",
        "users.noreply.github.com",
    ];
    FILE_EXTENSIONS.contains(&tld)
        || RESERVED_TLDS.contains(&tld)
        || PLACEHOLDERS.iter().any(|p| {
            domain
                .strip_suffix(p)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
        })
        || domain.starts_with("example.")
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn rows(domain: &str, n: usize) -> String {
        let mut out = String::new();
        for i in 0..n {
            let _ = writeln!(
                out,
                "{{\"id\": {i}, \"email\": \"person{i}.name@{domain}\"}},"
            );
        }
        out
    }

    #[test]
    fn counts_distinct_real_looking_addresses() {
        let text = format!("[\n{}{}]", rows("gmail.com", 8), rows("outlook.com", 4));
        let export = judge(&text).expect("an export");
        assert_eq!(export.addresses, 12);
        assert_eq!(export.domains, 2);
        assert_eq!(export.top_domains, vec!["gmail.com", "outlook.com"]);
        assert_eq!(&text[export.first.clone()], "person0.name@gmail.com");
    }

    #[test]
    fn placeholders_files_and_urls_do_not_count() {
        let mut text = rows("example.com", 20);
        text.push_str(&rows("acme.test", 20));
        text.push_str(
            "\"icon\": \"logo@2x.png\", \"db\": \"postgres://user:pw@db.internal.net/x\"\n",
        );
        text.push_str(&rows("gmail.com", 9));
        assert_eq!(judge(&text), None);
    }

    #[test]
    fn seed_and_manifest_files_are_not_exports() {
        assert!(is_data_file(FileKind::Json, "profiles.json"));
        assert!(is_data_file(FileKind::Text, "exports/customers.csv"));
        assert!(is_data_file(FileKind::Sql, "backup/dump.sql"));
        assert!(!is_data_file(FileKind::Sql, "supabase/seed.sql"));
        assert!(!is_data_file(FileKind::Json, "src/data/mock-users.json"));
        assert!(!is_data_file(FileKind::Text, "users_sample.csv"));
        assert!(!is_data_file(FileKind::Json, "package.json"));
        assert!(!is_data_file(FileKind::Text, "AUTHORS.txt"));
        assert!(!is_data_file(FileKind::Js, "users.js"));
    }
}

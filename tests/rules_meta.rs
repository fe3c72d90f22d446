//! Properties every rule must have, checked over the whole embedded set (oxc / semgrep style).

use vibeward::discover::FileKind;
use vibeward::rules::{RuleSet, load_builtin_rules};
use vibeward::source::SourceFile;
use vibeward::{Scanner, Settings};

const HEADINGS: [&str; 4] = [
    "## What it detects",
    "## Why it matters",
    "## How to fix",
    "## References",
];

fn rules() -> RuleSet {
    RuleSet::new(load_builtin_rules().expect("embedded rules load")).expect("ids are unique")
}

#[test]
fn there_are_at_least_25_rules() {
    assert!(rules().len() >= 25, "only {} rules", rules().len());
}

#[test]
fn every_rule_documents_itself_under_the_four_headings() {
    let mut problems = Vec::new();
    for rule in rules().rules() {
        for heading in HEADINGS {
            if !rule.help.contains(heading) {
                problems.push(format!("{}: help lacks `{heading}`", rule.id));
            }
        }
        if rule.cwe.is_empty() {
            problems.push(format!("{}: no CWE", rule.id));
        }
        if rule.owasp.is_empty() {
            problems.push(format!("{}: no OWASP category", rule.id));
        }
        if rule.message.ends_with('.') {
            problems.push(format!("{}: message ends with a period", rule.id));
        }
        let name = rule.id.split_once('.').map_or("", |(_, n)| n);
        if ["no-", "avoid-", "disallow-"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            problems.push(format!("{}: names the cure, not the pattern", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_standards_id_is_in_a_catalogue() {
    let mut problems = Vec::new();
    for rule in rules().rules() {
        for id in vibeward::compliance::unknown_ids(rule) {
            problems.push(format!(
                "{}: {id} is in no catalogue under standards/ (add it there, or fix the id)",
                rule.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_has_a_cwe_and_an_owasp_category_of_a_catalogue() {
    use vibeward::compliance::Standard;
    let mut problems = Vec::new();
    for rule in rules().rules() {
        if rule.cwe.is_empty() {
            problems.push(format!("{}: no CWE", rule.id));
        }
        let owasp = [
            Standard::Owasp2021,
            Standard::OwaspApi2023,
            Standard::OwaspLlm2025,
        ]
        .iter()
        .any(|s| !s.controls_of(rule).is_empty());
        if !owasp {
            problems.push(format!("{}: no OWASP Top 10, API or LLM category", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_rule_files_open_access_under_cwe_732_alone_or_prompt_injection_elsewhere_than_cwe_1427() {
    // CWE-284 and CWE-732 are classes; a rule that finds data open to everyone names the
    // weakness it finds (missing authorization, exposure) too (issue #24)
    let mut problems = Vec::new();
    for rule in rules().rules() {
        if let [only] = rule.cwe.as_slice()
            && only == "CWE-732"
        {
            problems.push(format!("{}: CWE-732 only", rule.id));
        }
        if rule.owasp.iter().any(|o| o == "LLM01:2025") && !rule.cwe.iter().any(|c| c == "CWE-1427")
        {
            problems.push(format!("{}: prompt injection is CWE-1427", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn example_kind(rule: &vibeward::rules::Rule) -> (String, FileKind) {
    if let Some(file) = &rule.examples.file {
        let kind = FileKind::classify(std::path::Path::new(file)).unwrap_or(FileKind::Text);
        return (file.clone(), kind);
    }
    let kind = rule.languages[0];
    let ext = match kind {
        FileKind::Js | FileKind::Any => "js",
        FileKind::Ts => "ts",
        FileKind::Tsx => "tsx",
        FileKind::Json => "json",
        FileKind::Yaml => "yaml",
        FileKind::Toml => "toml",
        FileKind::Sql => "sql",
        _ => "txt",
    };
    let kind = if kind == FileKind::Any {
        FileKind::Js
    } else {
        kind
    };
    (format!("example.{ext}"), kind)
}

/// Project-pass rules (a manifest without its lockfile, ...) only fire on a whole scan: write the
/// example into an empty folder and scan it as users do.
fn fires_as_project(scanner: &Scanner, name: &str, code: &str, id: &str) -> bool {
    let dir = tempfile::Builder::new()
        .prefix("vibeward-example")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("example folder created");
    }
    std::fs::write(&path, code).expect("example written");
    let report = scanner.scan(&[path]).expect("example scanned");
    report.findings.iter().any(|f| f.rule_id == id)
}

#[test]
fn examples_behave_as_documented() {
    // residency rules run only when allowed regions are configured
    let settings = Settings {
        regions: vec!["eu-*".into(), "europe-*".into()],
        ..Settings::default()
    };
    let scanner = Scanner::new(&settings).expect("rules load");
    let engine = scanner.engine();
    let mut problems = Vec::new();
    for rule in engine.rules().rules() {
        let (name, kind) = example_kind(rule);
        for (code, must_fire) in [(&rule.examples.bad, true), (&rule.examples.good, false)] {
            let Some(code) = code else { continue };
            let file = SourceFile::new(name.clone(), kind, code.clone());
            let (findings, _) = scanner.scan_file(file);
            // a finding of a rule that supersedes this one (same line) stands in for it
            let fired = findings.iter().any(|f| {
                f.rule_id == rule.id
                    || (must_fire
                        && engine
                            .rules()
                            .get(&f.rule_id)
                            .is_some_and(|r| r.supersedes.contains(&rule.id)))
            }) || fires_as_project(&scanner, &name, code, &rule.id);
            if fired != must_fire {
                problems.push(format!(
                    "{}: `{}` example {}",
                    rule.id,
                    if must_fire { "bad" } else { "good" },
                    if must_fire {
                        "is not flagged"
                    } else {
                        "is flagged"
                    }
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_has_examples() {
    let missing: Vec<_> = rules()
        .rules()
        .iter()
        .filter(|r| r.examples.bad.is_none() || r.examples.good.is_none())
        .map(|r| r.id.clone())
        .collect();
    assert!(
        missing.is_empty(),
        "rules without bad/good examples: {missing:?}"
    );
}

#[test]
fn a_broken_rule_names_the_file_and_field() {
    let text = "id: code.x\ntitle: t\nseverity: severe\nconfidence: high\ncwe: [CWE-1]\nowasp: [\"A01:2021\"]\nlanguages: [js]\ntriggers: [x]\nmessage: m\nhelp: h\nmatch: { query: '(identifier) @hit' }\n";
    let err = vibeward::rules::load::parse_rule("my-rules/x.yaml", text, false).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("my-rules/x.yaml") && msg.contains("severity"),
        "{msg}"
    );
}

#[test]
fn every_builtin_query_runs_on_the_native_matcher() {
    // A query the native matcher cannot run falls back to a tree-sitter query, which costs a
    // walk of every tree on its own: builtin rules stay on the fast path.
    let rules = rules();
    let slow: Vec<&str> = rules
        .rules()
        .iter()
        .filter(|r| match &r.matcher {
            vibeward::rules::Matcher::Query(q) => !q.runs_natively(),
            vibeward::rules::Matcher::Spec { .. } => false,
        })
        .map(|r| r.id.as_str())
        .collect();
    assert!(slow.is_empty(), "queries not supported natively: {slow:?}");
}

#[test]
fn every_builtin_secret_regex_compiles() {
    // Secret regexes are syntax-checked at load and compiled on first use; a builtin one that
    // failed to compile (size limit) would silently find nothing.
    let rules = rules();
    let mut checked = 0;
    for (idx, rule) in rules.rules().iter().enumerate() {
        let vibeward::rules::Matcher::Spec { kind, spec } = &rule.matcher else {
            continue;
        };
        if *kind != vibeward::rules::MatcherKind::Secret {
            continue;
        }
        let detector = vibeward::secrets::spec::compile(rule, idx, spec).expect("spec compiles");
        if let vibeward::secrets::spec::Kind::Regex(r) = &detector.kind {
            assert!(
                r.regex.get().is_some(),
                "{}: regex does not compile",
                rule.id
            );
            let lists = [&r.allow, &r.allow_match, &r.weak, &r.local_match];
            for a in lists.into_iter().flatten() {
                assert!(
                    a.get().is_some(),
                    "{}: allow regex does not compile",
                    rule.id
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 80, "only {checked} secret regexes checked");
}

#[test]
fn every_builtin_query_compiles_with_its_constraint_regexes() {
    // Embedded query rules are compiled on first use, their `where` regexes too; one that did not
    // compile (a grammar change, the regex size limit) would silently find nothing.
    let rules = rules();
    let mut checked = 0;
    for rule in rules.rules() {
        if let vibeward::rules::Matcher::Query(query) = &rule.matcher {
            if let Err(e) = query.check_compiles() {
                panic!("{}: {e}", rule.id);
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} query rules checked");
}

//! The trigger prefilter: one Aho-Corasick pass over a file decides which rules run on it.
//!
//! Every rule lists literal trigger strings; a rule whose triggers all miss a file is not run on it,
//! and a file that no tree-needing rule survives for is never parsed. A rule may add
//! `and-triggers`, of which the file must contain one as well.
//!
//! The automaton is built when the first file is checked; with user rules it is built at once, so
//! a trigger list past the automaton's limits is a load error naming the rule. It starts as a
//! contiguous NFA and becomes a DFA once the scan has read enough to pay for one (issue 22: for
//! the embedded triggers the DFA took 7 ms to build, the NFA under 1 ms, and the DFA scans about
//! 10 ms per MiB faster). Both report the same matches, so the choice never changes a result.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::rules::{RuleError, RuleSet};

/// Bytes of text after which the prefilter builds its DFA: at about 10 ms saved per MiB against
/// 7 ms to build (embedded triggers, issue 22), it pays for itself within the next MiB.
const DFA_AFTER_BYTES: usize = 1 << 20;

/// Compiled triggers of a rule set.
#[derive(Debug)]
pub struct Prefilter {
    /// The distinct trigger strings, in first-seen order (pattern ids of the automaton).
    patterns: Vec<String>,
    /// The NFA, built on first use (or at once, see the module docs); `None` when there are no
    /// patterns.
    automaton: OnceLock<Option<AhoCorasick>>,
    /// The DFA, built once [`DFA_AFTER_BYTES`] have been scanned; `None` when it cannot be built
    /// (past its size limit) or there are no patterns.
    dfa: OnceLock<Option<AhoCorasick>>,
    /// Bytes of text checked so far, over all threads.
    scanned: AtomicUsize,
    /// For each pattern, the rules it triggers.
    pattern_rules: Vec<Vec<usize>>,
    /// For each pattern, the rules whose `and-triggers` it satisfies.
    pattern_and_rules: Vec<Vec<usize>>,
    /// Rules with `and-triggers`.
    needs_and: Vec<usize>,
    /// Rules with no triggers: always active.
    always: Vec<usize>,
    rule_count: usize,
}

impl Prefilter {
    /// Gathers every rule's triggers (the automaton is built on first use, or at once when the
    /// set holds user rules). Fails (naming the rule file) only when
    /// the triggers are too many or too long for the automaton's limits.
    pub fn new(rules: &RuleSet) -> Result<Self, RuleError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut pattern_and_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut needs_and = Vec::new();
        // pattern id by trigger (a linear search per trigger was quadratic in their number)
        let mut ids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (idx, rule) in rules.rules().iter().enumerate() {
            if rule.triggers.is_empty() {
                always.push(idx);
            }
            if !rule.and_triggers.is_empty() {
                needs_and.push(idx);
            }
            let words = rule.triggers.iter().map(|t| (t, false));
            for (trigger, is_and) in words.chain(rule.and_triggers.iter().map(|t| (t, true))) {
                let p = *ids.entry(trigger.as_str()).or_insert_with(|| {
                    patterns.push(trigger.clone());
                    pattern_rules.push(Vec::new());
                    pattern_and_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if is_and {
                    pattern_and_rules[p].push(idx);
                } else {
                    pattern_rules[p].push(idx);
                }
            }
        }
        let prefilter = Prefilter {
            patterns,
            automaton: OnceLock::new(),
            dfa: OnceLock::new(),
            scanned: AtomicUsize::new(0),
            pattern_rules,
            pattern_and_rules,
            needs_and,
            always,
            rule_count: rules.len(),
        };
        if !rules.rules().iter().all(|r| r.embedded) {
            let automaton = prefilter.build().map_err(|e| {
                let rule = rules.rules().iter().max_by_key(|r| {
                    r.triggers.iter().chain(&r.and_triggers).map(String::len).sum::<usize>()
                });
                RuleError::Field {
                    source_name: rule.map(|r| r.source.clone()).unwrap_or_default(),
                    id: rule.map(|r| r.id.clone()).unwrap_or_default(),
                    field: "triggers".into(),
                    message: format!("the triggers cannot be compiled ({e}); list fewer or shorter literal strings"),
                }
            })?;
            let _ = prefilter.automaton.set(automaton);
        }
        Ok(prefilter)
    }

    /// Compiles the NFA of every trigger (`None` when there are none).
    fn build(&self) -> Result<Option<AhoCorasick>, aho_corasick::BuildError> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        // user rules can hold any number of triggers; past the contiguous NFA's limits the
        // noncontiguous one takes over
        self.build_kind(AhoCorasickKind::ContiguousNFA)
            .or_else(|_| self.build_kind(AhoCorasickKind::NoncontiguousNFA))
            .map(Some)
    }

    fn build_kind(&self, kind: AhoCorasickKind) -> Result<AhoCorasick, aho_corasick::BuildError> {
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&self.patterns)
    }

    /// The NFA, built on first use.
    fn automaton(&self) -> Option<&AhoCorasick> {
        self.automaton
            .get_or_init(|| {
                // embedded triggers are a few hundred short words (user rules are built at once)
                self.build()
                    .expect("the embedded rules' triggers fit the automaton's limits")
            })
            .as_ref()
    }

    /// The automaton to check `text` with: the NFA until the scan has read [`DFA_AFTER_BYTES`],
    /// then the DFA (the NFA again if the DFA is past its size limit).
    fn automaton_for(&self, text: &str) -> Option<&AhoCorasick> {
        let nfa = self.automaton()?;
        let scanned = self.scanned.fetch_add(text.len(), Ordering::Relaxed) + text.len();
        if scanned < DFA_AFTER_BYTES {
            return Some(nfa);
        }
        let dfa = self
            .dfa
            .get_or_init(|| self.build_kind(AhoCorasickKind::DFA).ok());
        Some(dfa.as_ref().unwrap_or(nfa))
    }

    /// Which rules have a trigger in `text` (or no triggers at all), by rule index.
    pub fn active_rules(&self, text: &str) -> Vec<bool> {
        match self.automaton_for(text) {
            Some(automaton) => self.active_rules_with(automaton, text),
            None => self.active_rules_without_triggers(),
        }
    }

    /// The rules without triggers (when no rule has any).
    fn active_rules_without_triggers(&self) -> Vec<bool> {
        let mut active = vec![false; self.rule_count];
        for &idx in &self.always {
            active[idx] = true;
        }
        active
    }

    /// [`Prefilter::active_rules`] with the given automaton (NFA or DFA of the triggers).
    fn active_rules_with(&self, automaton: &AhoCorasick, text: &str) -> Vec<bool> {
        let mut active = self.active_rules_without_triggers();
        let mut and_met = vec![
            false;
            if self.needs_and.is_empty() {
                0
            } else {
                self.rule_count
            }
        ];
        let mut seen = vec![false; self.pattern_rules.len()];
        let mut remaining = seen.len();
        for m in automaton.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            if !seen[p] {
                seen[p] = true;
                for &idx in &self.pattern_rules[p] {
                    active[idx] = true;
                }
                for &idx in &self.pattern_and_rules[p] {
                    and_met[idx] = true;
                }
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
        }
        for &idx in &self.needs_and {
            active[idx] = active[idx] && and_met[idx];
        }
        active
    }
}

#[cfg(test)]
mod tests {
    use super::Prefilter;
    use crate::rules::RuleSet;
    use crate::rules::load::parse_rule;

    fn rule(id: &str, triggers: &str) -> crate::rules::Rule {
        let text = format!(
            "id: {id}\ntitle: t\nseverity: low\nconfidence: low\ncwe: [CWE-1]\nowasp: [\"A01:2021\"]\n\
             languages: [js]\n{triggers}\nmatch:\n  query: '(identifier) @hit'\nmessage: m\nhelp: h\n"
        );
        parse_rule("test.yaml", &text, false).expect("rule parses")
    }

    #[test]
    fn and_triggers_narrow_triggers() {
        let rules = RuleSet::new(vec![
            rule("t.any", "triggers: [credentials]"),
            rule(
                "t.both",
                "triggers: [credentials]\nand-triggers: [origin, Origin]",
            ),
        ])
        .expect("unique ids");
        let prefilter = Prefilter::new(&rules).expect("triggers compile");
        assert_eq!(
            prefilter.active_rules("credentials: true"),
            vec![true, false]
        );
        assert_eq!(
            prefilter.active_rules("{ Origin: '*', credentials: true }"),
            vec![true, true]
        );
        assert_eq!(prefilter.active_rules("origin only"), vec![false, false]);
    }

    /// The DFA that takes over after the first MiB reports exactly what the NFA does (issue 22).
    #[test]
    fn dfa_and_nfa_activate_the_same_rules_on_every_fixture() {
        use aho_corasick::AhoCorasickKind;
        let rules = RuleSet::new(crate::rules::load_builtin_rules().expect("embedded rules load"))
            .expect("unique ids");
        let prefilter = Prefilter::new(&rules).expect("triggers compile");
        let nfa = prefilter.automaton().expect("embedded rules have triggers");
        let dfa = prefilter
            .build_kind(AhoCorasickKind::DFA)
            .expect("the embedded triggers fit a DFA");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut checked = 0;
        for entry in walkdir(&root) {
            let Ok(text) = std::fs::read_to_string(&entry) else {
                continue;
            };
            assert_eq!(
                prefilter.active_rules_with(nfa, &text),
                prefilter.active_rules_with(&dfa, &text),
                "{}",
                entry.display()
            );
            checked += 1;
        }
        assert!(checked > 100, "only {checked} fixtures read");
    }

    fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)
            .expect("fixtures are readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walkdir(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn and_triggers_need_triggers() {
        let text = "id: t.x\ntitle: t\nseverity: low\nconfidence: low\ncwe: [CWE-1]\n\
                    owasp: [\"A01:2021\"]\nlanguages: [js]\nand-triggers: [a]\n\
                    match:\n  query: '(identifier) @hit'\nmessage: m\nhelp: h\n";
        let err = parse_rule("test.yaml", text, false).expect_err("refused");
        assert!(err.to_string().contains("and-triggers"), "{err}");
    }
}

//! The trigger prefilter: one Aho-Corasick pass over a file decides which rules run on it.
//!
//! Every rule lists literal trigger strings; a rule whose triggers all miss a file is not run on it,
//! and a file that no tree-needing rule survives for is never parsed. A rule may add
//! `and-triggers`, of which the file must contain one as well.
//!
//! The automaton is built when the first file is checked (a tenth of the start-up of a scan that
//! reads no file, issue 22); with user rules it is built at once, so a trigger list past the
//! automaton's limits is a load error naming the rule.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::rules::{RuleError, RuleSet};

/// Compiled triggers of a rule set.
#[derive(Debug)]
pub struct Prefilter {
    /// The distinct trigger strings, in first-seen order (pattern ids of the automaton).
    patterns: Vec<String>,
    /// Built on first use (or at once, see the module docs); `None` when there are no patterns.
    automaton: OnceLock<Option<AhoCorasick>>,
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

    /// Compiles the automaton of every trigger (`None` when there are none).
    fn build(&self) -> Result<Option<AhoCorasick>, aho_corasick::BuildError> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        // A DFA costs a little memory once and scans every file faster (measured: the
        // overlapping NFA search was 6% of a medium-corpus scan). User rules can hold any
        // number of triggers; past the DFA's size limit the contiguous NFA takes over.
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(kind))
                .build(&self.patterns)
        };
        build(AhoCorasickKind::DFA)
            .or_else(|_| build(AhoCorasickKind::ContiguousNFA))
            .or_else(|_| build(AhoCorasickKind::NoncontiguousNFA))
            .map(Some)
    }

    /// The automaton, built on first use.
    fn automaton(&self) -> Option<&AhoCorasick> {
        self.automaton
            .get_or_init(|| {
                // embedded triggers are a few hundred short words (user rules are built at once)
                self.build()
                    .expect("the embedded rules' triggers fit the automaton's limits")
            })
            .as_ref()
    }
    /// Which rules have a trigger in `text` (or no triggers at all), by rule index.
    pub fn active_rules(&self, text: &str) -> Vec<bool> {
        let mut active = vec![false; self.rule_count];
        for &idx in &self.always {
            active[idx] = true;
        }
        let Some(automaton) = self.automaton() else {
            return active;
        };
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

    #[test]
    fn and_triggers_need_triggers() {
        let text = "id: t.x\ntitle: t\nseverity: low\nconfidence: low\ncwe: [CWE-1]\n\
                    owasp: [\"A01:2021\"]\nlanguages: [js]\nand-triggers: [a]\n\
                    match:\n  query: '(identifier) @hit'\nmessage: m\nhelp: h\n";
        let err = parse_rule("test.yaml", text, false).expect_err("refused");
        assert!(err.to_string().contains("and-triggers"), "{err}");
    }
}

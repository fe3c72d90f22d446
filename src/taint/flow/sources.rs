//! Where untrusted values enter: member paths and calls declared as sources (`req.body`,
//! `request.json()`), handler parameters declared by function name and position, and the
//! seeding of a function's parameters when it is walked as a closure.

use std::ops::Range;

use tree_sitter::Node;

use super::{Step, Taint, Walker, short, union};
use crate::taint::spec::Source;

impl<'t> Walker<'_, 't> {
    pub(super) fn source_for_path(
        &self,
        path: &[String],
        range: Range<usize>,
        shown: &str,
    ) -> Option<Taint> {
        let mut mask = 0;
        for (s, bit) in &self.shared.cfg.sources {
            if let Source::Pattern(p) = s
                && p.args.is_none()
                && p.matches_path(path)
            {
                mask |= bit;
            }
        }
        mask &= self.shared.active;
        if let Some(cleared) = self.state.cleared.get(&path.join(".")) {
            mask &= !cleared;
        }
        (mask != 0).then(|| Taint {
            mask,
            steps: vec![Step {
                range,
                note: format!("untrusted input enters here: `{}`", short(shown)),
            }],
            whole: true,
            stringy: true,
            host_fixed: false,
            params: 0,
        })
    }

    pub(super) fn function_name(&self, f: Node<'t>) -> Option<&'t str> {
        if let Some(n) = f.child_by_field_name("name") {
            return Some(self.text(n));
        }
        let parent = f.parent()?;
        (parent.kind() == "variable_declarator")
            .then(|| parent.child_by_field_name("name"))
            .flatten()
            .map(|n| self.text(n))
    }

    /// Walks a function (closure) with the enclosing state; `seeds` taints parameters.
    pub(super) fn function(&mut self, f: Node<'t>, mut seeds: Vec<Option<Taint>>) {
        let params = crate::parse::function_params(f);
        // handler parameters declared as sources (`export async function GET(req, { params })`)
        if let Some(name) = self.function_name(f) {
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Param { functions, index } = s
                    && bit & self.shared.active != 0
                    && functions.iter().any(|x| x == name)
                    && let Some(p) = params.get(*index)
                {
                    if seeds.len() <= *index {
                        seeds.resize(index + 1, None);
                    }
                    // show `{ params }`, not its type annotation
                    let shown = p.child_by_field_name("pattern").unwrap_or(*p);
                    let t = Taint {
                        mask: bit & self.shared.active,
                        steps: vec![Step {
                            range: shown.byte_range(),
                            note: format!(
                                "untrusted input enters here: `{}`",
                                short(self.text(shown))
                            ),
                        }],
                        whole: true,
                        stringy: true,
                        host_fixed: false,
                        params: 0,
                    };
                    seeds[*index] = union(seeds[*index].take(), Some(t));
                }
            }
        }
        let seeded = seeds.iter().any(Option::is_some);
        if !seeded && !self.has_taint() && !self.contains_hint(f) {
            return;
        }
        let saved = self.state.clone();
        self.fn_depth += 1;
        self.enter(f, &params, seeds);
        self.fn_depth -= 1;
        self.state = saved;
    }
}

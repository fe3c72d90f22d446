//! Where untrusted values enter: member paths and calls declared as sources (`req.body`,
//! `request.json()`), handler parameters declared by function name and position, and the
//! seeding of a function's parameters when it is walked as a closure.

use std::ops::Range;

use tree_sitter::Node;

use super::{Facts, Step, Taint, Walker, short, union};
use crate::parse::ChildField;
use crate::taint::spec::Source;

/// Source fields that hold a string (a URL or one of its parts), never an object of fields.
const STRING_FIELDS: &[&str] = &[
    "url",
    "originalUrl",
    "path",
    "pathname",
    "hostname",
    "hash",
    "search",
    "href",
    "URL",
    "documentURI",
    "referrer",
    // `window.name`, Angular's `route.snapshot.fragment`: strings the page's opener or link sets
    "name",
    "fragment",
    // `document.location` prints as its `href`
    "location",
    // archive entries: adm-zip `entryName`, yauzl `fileName`, tar `linkname`
    "entryName",
    "fileName",
    "linkname",
];

/// Parts of the page's own `location` the page's address cannot choose: the scheme, host and
/// port of the page that runs the script.
pub(super) const LOCATION_FIXED_FIELDS: &[&str] =
    &["origin", "protocol", "host", "hostname", "port"];

impl<'t> Walker<'_, 't> {
    /// The taint of a member path declared as a source, as written or through an alias
    /// (`request.body` where `request` stands for `req`), unless a guard cleared it.
    pub(super) fn source_for_path(
        &self,
        path: &[String],
        range: Range<usize>,
        shown: &str,
    ) -> Option<Taint> {
        let resolved = self.resolve(path);
        if let Some(ends) = &self.shared.cfg.source_ends {
            let roots = &self.shared.cfg.source_roots;
            let ends_in = |p: &[String]| {
                p.last()
                    .is_some_and(|l| ends.binary_search_by(|e| e.as_str().cmp(l)).is_ok())
                    || (p.len() == 2 && roots.binary_search_by(|r| r.as_str().cmp(&p[0])).is_ok())
            };
            if !ends_in(path) && !resolved.as_deref().is_some_and(ends_in) {
                return None;
            }
        }
        let mut mask = 0;
        for (s, bit) in &self.shared.cfg.sources {
            if let Source::Pattern(p) = s
                && p.args.is_none()
                && (p.matches_path(path) || resolved.as_ref().is_some_and(|r| p.matches_path(r)))
            {
                mask |= bit;
            }
        }
        mask &= self.shared.active;
        if mask == 0 {
            return None;
        }
        if let Some(cleared) = self.state.cleared.get(&path.join(".")) {
            mask &= !cleared;
        }
        (mask != 0).then(|| Taint {
            mask,
            steps: vec![Step {
                range,
                note: format!("untrusted input enters here: `{}`", short(shown)),
            }],
            // `req.url`, `location.hash`: a string, not a request object; nor is a member only
            // a wildcard source takes (`req.token` set from a header by middleware)
            whole: !resolved
                .as_deref()
                .unwrap_or(path)
                .last()
                .is_some_and(|l| STRING_FIELDS.contains(&l.as_str()) || !self.is_source_end(l)),
            stringy: true,
            host_fixed: false,
            facts: Facts::default(),
            params: 0,
        })
    }

    /// Whether `name` stands for a request object: its `body` or `query` is a source.
    pub(super) fn is_request_root(&self, name: &str) -> bool {
        ["body", "query"].iter().any(|field| {
            let path = [name.to_string(), (*field).to_string()];
            self.source_for_path(&path, 0..0, "").is_some()
        })
    }

    /// Whether a member name ends a declared path source (`body` of `req.body`); `true` when
    /// the sources are not indexed by their ends.
    fn is_source_end(&self, name: &str) -> bool {
        self.shared
            .cfg
            .source_ends
            .as_ref()
            .is_none_or(|ends| ends.binary_search_by(|e| e.as_str().cmp(name)).is_ok())
    }

    pub(super) fn function_name(&self, f: Node<'t>) -> Option<&'t str> {
        if let Some(n) = f.child_field("name") {
            return Some(self.text(n));
        }
        let parent = f.parent()?;
        let name = match parent.kind() {
            "variable_declarator" => parent.child_field("name")?,
            // `exports.handler = async (event) => ...`
            "assignment_expression" => {
                let left = parent.child_field("left")?;
                match left.kind() {
                    "member_expression" => left.child_field("property")?,
                    _ => left,
                }
            }
            _ => return None,
        };
        Some(self.text(name))
    }

    /// Walks a function (closure) with the enclosing state; `seeds` taints parameters and
    /// `roots` makes parameters stand for a source root (`req`), so only the request's
    /// user-controlled fields (`req.body`, not `req.user`) are untrusted.
    pub(super) fn function(
        &mut self,
        f: Node<'t>,
        mut seeds: Vec<Option<Taint>>,
        mut roots: Vec<Option<String>>,
    ) {
        let params = crate::parse::function_params(f);
        let active = self.shared.active;
        // handler parameters declared as sources (`export async function GET(req, { params })`)
        if let Some(name) = self.function_name(f) {
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Param {
                    functions,
                    index,
                    root,
                    named,
                } = s
                    && bit & active != 0
                    && functions.iter().any(|x| x == name)
                    && let Some(p) = params.get(*index)
                    && (named.is_empty() || named.iter().any(|x| x == self.text(*p)))
                {
                    if let Some(r) = root {
                        set_at(&mut roots, *index, Some(r.clone()));
                    } else {
                        let t = self.param_taint(*p, bit & active, "input");
                        let merged = union(seeds.get_mut(*index).and_then(Option::take), Some(t));
                        set_at(&mut seeds, *index, merged);
                    }
                }
            }
        }
        // resolver arguments (`Mutation: { addUser: (_, args) => ... }`)
        if let Some(parent) = self.member_parent(f) {
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Member { parents, index } = s
                    && bit & active != 0
                    && parents.iter().any(|x| x == parent)
                    && let Some(p) = params.get(*index)
                {
                    let t = self.param_taint(*p, bit & active, "input");
                    let merged = union(seeds.get_mut(*index).and_then(Option::take), Some(t));
                    set_at(&mut seeds, *index, merged);
                }
            }
        }
        // typed parameters (`(request: NextRequest)`, `(req: Request)`)
        for (i, p) in params.iter().enumerate() {
            let Some(ty) = p.child_field("type") else {
                continue;
            };
            let ty = type_name(self.text(ty));
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Typed { types, root } = s
                    && bit & active != 0
                    && types.iter().any(|t| t == ty)
                {
                    set_at(&mut roots, i, Some(root.clone()));
                }
            }
        }
        // decorated parameters (`@Body() dto`, `@Query("q") q`, `@Req() request`)
        for (i, p) in params.iter().enumerate() {
            let mut c = p.walk();
            let decorators: Vec<Node<'t>> = p
                .children(&mut c)
                .filter(|d| d.kind() == "decorator")
                .collect();
            for d in decorators {
                let Some(inner) = d.named_child(0) else {
                    continue;
                };
                let (name, has_args) = match inner.kind() {
                    "call_expression" => (
                        inner.child_field("function").map(|f| self.text(f)),
                        inner
                            .child_field("arguments")
                            .is_some_and(|a| a.named_child_count() > 0),
                    ),
                    "identifier" => (Some(self.text(inner)), false),
                    _ => (None, false),
                };
                let Some(name) = name else { continue };
                for (s, bit) in &self.shared.cfg.sources {
                    if let Source::Decorated { names, root } = s
                        && bit & active != 0
                        && names.iter().any(|n| n == name)
                    {
                        if let Some(r) = root {
                            set_at(&mut roots, i, Some(r.clone()));
                        } else {
                            let mut t = self.param_taint(*p, bit & active, "input");
                            t.whole = !has_args;
                            let merged = union(seeds.get_mut(i).and_then(Option::take), Some(t));
                            set_at(&mut seeds, i, merged);
                        }
                    }
                }
            }
        }
        let seeded = seeds.iter().any(Option::is_some) || roots.iter().any(Option::is_some);
        if !seeded
            && !self.has_taint()
            && !self.contains_hint(f)
            && self.shared.escaped.borrow().is_empty()
        {
            return;
        }
        let saved = self.state.clone();
        // a `try` around the function's definition does not see the calls in its body
        let thrown = std::mem::take(&mut self.thrown);
        self.fn_depth += 1;
        self.fn_stack.push(f);
        self.enter(f, &params, seeds, &roots);
        self.fn_stack.pop();
        self.fn_depth -= 1;
        self.thrown = thrown;
        self.state = saved;
    }

    /// The key of the object holding the object this function is a member of:
    /// `Query` for `Query: { user(parent, args) {} }` or `Query: { user: (p, args) => {} }`.
    fn member_parent(&self, f: Node<'t>) -> Option<&'t str> {
        let holder = if f.kind() == "method_definition" {
            f
        } else {
            let pair = f.parent()?;
            (pair.kind() == "pair").then_some(pair)?
        };
        let object = holder.parent()?;
        let outer = object.parent()?;
        if object.kind() != "object" || outer.kind() != "pair" {
            return None;
        }
        outer.child_field("key").map(|k| self.text(k))
    }

    /// The taint of a parameter that is untrusted as a whole (a message handler's payload).
    pub(super) fn param_taint(&self, p: Node<'t>, mask: u64, what: &str) -> Taint {
        // show `{ params }`, not its type annotation
        let shown = p.child_field("pattern").unwrap_or(p);
        Taint {
            mask,
            steps: vec![Step {
                range: shown.byte_range(),
                note: format!(
                    "untrusted {what} enters here: `{}`",
                    short(self.text(shown))
                ),
            }],
            whole: true,
            stringy: true,
            host_fixed: false,
            facts: Facts::default(),
            params: 0,
        }
    }
}

/// Sets `items[i]`, growing the vector with `None`s.
pub(super) fn set_at<T: Clone>(items: &mut Vec<Option<T>>, i: usize, value: Option<T>) {
    if items.len() <= i {
        items.resize(i + 1, None);
    }
    items[i] = value;
}

/// The bare name of a type annotation: `: express.Request<P>` -> `Request`.
fn type_name(annotation: &str) -> &str {
    let t = annotation.trim_start_matches(':').trim();
    let t = t.split('<').next().unwrap_or(t).trim();
    t.rsplit('.').next().unwrap_or(t)
}

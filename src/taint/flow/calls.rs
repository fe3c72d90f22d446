//! Calls and the sinks they reach: call sinks (with argument positions and conditions), property
//! and assignment sinks, sanitizer calls, propagators, mutators (`list.push(x)`), iteration and
//! message-handler callbacks, and calls to same-file helpers through their summaries.

use tree_sitter::Node;

use super::modules::{ImportCall, MODULE_PREFIX, RenderLocal};
use super::propagation::fixes_host;
use super::sources::set_at;
use super::{
    CLEAN_METHODS, FIELD_BIT0, Facts, Forward, ITERATORS, MUTATORS, Step, Taint, Walker,
    is_function, node_text, root_identifier, short, string_value, strip, union,
};
use crate::parse::ChildField;
use crate::taint::spec::{SinkKind, Source};

impl<'t> Walker<'_, 't> {
    /// Whether the call a pattern test describes is a propagator (its result carries its
    /// arguments; it does not throw with them).
    fn is_propagator(
        &self,
        is_new: bool,
        matches: &impl Fn(&crate::taint::spec::Pattern) -> bool,
    ) -> bool {
        self.shared
            .cfg
            .propagators
            .iter()
            .any(|p| p.is_new == is_new && matches(p))
    }

    /// Whether a sink's `if-function` condition holds: no condition, or an enclosing function
    /// whose text or decorators match (TypeScript puts a method's decorators before its node).
    fn in_function_matching(&self, re: Option<&crate::taint::spec::SinkRegex>) -> bool {
        re.is_none_or(|re| {
            self.fn_stack.iter().any(|f| {
                let mut d = f.prev_named_sibling();
                let mut decorated = false;
                while let Some(n) = d.filter(|n| n.kind() == "decorator") {
                    decorated |= re.is_match(self.text(n));
                    d = n.prev_named_sibling();
                }
                decorated || re.is_match(self.text(*f))
            })
        })
    }

    /// Whether every sink of `rule` takes only values that may be strings (`string: true`).
    fn wants_strings(&self, rule: usize) -> bool {
        let mut sinks = self
            .shared
            .cfg
            .sinks
            .iter()
            .filter(|(_, r)| *r == rule)
            .peekable();
        sinks.peek().is_some() && sinks.all(|(s, _)| s.string)
    }

    /// Whether the sink at `range` in helper `f` is its parameter `i` itself (`messages`,
    /// `messages: messages as T[]`), so that the argument's shape is the sink value's shape.
    fn sink_is_param(&self, f: Node<'t>, i: usize, range: &std::ops::Range<usize>) -> bool {
        let Some(p) = crate::parse::function_params(f).get(i).copied() else {
            return false;
        };
        let p = p.child_by_field_name("pattern").unwrap_or(p);
        let Some(sink) = self.shared.text.get(range.clone()) else {
            return false;
        };
        let value = sink.split_once(':').map_or(sink, |(_, v)| v);
        let value = value.split(" as ").next().unwrap_or(value).trim();
        p.kind() == "identifier" && value.trim_end_matches('!') == self.text(p)
    }

    pub(super) fn property_sinks(
        &mut self,
        object: Node<'t>,
        pair: Node<'t>,
        key: &str,
        t: &Taint,
    ) {
        for (sink, rule) in &self.shared.cfg.sinks {
            let SinkKind::Property {
                key: want,
                inside,
                sibling,
            } = &sink.kind
            else {
                continue;
            };
            if want != key
                || t.mask & (1 << rule) == 0
                || (sink.string && (!t.stringy || t.whole))
                || (sink.whole && !t.whole)
                || (sink.host && t.host_fixed)
                || (sink.unanchored && t.facts.has(Facts::ANCHORED))
                || (sink.objects && t.facts.has(Facts::BUILT))
            {
                continue;
            }
            if let Some(re) = sibling
                && !re.is_match(self.text(object))
            {
                continue;
            }
            if let Some(re) = &sink.if_file
                && !re.is_match(self.shared.text)
            {
                continue;
            }
            if sink
                .unless_file
                .as_ref()
                .is_some_and(|re| re.is_match(self.shared.text))
                || sink.unless_function.as_ref().is_some_and(|re| {
                    self.fn_stack
                        .first()
                        .is_some_and(|f| re.is_match(self.text(*f)))
                })
            {
                continue;
            }
            if !self.in_function_matching(sink.if_function.as_ref()) {
                continue;
            }
            if let Some(p) = inside
                && !self.calls.iter().any(|c| p.matches_path(c))
            {
                continue;
            }
            self.report(*rule, pair.byte_range(), t, pair, key);
        }
    }

    pub(super) fn assignment(&mut self, n: Node<'t>) -> Option<Taint> {
        let t = n.child_field("right").and_then(|r| self.eval(r));
        let left = n.child_field("left")?;
        match left.kind() {
            "identifier" => {
                let name = self.text(left).to_string();
                match t.clone() {
                    Some(t) => {
                        let t = t.step(left.byte_range(), format!("flows into `{name}`"));
                        if let Some(key) = self.escape_key(std::slice::from_ref(&name)) {
                            self.escape(key, &t, left);
                        }
                        self.state.vars.insert(name.clone(), t);
                    }
                    None => {
                        // reassignment with a clean value clears the variable
                        self.state.vars.remove(&name);
                    }
                }
                self.state.cleared.remove(&name);
                self.state.aliases.remove(&name);
                // `abs = ...` or `p = ...` after `abs = path.resolve(p)`: no longer one file
                for map in [&mut self.state.relative_of, &mut self.state.resolved_of] {
                    map.retain(|k, v| *k != name && *v != name);
                }
            }
            "member_expression" | "subscript_expression" => {
                self.written_through_key(n, left);
                let path = self.path_of(left);
                // `obj.x = "safe"` makes `obj.x` trusted until tainted again (a branch that
                // does it on one side only leaves it untrusted after: cleared paths merge by
                // intersection)
                if left.kind() == "member_expression" {
                    let key = path.join(".");
                    if t.is_some() {
                        self.state.cleared.remove(&key);
                    } else if root_identifier(left)
                        .is_some_and(|r| self.state.vars.contains_key(self.text(r)))
                    {
                        self.state.cleared.insert(key, u64::MAX);
                    }
                }
                // a property set on a jQuery object (`this` in a plugin) writes no DOM
                let on_jquery =
                    path.first().is_some_and(|p| p == "this") && jquery_this(self, left);
                if let Some(t) = &t
                    && !on_jquery
                {
                    for (sink, rule) in &self.shared.cfg.sinks {
                        if let SinkKind::Assign(p) = &sink.kind
                            && p.matches_path(&path)
                            && t.mask & (1 << rule) != 0
                            && (!sink.string || (t.stringy && !t.whole))
                            && !(sink.host && t.host_fixed)
                            && !(sink.unanchored && t.facts.has(Facts::ANCHORED))
                            && !(sink.objects && t.facts.has(Facts::BUILT))
                            && sink
                                .if_file
                                .as_ref()
                                .is_none_or(|re| re.is_match(self.shared.text))
                        {
                            self.report(*rule, n.byte_range(), t, left, self.text(left));
                        }
                    }
                }
                if let Some(t) = &t {
                    // `this.cmd = tainted` in one method, read in another
                    let object = n
                        .child_field("right")
                        .map(strip)
                        .filter(|r| r.kind() == "object");
                    if path.first().is_some_and(|p| p == "this")
                        && let Some(key) = self.escape_key(&path)
                    {
                        match object {
                            Some(o) if path.len() == 2 => self.escape_members(&path, o, left),
                            _ => self.escape(key, t, left),
                        }
                    }
                    // `obj.x = tainted` taints `obj`; on the request object only that field
                    // (`req.fileData.directory = req.get(..)` leaves `req.config` trusted)
                    let root = root_identifier(left);
                    if let Some(root) = root {
                        let name = self.text(root).to_string();
                        if path.len() >= 2
                            && !self.state.vars.contains_key(&name)
                            && self.is_request_root(&name)
                        {
                            self.taint_container(path[..2].join("."), t);
                        } else {
                            self.taint_container(name, t);
                        }
                    }
                }
            }
            "object_pattern" | "array_pattern" => self.bind(left, t.clone(), None),
            _ => {}
        }
        t
    }

    /// `obj[key].x = v`, `obj[key][name] = v`: with an untrusted `key` of `__proto__` the write
    /// lands on `Object.prototype`, whatever `v` is.
    fn written_through_key(&mut self, n: Node<'t>, left: Node<'t>) {
        let Some(holder) = left
            .child_field("object")
            .map(strip)
            .filter(|o| o.kind() == "subscript_expression")
        else {
            return;
        };
        if !self
            .shared
            .cfg
            .sinks
            .iter()
            .any(|(s, _)| matches!(s.kind, SinkKind::KeyOfWritten))
        {
            return;
        }
        let Some(t) = holder.child_field("index").and_then(|k| self.eval(k)) else {
            return;
        };
        // `const table = Object.create(null)` (anywhere in the file): no prototype to reach
        // through `table[key]`
        if let Some(base) = holder.child_field("object").map(strip)
            && base.kind() == "identifier"
        {
            let declared = format!(
                r"\b{}\s*(:[^=;]+)?=\s*Object\.create\(\s*null\s*\)",
                regex::escape(self.text(base))
            );
            if regex::Regex::new(&declared).is_ok_and(|re| re.is_match(self.shared.text)) {
                return;
            }
        }
        for (sink, rule) in &self.shared.cfg.sinks {
            if matches!(sink.kind, SinkKind::KeyOfWritten)
                && t.mask & (1 << rule) != 0
                && !(sink.string && (!t.stringy || t.whole))
                && !(sink.unanchored && t.facts.has(Facts::ANCHORED))
            {
                self.report(*rule, n.byte_range(), &t, holder, self.text(left));
            }
        }
    }

    /// `window[key](...)`: an untrusted key picks the function a global object runs (`eval`,
    /// `Function`, `setTimeout`); a key the code prefixes (`window["on" + name]`) only picks
    /// among the functions so named.
    fn key_sinks(&mut self, n: Node<'t>, callee: Node<'t>, t: &Taint) {
        let Some(object) = callee.child_field("object") else {
            return;
        };
        let path = self.path_of(object);
        for (sink, rule) in &self.shared.cfg.sinks {
            if let SinkKind::Key(p) = &sink.kind
                && p.matches_path(&path)
                && t.mask & (1 << rule) != 0
                && !(sink.unanchored && t.facts.has(Facts::ANCHORED))
                && !self.state.locals.contains(path[0].as_str())
            {
                self.report(*rule, n.byte_range(), t, callee, self.text(callee));
            }
        }
    }

    pub(super) fn call(&mut self, n: Node<'t>) -> Option<Taint> {
        let is_new = n.kind() == "new_expression";
        let callee = n.child_field(if is_new { "constructor" } else { "function" })?;
        let path = self.path_of(callee);
        if matches!(path.as_slice(), [this, set] if this == "this" && set == "setState") {
            self.set_state(n);
        }
        let method = path.last().map_or("", String::as_str);
        let receiver = (callee.kind() == "member_expression")
            .then(|| callee.child_field("object"))
            .flatten();
        let recv = match receiver {
            Some(r) => self.eval(r),
            None if callee.kind() == "identifier" => None,
            None if callee.kind() == "subscript_expression" => {
                if let Some(o) = callee.child_field("object") {
                    self.eval(o);
                }
                if let Some(k) = callee.child_field("index")
                    && let Some(t) = self.eval(k)
                {
                    self.key_sinks(n, callee, &t);
                }
                None
            }
            None => {
                self.eval(callee);
                None
            }
        };
        let args = Self::args(n);
        let tagged = n
            .child_field("arguments")
            .is_some_and(|a| a.kind() == "template_string");
        if tagged {
            // sql`...`, html`...`: tag functions receive the parts apart (parameterised)
            if let Some(a) = n.child_field("arguments") {
                self.eval(a);
            }
            return None;
        }
        self.calls.push(path.clone());
        let mut taints: Vec<Option<Taint>> = Vec::with_capacity(args.len());
        for a in &args {
            if is_function(*a) {
                taints.push(None);
            } else {
                let t = self.eval(*a);
                taints.push(t);
            }
        }
        self.calls.pop();

        // callbacks: iteration over a tainted value, registered handlers (`app.get(p, (req) =>`),
        // message handlers; a named same-file function passed as the handler is walked too
        let apath = self.resolve(&path).or_else(|| self.required_callee(callee));
        let matches = |p: &crate::taint::spec::Pattern| {
            p.matches_path(&path) || apath.as_ref().is_some_and(|a| p.matches_path(a))
        };
        // `validate(input, (err, value) => ...)`: the error a plain function hands its callback
        // may quote the input, as one it throws would (see `note_thrown`)
        let callback_error = (self.shared.cfg.thrown & self.shared.active != 0
            && callee.kind() == "identifier"
            && args.iter().any(|a| is_function(*a))
            && self.helper(self.text(callee)).is_none()
            && !self.is_propagator(is_new, &matches)
            && !self
                .shared
                .cfg
                .sanitizers
                .iter()
                .any(|(p, _)| p.is_new == is_new && matches(p)))
        .then(|| self.thrown_taint(n, &taints))
        .flatten();
        for (i, a) in args.iter().enumerate() {
            let target = if is_function(*a) {
                *a
            } else if a.kind() == "identifier"
                && let Some(f) = self.helper(self.text(*a))
            {
                f
            } else {
                continue;
            };
            let mut seeds: Vec<Option<Taint>> = Vec::new();
            let mut roots: Vec<Option<String>> = Vec::new();
            if let Some(r) = &recv
                && ITERATORS.contains(&method)
                && target == *a
            {
                seeds.push(Some(r.clone().field()));
            }
            let params = crate::parse::function_params(target);
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Callback {
                    call,
                    event,
                    index,
                    root,
                    ..
                } = s
                    && bit & self.shared.active != 0
                    && matches(call)
                    && event.as_ref().is_none_or(|e| {
                        i > 0
                            && args
                                .first()
                                .and_then(|f| string_value(self.shared.text, *f))
                                .is_some_and(|v| event_matches(e, v))
                    })
                    && let Some(p) = params.get(*index)
                    && !reads_origin(self.text(target), self.text(*p))
                {
                    if let Some(r) = root {
                        set_at(&mut roots, *index, Some(r.clone()));
                    } else {
                        let t = self.param_taint(*p, bit & self.shared.active, "message");
                        let merged = union(seeds.get_mut(*index).and_then(Option::take), Some(t));
                        set_at(&mut seeds, *index, merged);
                    }
                }
            }
            if i > 0
                && target == *a
                && let Some(t) = &callback_error
                && let Some(p) = params.first()
                && p.kind() == "identifier"
                && ERROR_PARAMS.contains(&self.text(*p))
            {
                let merged = union(seeds.first().cloned().flatten(), Some(t.clone()));
                set_at(&mut seeds, 0, merged);
            }
            if target != *a && seeds.is_empty() && roots.is_empty() {
                continue;
            }
            self.function(target, seeds, roots);
        }

        // calls into other project files: joined with their export summaries after the scan
        if let Some(a) = &apath
            && let Some(module) = a.first().and_then(|m| m.strip_prefix(MODULE_PREFIX))
        {
            let key = format!("{module}#{}", a[1..].join("."));
            let name = self.text(callee);
            for (i, t) in taints.iter().enumerate() {
                let Some(t) = t else { continue };
                let through = t
                    .clone()
                    .step(args[i].byte_range(), format!("passed to `{}`", short(name)));
                if self.summary_mode {
                    // a parameter handed on to yet another module (`useCase(term)` ->
                    // `service.search(term)`): the project pass follows it
                    if t.params != 0 && self.depth == 1 {
                        self.summary.forwards.push(Forward {
                            params: t.params,
                            mask: t.mask,
                            key: key.clone(),
                            arg: i,
                            steps: through.steps,
                        });
                    }
                    continue;
                }
                if t.params != 0 {
                    continue;
                }
                self.push_import(key.clone(), i, t.mask, through.steps);
            }
        }

        if is_new && callee.kind() == "identifier" {
            self.construct(self.text(callee), &taints);
        }

        // template renders: which locals are untrusted (the templates are read after the scan)
        if !self.summary_mode && taints.iter().any(Option::is_some) {
            let shared = self.shared;
            for (sink, rule) in &shared.cfg.sinks {
                let SinkKind::Render(p) = &sink.kind else {
                    continue;
                };
                if p.is_new != is_new || !matches(p) {
                    continue;
                }
                self.render_locals(p, *rule, sink.string, &args, &taints, callee);
            }
        }

        // sinks
        let arg_text = n.child_field("arguments").map_or("", |a| self.text(a));
        let ends = [
            path.last().map(String::as_str),
            apath.as_ref().and_then(|a| a.last()).map(String::as_str),
        ];
        for k in self.shared.cfg.call_sinks(ends) {
            let (sink, rule) = &self.shared.cfg.sinks[k];
            let SinkKind::Call(p) = &sink.kind else {
                continue;
            };
            if p.is_new != is_new || !matches(p) {
                continue;
            }
            // a file call of the rule saw this value: it decides, not a fallback on the way
            if !sink.fallback && !self.summary_mode {
                for t in taints.iter().flatten() {
                    if t.mask & (1 << rule) != 0
                        && let Some(origin) = t.steps.first()
                    {
                        self.sink_seen.push((*rule, origin.range.clone()));
                    }
                }
            }
            if sink
                .if_args
                .as_ref()
                .is_some_and(|re| !re.is_match(arg_text))
                || sink
                    .unless_args
                    .as_ref()
                    .is_some_and(|re| re.is_match(arg_text))
                || sink.unless_callee.as_ref().is_some_and(|re| {
                    re.is_match(self.text(callee))
                        || apath.as_ref().is_some_and(|a| re.is_match(&a.join(".")))
                })
                || sink
                    .inside
                    .as_ref()
                    .is_some_and(|p| !self.calls.iter().any(|c| p.matches_path(c)))
                || sink
                    .unless_file
                    .as_ref()
                    .is_some_and(|re| re.is_match(self.shared.text))
                || sink
                    .if_file
                    .as_ref()
                    .is_some_and(|re| !re.is_match(self.shared.text))
                || sink.unless_function.as_ref().is_some_and(|re| {
                    self.fn_stack
                        .first()
                        .is_some_and(|f| re.is_match(self.text(*f)))
                })
                || !self.in_function_matching(sink.if_function.as_ref())
            {
                continue;
            }
            if sink.redos {
                // nothing to report unless the checked value carries this rule's taint: test that
                // first, the regex lookup may walk the whole file
                let tainted = |t: &Option<_>| {
                    t.as_ref()
                        .is_some_and(|t: &crate::taint::flow::Taint| t.mask & (1 << rule) != 0)
                };
                if !tainted(&recv) && !taints.iter().any(tainted) {
                    continue;
                }
                // `re.test(input)`: the pattern is the receiver; `input.match(re)`: the first argument
                if receiver.is_some_and(|r| self.catastrophic_regex(r)) {
                    // the checked value is at the sink's argument positions
                } else if let (Some(r), Some(t), Some(a)) = (receiver, &recv, args.first())
                    && self.catastrophic_regex(*a)
                {
                    if t.mask & (1 << rule) != 0 && t.stringy && !t.whole {
                        let t = t.clone();
                        self.report(*rule, n.byte_range(), &t, r, self.text(callee));
                    }
                    continue;
                } else {
                    continue;
                }
            }
            // a filter sink called on what a query handed its callback (`(err, doc) =>
            // err.count(q)`) is no model method
            if sink.objects && receiver.is_some_and(|r| self.query_callback_value(r)) {
                continue;
            }
            let positions: Vec<usize> = match &p.args {
                Some(a) if !a.is_empty() => a.clone(),
                _ => (0..args.len()).collect(),
            };
            for pos in positions {
                let Some(Some(t)) = taints.get(pos) else {
                    continue;
                };
                if t.mask & (1 << rule) == 0
                    || (sink.string && (!t.stringy || t.whole))
                    || (sink.whole && !t.whole)
                    || (sink.host && t.host_fixed)
                    || (sink.unanchored && t.facts.has(Facts::ANCHORED))
                    || (sink.objects && t.facts.has(Facts::BUILT))
                {
                    continue;
                }
                // a helper's summary carries no fallback mark: its caller sees the value returned
                if sink.fallback && self.summary_mode {
                    continue;
                }
                let t = t.clone();
                let before = self.hits.len();
                self.report(*rule, n.byte_range(), &t, args[pos], self.text(callee));
                if sink.fallback {
                    for h in &mut self.hits[before..] {
                        h.fallback = true;
                    }
                }
            }
        }

        let sanitized = self
            .shared
            .cfg
            .sanitizers
            .iter()
            .filter(|(p, _)| p.is_new == is_new && matches(p))
            .fold(0, |m, (_, bit)| m | bit);

        // same-file helpers, and sibling methods (`this.search(q)` in a class method)
        let helper = match callee.kind() {
            "identifier" => self.helper(self.text(callee)),
            "member_expression" if receiver.is_some_and(|r| r.kind() == "this") => {
                self.this_method(method)
            }
            _ => None,
        };
        // an error this call throws may carry its arguments into the enclosing `catch`: a call of
        // a plain function name (`parseFilter(q)`); library and SDK methods (`JSON.parse`,
        // `stripe.webhooks.constructEvent`) report failures in their own words, the propagators
        // do not throw with their argument, and a same-file helper that calls nothing cannot
        // throw at all (`safe(x)`)
        if !self.thrown.is_empty()
            && sanitized == 0
            && callee.kind() == "identifier"
            && !helper.is_some_and(cannot_throw)
            && !self.is_propagator(is_new, &matches)
        {
            self.note_thrown(n, &taints);
        }
        // a bound helper (`send.bind(null, x)`, `_.partial(send, x)`) is called later with
        // these arguments first: what its summary says of them holds now
        if helper.is_none()
            && let Some((name, first)) = self.partial_application(callee, method, &args)
        {
            // `R.partial(send, [a, b])` passes the arguments as one array
            let (bound, bound_taints) = match args.get(first).map(|a| strip(*a)) {
                Some(list) if list.kind() == "array" && args.len() == first + 1 => {
                    let items = crate::parse::named_children(list);
                    let items_taints = items.iter().map(|a| self.eval(*a)).collect::<Vec<_>>();
                    (items, items_taints)
                }
                _ => (
                    args.get(first..).unwrap_or_default().to_vec(),
                    taints.get(first..).unwrap_or_default().to_vec(),
                ),
            };
            if let Some(helper) = self.helper(name)
                && bound_taints.iter().any(Option::is_some)
            {
                self.helper_call(helper, name, &bound, &bound_taints);
            }
            return None;
        }
        if let Some(f) = helper
            && taints.iter().any(Option::is_some)
        {
            let result = self.helper_call(f, self.text(callee), &args, &taints);
            return result.and_then(|t| t.masked(sanitized));
        }

        // sources
        let mut source_mask = 0;
        for (s, bit) in &self.shared.cfg.sources {
            if let Source::Pattern(p) = s
                && p.args.is_some()
                && p.is_new == is_new
                && matches(p)
            {
                source_mask |= bit;
            }
        }
        source_mask &= self.shared.active;
        if source_mask != 0 {
            return Some(Taint {
                mask: source_mask,
                steps: vec![Step {
                    range: n.byte_range(),
                    note: format!("untrusted input enters here: `{}`", short(self.text(n))),
                }],
                // `req.param("next")`, `searchParams.get("q")` pick one field; `request.json()`
                // is the whole body
                whole: args.is_empty(),
                stringy: true,
                host_fixed: false,
                facts: Facts::default(),
                params: 0,
            });
        }

        // mutators: `list.push(x)` taints `list`
        let all_args = taints.iter().cloned().fold(None, union);
        if let (Some(r), Some(t)) = (receiver, &all_args)
            && r.kind() == "identifier"
            && MUTATORS.contains(&method)
        {
            let name = self.text(r).to_string();
            self.taint_container(name, t);
        }
        if path == ["Object", "assign"]
            && let Some(target) = args.first()
            && target.kind() == "identifier"
            && let Some(t) = taints.iter().skip(1).cloned().fold(None, union)
        {
            let name = self.text(*target).to_string();
            let merged = union(self.state.vars.remove(&name), Some(t));
            if let Some(m) = merged {
                self.state.vars.insert(name, m);
            }
        }

        // result
        if CLEAN_METHODS.contains(&method) {
            return None;
        }
        // `parseInt(req.query.w)`: a number, still as large as the caller likes (see
        // `spec::UPPER_BOUND`); for every other rule a coercion ends the flow
        if self.shared.cfg.bounded != 0 && !is_new && is_numeric_coercion(&path) {
            return all_args
                .and_then(|t| t.number(self.shared.cfg.bounded))
                .and_then(|t| t.masked(sanitized));
        }
        // `new Promise((resolve) => resolve(x))`: the promise settles with `x` (`.then` reads it)
        if is_new
            && path == ["Promise"]
            && let Some(executor) = args.first().copied().filter(|a| is_function(*a))
            && let Some(resolve) = crate::parse::function_params(executor).first().copied()
            && resolve.kind() == "identifier"
            && let Some(body) = executor.child_field("body")
        {
            let mut settled = Vec::new();
            calls_of(body, self.text(resolve), self.shared.text, &mut settled, 0);
            return settled
                .into_iter()
                .filter_map(|c| Self::args(c).first().copied())
                .map(|a| self.eval(a))
                .fold(None, union)
                .and_then(|t| t.masked(sanitized));
        }
        // `p.then((x) => f(x))`: the new promise settles with what the callback returns
        if method == "then"
            && let Some(r) = &recv
            && let Some(callback) = args
                .first()
                .copied()
                .filter(|a| a.kind() == "arrow_function")
            && let Some(body) = callback
                .child_field("body")
                .filter(|b| b.kind() != "statement_block")
            && let Some(param) = crate::parse::function_params(callback).first().copied()
        {
            let saved = self.state.clone();
            self.bind(param, Some(r.clone().field()), None);
            let settled = self.eval(body);
            self.state = saved;
            return settled.and_then(|t| t.masked(sanitized));
        }
        // `RE.exec(x)`: the match array holds parts of `x`, and a group need not keep its start
        if method == "exec"
            && recv.is_none()
            && receiver.is_some_and(|r| self.is_regex(r))
            && let [arg] = taints.as_slice()
        {
            return arg
                .clone()
                .map(|t| Taint {
                    host_fixed: false,
                    facts: Facts::default(),
                    ..t.field()
                })
                .and_then(|t| t.masked(sanitized));
        }
        // `new URL("/admin/users", req.url)`: the path is the code's and the origin the server's
        if is_new && path == ["URL"] && self.keeps_own_origin(&args) {
            return taints
                .first()
                .cloned()
                .flatten()
                .map(|mut t| {
                    t.host_fixed = true;
                    t
                })
                .and_then(|t| t.masked(sanitized));
        }
        let propagates = self
            .shared
            .cfg
            .propagators
            .iter()
            .any(|p| p.is_new == is_new && matches(p));
        let result = if receiver.is_some() && recv.is_some() {
            let cleans = self.path_cleaning(method, receiver, &args);
            let joined_prefix = self.joined_prefix(method, receiver, &args);
            union(recv.map(Taint::field), all_args).and_then(|mut t| {
                // `["page?id=", id].join("")` keeps the code-chosen start
                t.host_fixed |= joined_prefix.as_deref().is_some_and(fixes_host);
                // a method may cut the code-chosen start off; only `replace` is read further
                t.facts.set(Facts::ANCHORED, false);
                t.facts.set(Facts::NO_DOTDOT, cleans == Some(false));
                t.facts.set(Facts::NORMALIZED, false);
                t.facts.set(Facts::RELATIVE, false);
                t.facts.set(
                    Facts::SEGMENTS,
                    method == "split" && self.splits_on_slash(&args),
                );
                // methods only strings have return strings
                t.facts.set(
                    Facts::BUILT,
                    t.facts.has(Facts::BUILT) || STRING_METHODS.contains(&method),
                );
                // `x.split("/")` is an array (a file call handed one throws); its items are
                // strings again. A separator not written out may be an object whose
                // `Symbol.split` returns anything.
                if method == "split"
                    && args.first().is_some_and(|a| {
                        let a = strip(*a);
                        a.kind() == "regex" || string_value(self.shared.text, a).is_some()
                    })
                {
                    t.stringy = false;
                    t.whole = false;
                }
                t.masked(if cleans == Some(true) {
                    self.shared.cfg.dot_free
                } else {
                    0
                })
            })
        } else if propagates && (path == ["JSON", "parse"]) {
            // an object or array: a string again once a field is read
            all_args.map(|mut t| {
                t.whole = false;
                t.stringy = false;
                t
            })
        } else if propagates {
            // `path.join` and friends resolve `..` segments: no start or dot-freedom survives,
            // but the result is normalised (`..` can only lead it); `join(".", x)` is relative
            let normalizes = matches!(method, "normalize" | "join" | "resolve" | "relative");
            let relative = (method == "join"
                && args.first().is_some_and(|a| {
                    string_value(self.shared.text, strip(*a))
                        .is_some_and(|v| !v.is_empty() && !v.starts_with(['/', '\\']))
                }))
                || (method == "normalize"
                    && all_args
                        .as_ref()
                        .is_some_and(|t| t.facts.has(Facts::RELATIVE)));
            all_args.map(|t| Taint {
                facts: Facts::default()
                    .with(Facts::NORMALIZED, normalizes)
                    .with(Facts::RELATIVE, relative),
                ..t.field()
            })
        } else {
            None
        };
        result.and_then(|t| t.masked(sanitized))
    }

    /// A call of the same-file helper `f` (called `name`) with these arguments and their
    /// taints: the sinks its summary says they reach are reported here, the values it hands to
    /// other project files recorded, and what its return value carries is the result.
    fn helper_call(
        &mut self,
        f: Node<'t>,
        name: &str,
        args: &[Node<'t>],
        taints: &[Option<Taint>],
    ) -> Option<Taint> {
        let summary = self.summary(f)?;
        let mut result = None;
        // each argument under its parameter's bit, and each destructured field of a parameter
        // under its own bit: the field's value when the argument is an object literal, the
        // whole argument otherwise
        let mut bits: Vec<u64> = (0..taints.len())
            .map(|i| if i < FIELD_BIT0 { 1u64 << i } else { 0 })
            .collect();
        let mut inputs: Vec<(usize, u64, Taint)> = Vec::new();
        for (j, (i, key)) in summary.fields.iter().enumerate() {
            let (Some(arg), Some(bit)) = (args.get(*i), bits.get_mut(*i)) else {
                continue;
            };
            match self.literal_field(*arg, key) {
                LiteralField::Value(t) => inputs.push((*i, 1u64 << (FIELD_BIT0 + j), t)),
                LiteralField::Unset => {}
                LiteralField::Unknown => *bit |= 1u64 << (FIELD_BIT0 + j),
            }
        }
        for (i, t) in taints.iter().enumerate() {
            if let Some(t) = t {
                inputs.push((i, bits[i], t.clone()));
            }
        }
        for (i, bit, t) in &inputs {
            let (i, bit) = (*i, *bit);
            if t.params != 0 && !self.summary_mode {
                continue;
            }
            for (p, rule, range, steps, sink) in &summary.sinks {
                if p & bit == 0 || t.mask & (1 << rule) == 0 {
                    continue;
                }
                // the helper hands its parameter to the sink as it came: a list or object built
                // here does not become a request string there
                if (!t.stringy || t.whole)
                    && i < FIELD_BIT0
                    && bit == 1u64 << i
                    && self.wants_strings(*rule)
                    && self.sink_is_param(f, i, range)
                {
                    continue;
                }
                let mut through = t
                    .clone()
                    .step(args[i].byte_range(), format!("passed to `{name}`"));
                for s in steps.iter().take(steps.len().saturating_sub(1)) {
                    through = through.step(s.range.clone(), s.note.clone());
                }
                let at = steps.last().map_or(range.clone(), |s| s.range.clone());
                self.report_range(*rule, range.clone(), &through, at, sink);
            }
            // the helper hands the value on to another project file
            if !self.summary_mode {
                for f in &summary.forwards {
                    if f.params & bit == 0 || t.mask & f.mask == 0 {
                        continue;
                    }
                    let mut through = t
                        .clone()
                        .step(args[i].byte_range(), format!("passed to `{name}`"));
                    for s in f.steps.iter().skip(1) {
                        through = through.step(s.range.clone(), s.note.clone());
                    }
                    self.push_import(f.key.clone(), f.arg, t.mask & f.mask, through.steps);
                }
            }
            for (p, mask, derived) in &summary.returns {
                if p & bit != 0
                    && let Some(r) = t.clone().masked(!mask)
                {
                    let r = if *derived { r.field() } else { r };
                    // only what the value is (a string for sure) survives the helper
                    let r = Taint {
                        facts: Facts::default().with(Facts::BUILT, r.facts.has(Facts::BUILT)),
                        ..r
                    };
                    result = union(result, Some(r));
                }
            }
        }
        let escapes = if is_html_escaper(self.shared.text, f) {
            self.html_escape_mask()
        } else {
            0
        };
        result.and_then(|t| t.masked(escapes))
    }

    /// The value an object-literal argument gives field `key` (`{ apiKey, userId: id }`).
    fn literal_field(&mut self, arg: Node<'t>, key: &str) -> LiteralField {
        let arg = strip(arg);
        if arg.kind() != "object" {
            return LiteralField::Unknown;
        }
        let mut found = None;
        for prop in crate::parse::named_children(arg) {
            match prop.kind() {
                "shorthand_property_identifier" => {
                    if self.text(prop) == key {
                        found = Some(self.eval_name(prop));
                    }
                }
                "pair" => {
                    let (Some(k), Some(v)) = (prop.child_field("key"), prop.child_field("value"))
                    else {
                        return LiteralField::Unknown;
                    };
                    let name = match k.kind() {
                        "property_identifier" => self.text(k),
                        "string" => match string_value(self.shared.text, k) {
                            Some(name) => name,
                            None => return LiteralField::Unknown,
                        },
                        _ => return LiteralField::Unknown,
                    };
                    if name == key {
                        if !matches!(
                            strip(v).kind(),
                            "identifier"
                                | "member_expression"
                                | "subscript_expression"
                                | "string"
                                | "number"
                                | "true"
                                | "false"
                                | "null"
                                | "undefined"
                        ) {
                            return LiteralField::Unknown;
                        }
                        found = Some(self.eval(v));
                    }
                }
                "comment" | "method_definition" => {}
                _ => return LiteralField::Unknown,
            }
        }
        match found.flatten() {
            Some(t) => LiteralField::Value(t),
            None => LiteralField::Unset,
        }
    }

    /// Records a call that hands taint to another module's function, for the project pass; the
    /// source's text (for messages) is read from the first step.
    fn push_import(&mut self, key: String, arg: usize, mask: u64, steps: Vec<Step>) {
        let source = self.source_text(&steps);
        self.imports.push(ImportCall {
            key,
            arg,
            mask,
            steps,
            source,
        });
    }

    /// The text of a flow's first step (where the input enters), shortened for messages.
    pub(super) fn source_text(&self, steps: &[Step]) -> String {
        steps
            .first()
            .map(|s| short(self.shared.text.get(s.range.clone()).unwrap_or("")))
            .unwrap_or_default()
    }

    /// Whether `n` is a regular expression: a literal, `new RegExp(...)`, or a name an
    /// enclosing block declares as one.
    fn is_regex(&self, n: Node<'t>) -> bool {
        let n = strip(n);
        let is_constructed = |v: Node<'t>| {
            v.kind() == "regex"
                || (v.kind() == "new_expression"
                    && v.child_field("constructor")
                        .is_some_and(|c| self.text(c) == "RegExp"))
        };
        if is_constructed(n) {
            return true;
        }
        if n.kind() != "identifier" {
            return false;
        }
        let name = self.text(n);
        let mut at = n.parent();
        while let Some(block) = at {
            if matches!(block.kind(), "statement_block" | "program") {
                let declared = crate::parse::named_children(block)
                    .into_iter()
                    .filter(|s| matches!(s.kind(), "lexical_declaration" | "variable_declaration"))
                    .flat_map(crate::parse::named_children)
                    .find(|d| d.child_field("name").is_some_and(|x| self.text(x) == name));
                if let Some(d) = declared {
                    return d
                        .child_field("value")
                        .is_some_and(|v| is_constructed(strip(v)));
                }
            }
            at = block.parent();
        }
        false
    }

    /// A partial application of a same-file helper: `send.bind(thisArg, a, b)`,
    /// `_.partial(send, a)` or `R.partial(send, [a])`; the helper's name and the index of the
    /// first argument it will receive.
    fn partial_application(
        &self,
        callee: Node<'t>,
        method: &str,
        args: &[Node<'t>],
    ) -> Option<(&'t str, usize)> {
        let callee = strip(callee);
        if callee.kind() != "member_expression" {
            return None;
        }
        let (target, first) = match method {
            "bind" => (strip(callee.child_field("object")?), 1),
            "partial" => (strip(*args.first()?), 1),
            _ => return None,
        };
        (target.kind() == "identifier").then(|| (self.text(target), first))
    }

    /// The path of a method called straight on a module: `require("child_process").exec` is
    /// `child_process.exec`, `require("./dao").find` the project module's `find`.
    /// So is a wrapped function called at once: `promisify(cp.exec)(cmd)`.
    fn required_callee(&self, callee: Node<'t>) -> Option<Vec<String>> {
        let callee = strip(callee);
        let on_call = match callee.kind() {
            "call_expression" => true,
            "member_expression" => callee
                .child_field("object")
                .is_some_and(|o| strip(o).kind() == "call_expression"),
            _ => false,
        };
        if !on_call {
            return None;
        }
        let path = self.value_path(callee);
        let path = self.resolve(&path).unwrap_or(path);
        path.first().is_some_and(|s| s != "?").then_some(path)
    }

    /// The untrusted locals of a render call matching `p` (`#0` the view, `#1` the locals).
    fn render_locals(
        &mut self,
        p: &crate::taint::spec::Pattern,
        rule: usize,
        string: bool,
        args: &[Node<'t>],
        taints: &[Option<Taint>],
        callee: Node<'t>,
    ) {
        let (Some(&vpos), Some(&lpos)) = (
            p.args.as_ref().and_then(|a| a.first()),
            p.args.as_ref().and_then(|a| a.get(1)),
        ) else {
            return;
        };
        let Some(view) = args
            .get(vpos)
            .and_then(|a| string_value(self.shared.text, *a))
            .filter(|v| !v.is_empty() && !v.contains('\n'))
            .map(str::to_string)
        else {
            return;
        };
        let (Some(locals), Some(Some(all))) = (args.get(lpos).copied(), taints.get(lpos)) else {
            return;
        };
        if all.mask & (1 << rule) == 0 || all.params != 0 {
            return;
        }
        let sink = format!("{}(\"{view}\")", short(self.text(callee)));
        let mut found: Vec<(String, Node<'t>, Taint)> = Vec::new();
        if locals.kind() == "object" {
            found = self
                .object_entries(locals)
                .into_iter()
                .filter_map(|(key, item, t)| Some((key, item, t?)))
                .collect();
        } else if all.whole {
            found.push(("*".to_string(), locals, all.clone()));
        }
        for (key, at, t) in found {
            if t.mask & (1 << rule) == 0 || t.params != 0 {
                continue;
            }
            // an object (`{ output: { term: req.body.q } }`, `{ form: req.body }`) is unsafe
            // only where the template prints one of its members (`<%- output.term %>`)
            let object = string && key != "*" && (!t.stringy || t.whole);
            let fields = if object {
                let value = if at.kind() == "pair" {
                    at.child_field("value")
                } else {
                    None
                };
                match value.filter(|v| v.kind() == "object") {
                    Some(v) => Some(self.tainted_keys(v, rule)),
                    None => Some(Vec::new()),
                }
            } else {
                None
            };
            let mut steps = t.steps.clone();
            steps.push(Step {
                range: at.byte_range(),
                note: format!("handed to the template `{view}` as `{key}`"),
            });
            let source = steps
                .first()
                .map(|s| short(self.shared.text.get(s.range.clone()).unwrap_or("")))
                .unwrap_or_default();
            self.renders.push(RenderLocal {
                view: view.clone(),
                key,
                fields,
                rule,
                range: at.byte_range(),
                steps,
                source,
                sink: sink.clone(),
            });
        }
    }

    /// The keys of an object literal whose values are untrusted for `rule`.
    fn tainted_keys(&mut self, object: Node<'t>, rule: usize) -> Vec<String> {
        self.object_entries(object)
            .into_iter()
            .filter(|(_, _, t)| t.as_ref().is_some_and(|t| t.mask & (1 << rule) != 0))
            .map(|(key, _, _)| key)
            .collect()
    }

    /// The entries of an object literal: each key (`a: v`, `"a": v`, shorthand `a`), its item
    /// node and its value's taint.
    pub(super) fn object_entries(
        &mut self,
        object: Node<'t>,
    ) -> Vec<(String, Node<'t>, Option<Taint>)> {
        let mut entries = Vec::new();
        for item in crate::parse::named_children(object) {
            let (key, taint) = match item.kind() {
                "pair" => {
                    let (Some(k), Some(v)) = (item.child_field("key"), item.child_field("value"))
                    else {
                        continue;
                    };
                    let key = string_value(self.shared.text, k).unwrap_or(self.text(k));
                    (key.to_string(), self.eval(v))
                }
                "shorthand_property_identifier" => {
                    let key = self.text(item).to_string();
                    let taint = self.state.vars.get(&key).cloned();
                    (key, taint)
                }
                _ => continue,
            };
            entries.push((key, item, taint));
        }
        entries
    }

    /// Whether `n` is a regular expression literal that backtracks catastrophically, or a name
    /// this file binds to one (`const RE = /(a+)+$/`, `new RegExp("(a+)+$")`).
    fn catastrophic_regex(&self, n: Node<'t>) -> bool {
        let n = strip(n);
        match n.kind() {
            "regex" => n
                .child_field("pattern")
                .is_some_and(|p| crate::taint::redos::catastrophic(self.text(p))),
            "new_expression" | "call_expression" => {
                let field = if n.kind() == "new_expression" {
                    "constructor"
                } else {
                    "function"
                };
                n.child_field(field)
                    .is_some_and(|c| self.text(c) == "RegExp")
                    && Self::args(n).first().is_some_and(|a| match a.kind() {
                        "regex" => self.catastrophic_regex(*a),
                        // the source text of a string literal: `"\\w+"` is the pattern `\w+`
                        _ => string_value(self.shared.text, *a).is_some_and(|s| {
                            crate::taint::redos::catastrophic(&s.replace("\\\\", "\\"))
                        }),
                    })
            }
            "identifier" => {
                let name = self.text(n);
                if let Some(&known) = self.shared.bound_regexes.borrow().get(name) {
                    return known;
                }
                let mut root = n;
                while let Some(p) = root.parent() {
                    root = p;
                }
                // the answer depends on the name alone: every node of the walk is in one tree
                let found = self.bound_regex(root, name, 0);
                self.shared
                    .bound_regexes
                    .borrow_mut()
                    .insert(name.to_string(), found);
                found
            }
            _ => false,
        }
    }

    /// A `const`/`let`/`var` declaration of `name` anywhere in the file holding a catastrophic regex.
    fn bound_regex(&self, n: Node<'t>, name: &str, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        if n.kind() == "variable_declarator"
            && n.child_field("name").is_some_and(|x| self.text(x) == name)
            && let Some(v) = n.child_field("value")
            && v.kind() != "identifier"
        {
            return self.catastrophic_regex(v);
        }
        let mut cursor = n.walk();
        n.children(&mut cursor)
            .any(|c| self.bound_regex(c, name, depth + 1))
    }

    /// For `[a, b, ...].join(sep)`: the text the joined string starts with, from the string
    /// literals that lead the array.
    pub(super) fn joined_prefix(
        &self,
        method: &str,
        receiver: Option<Node<'t>>,
        args: &[Node<'t>],
    ) -> Option<String> {
        let list = strip(receiver?);
        if method != "join" || list.kind() != "array" {
            return None;
        }
        let sep = match args.first() {
            Some(a) => string_value(self.shared.text, strip(*a))?,
            None => ",",
        };
        let mut prefix = String::new();
        for item in crate::parse::named_children(list) {
            let Some(v) = string_value(self.shared.text, strip(item)) else {
                break;
            };
            prefix.push_str(v);
            prefix.push_str(sep);
        }
        (!prefix.is_empty()).then_some(prefix)
    }

    /// What `recv.replace(re, "")` leaves of a path: `Some(true)` when it removes every slash
    /// (nothing can climb out), `Some(false)` when no `..` can remain (every dot removed, or
    /// the leading `../` run of a `path.normalize` result stripped), else `None`.
    fn path_cleaning(
        &self,
        method: &str,
        receiver: Option<Node<'t>>,
        args: &[Node<'t>],
    ) -> Option<bool> {
        if !matches!(method, "replace" | "replaceAll") {
            return None;
        }
        let re = strip(*args.first()?);
        let with = string_value(self.shared.text, strip(*args.get(1)?))?;
        if re.kind() != "regex" || with.contains(['.', '/', '\\']) {
            return None;
        }
        let pattern = self.text(re.child_field("pattern")?);
        let global = re
            .child_field("flags")
            .is_some_and(|f| self.text(f).contains('g'));
        if global && removes_every(pattern, '/') {
            return Some(true);
        }
        if global && (removes_every(pattern, '.') || branches(pattern).any(|b| b == r"\.\.")) {
            return Some(false);
        }
        // a normalised path keeps `..` only as its leading segments
        let normalised = receiver.map(strip).is_some_and(|r| {
            r.kind() == "call_expression"
                && r.child_field("function")
                    .is_some_and(|c| self.path_of(c).last().is_some_and(|m| m == "normalize"))
        });
        let leading = pattern.strip_prefix('^').unwrap_or(pattern);
        (normalised
            && matches!(
                leading,
                r"(\.\.[\/\\])+" | r"(\.\.\/)+" | r"(\.\.\/)*" | r"(\.\.[\/\\])*"
            ))
        .then_some(false)
    }

    /// Whether `r` names a parameter of a callback that a query hands its error or count: the
    /// first of `Model.find(q, (err, docs) => ...)` or `query.exec((err, doc) => ...)`, any of
    /// `Model.count(q, (err, n) => ...)`, or the rejection handler of `then`/`catch`.
    fn query_callback_value(&self, r: Node<'t>) -> bool {
        const QUERIES: &[&str] = &[
            "find",
            "findOne",
            "findById",
            "count",
            "countDocuments",
            "exec",
            "aggregate",
            "distinct",
            "findOneAndUpdate",
            "updateOne",
            "updateMany",
            "deleteOne",
            "deleteMany",
        ];
        let r = strip(r);
        if r.kind() != "identifier" {
            return false;
        }
        let name = self.text(r);
        let mut at = r.parent();
        while let Some(f) = at {
            if is_function(f) {
                // which parameter declares the name (a lone `x =>` is the first)
                let declared = f.child_field("parameters").map_or_else(
                    || {
                        f.child_field("parameter")
                            .filter(|p| self.text(*p) == name)
                            .map(|_| 0)
                    },
                    |ps| {
                        crate::parse::named_children(ps)
                            .into_iter()
                            .position(|p| self.text(strip_param(p)) == name)
                    },
                );
                let Some(param) = declared else {
                    at = f.parent();
                    continue;
                };
                let Some(list) = f.parent().filter(|a| a.kind() == "arguments") else {
                    return false;
                };
                let Some(call) = list.parent().filter(|c| c.kind() == "call_expression") else {
                    return false;
                };
                let position = crate::parse::named_children(list)
                    .iter()
                    .position(|a| a.id() == f.id());
                let method = call
                    .child_field("function")
                    .map(|c| self.path_of(c))
                    .and_then(|p| p.last().cloned())
                    .unwrap_or_default();
                // node-style callbacks: the error first; a count's result is a number
                return (QUERIES.contains(&method.as_str())
                    && (param == 0 || matches!(method.as_str(), "count" | "countDocuments")))
                    || method == "catch"
                    || (method == "then" && position == Some(1));
            }
            at = f.parent();
        }
        false
    }

    /// The rules a call to `escapeHtml` is a sanitizer for.
    pub(super) fn html_escape_mask(&self) -> u64 {
        self.sanitizer_mask("escapeHtml")
    }

    /// The rules a call to `shellescape` is a sanitizer for.
    pub(super) fn shell_escape_mask(&self) -> u64 {
        self.sanitizer_mask("shellescape")
    }

    /// The rules a call of the function `name` is a sanitizer for.
    fn sanitizer_mask(&self, name: &str) -> u64 {
        let name = [name.to_string()];
        self.shared
            .cfg
            .sanitizers
            .iter()
            .filter(|(p, _)| !p.is_new && p.matches_path(&name))
            .fold(0, |m, (_, bit)| m | bit)
    }
}

/// The name a parameter declares (`x` of `x = 1` or `x: T`).
fn strip_param(p: Node<'_>) -> Node<'_> {
    match p.kind() {
        "assignment_pattern" => p.child_field("left").unwrap_or(p),
        "required_parameter" | "optional_parameter" => p.child_field("pattern").unwrap_or(p),
        _ => p,
    }
}

/// Names an error-first callback gives its error parameter (`(err, value) => ...`).
const ERROR_PARAMS: &[&str] = &["err", "error", "e", "ex", "exception"];

/// Methods only strings have, returning a string (a receiver that is an object throws).
const STRING_METHODS: &[&str] = &[
    "substr",
    "substring",
    "trim",
    "trimStart",
    "trimEnd",
    "toLowerCase",
    "toUpperCase",
    "charAt",
    "padStart",
    "padEnd",
];

/// The characters of a regular expression source that give it structure rather than text: those
/// outside escapes and character classes, each with the group depth before it (`(i, c, depth)`).
pub(super) fn structural(
    chars: impl Iterator<Item = (usize, char)>,
) -> impl Iterator<Item = (usize, char, usize)> {
    let (mut depth, mut class, mut escaped) = (0usize, false, false);
    chars.filter_map(move |(i, c)| {
        let before = depth;
        if escaped {
            escaped = false;
            return None;
        }
        match c {
            '\\' => escaped = true,
            '[' => class = true,
            ']' => class = false,
            _ if class => {}
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        (!matches!(c, '\\' | '[' | ']') && !class).then_some((i, c, before))
    })
}

/// The top-level alternatives of a regular expression source.
pub(super) fn branches(pattern: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut cuts = Vec::new();
    for (i, _, _) in structural(pattern.char_indices()).filter(|&(_, c, d)| c == '|' && d == 0) {
        cuts.push(&pattern[start..i]);
        start = i + 1;
    }
    cuts.push(&pattern[start..]);
    cuts.into_iter()
}

/// Whether a global `replace` of `pattern` removes every `c` (`.` or `/`): one alternative is
/// that character alone (`\/`, `\.`), or a character class (not negated) that holds it,
/// repeated or not.
fn removes_every(pattern: &str, c: char) -> bool {
    branches(pattern).any(|b| {
        let b = b.trim_end_matches(['+', '*']);
        if b == format!("\\{c}") || (c == '/' && b == "/") {
            return true;
        }
        let Some(inner) = b.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
            return false;
        };
        if inner.starts_with('^') {
            return false;
        }
        // inside a class `.` is literal, and `\\.`, `\\/` name the character as well
        inner.contains(c)
    })
}

/// The calls of the function named `name` under `n` (at most 64 levels deep: an executor
/// settles its promise near its top).
fn calls_of<'t>(n: Node<'t>, name: &str, text: &str, out: &mut Vec<Node<'t>>, depth: usize) {
    if depth >= 64 || crate::engine::stack::exhausted() {
        return;
    }
    if n.kind() == "call_expression"
        && n.child_field("function")
            .is_some_and(|f| f.kind() == "identifier" && node_text(text, f) == name)
    {
        out.push(n);
    }
    let mut cursor = n.walk();
    for c in n.named_children(&mut cursor) {
        calls_of(c, name, text, out, depth + 1);
    }
}

/// Whether a same-file function is an HTML escaper: named like one (`escapeHtml1`,
/// `encodeEntities`) and writing HTML entities or testing for the characters that need them.
fn is_html_escaper(text: &str, f: Node<'_>) -> bool {
    let name = f
        .child_field("name")
        .or_else(|| {
            f.parent()
                .filter(|p| p.kind() == "variable_declarator")
                .and_then(|p| p.child_field("name"))
        })
        .map_or("", |n| node_text(text, n))
        .to_ascii_lowercase();
    if !["escape", "encode", "sanitiz", "entit"]
        .iter()
        .any(|w| name.contains(w))
    {
        return false;
    }
    let body = node_text(text, f);
    [
        "&amp;", "&lt;", "&gt;", "&quot;", "&#", "&<>", "<>&", "'&<>", "\"&<>", "[<>&",
        // an attribute escaper percent-encodes the quotes (`"` as `%22`, `'` as `%27`)
        "%22", "%27",
    ]
    .iter()
    .any(|m| body.contains(m))
}

/// Whether a callback source's event name pattern accepts the literal event `v`: `a|b` lists the
/// events, `!a|b` every event but these (a socket.io handler for any custom event, never its
/// `connect`/`disconnect` lifecycle events).
fn event_matches(pattern: &str, v: &str) -> bool {
    match pattern.strip_prefix('!') {
        Some(rest) => !rest.split('|').any(|x| x == v),
        None => pattern.split('|').any(|x| x == v),
    }
}

/// Whether a callback reads its event's sender (`event.origin`): a `postMessage` handler that
/// checks where a message comes from is not fed untrusted input (the check itself is not judged).
fn reads_origin(body: &str, param: &str) -> bool {
    !param.is_empty()
        && param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        && body.contains(&format!("{param}.origin"))
}

/// Whether a same-file function calls, constructs and throws nothing: it cannot throw an error
/// that holds its arguments.
fn cannot_throw(f: Node<'_>) -> bool {
    let Some(body) = f.child_by_field_name("body") else {
        return false;
    };
    let mut cursor = body.walk();
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if matches!(
            n.kind(),
            "call_expression" | "new_expression" | "throw_statement" | "await_expression"
        ) {
            return false;
        }
        stack.extend(n.named_children(&mut cursor));
    }
    true
}

/// What an object-literal argument gives one destructured field of a helper's parameter.
enum LiteralField {
    /// Not a plain object literal (a variable, a spread, a computed key, a call as the value):
    /// the whole argument stands for the field.
    Unknown,
    /// The literal does not set the field, or sets it to a trusted value.
    Unset,
    /// The field's untrusted value.
    Value(Taint),
}

/// Methods of jQuery objects that DOM elements lack: a function that calls one on `this`
/// runs with a jQuery object as `this` (a plugin), as does one stored in `$.fn`.
const JQUERY_ONLY: &[&str] = &[
    "each",
    "html",
    "css",
    "addClass",
    "removeClass",
    "toggleClass",
    "attr",
    "prop",
    "find",
    "fadeIn",
    "fadeOut",
    "show",
    "hide",
    "on",
    "off",
    "val",
];

/// The function whose `this` the code at `n` reads: the innermost one not an arrow.
fn this_function(n: Node<'_>) -> Option<Node<'_>> {
    let mut at = n.parent();
    while let Some(p) = at {
        match p.kind() {
            "function_expression"
            | "function"
            | "function_declaration"
            | "method_definition"
            | "generator_function"
            | "generator_function_declaration" => return Some(p),
            "class_body" => return None,
            _ => at = p.parent(),
        }
    }
    None
}

/// Whether `this` at `n` is a jQuery object: its function is stored in `$.fn` / `jQuery.fn`,
/// or calls a jQuery-only method on `this` itself (not in a nested function), and is not
/// handed to a call as a callback.
fn jquery_this(w: &Walker<'_, '_>, n: Node<'_>) -> bool {
    // a callback (`.each(function () {})`, an event handler) is called with an element
    let Some(f) = this_function(n).filter(|f| f.parent().is_none_or(|p| p.kind() != "arguments"))
    else {
        return false;
    };
    let stored_in_fn = f
        .parent()
        .filter(|p| p.kind() == "assignment_expression")
        .and_then(|p| p.child_field("left"))
        .is_some_and(|l| {
            let path = w.path_of(l);
            path.len() >= 2 && matches!(path[0].as_str(), "$" | "jQuery") && path[1] == "fn"
        });
    if stored_in_fn {
        return true;
    }
    let mut stack = vec![f];
    let mut seen = 0;
    while let Some(x) = stack.pop() {
        seen += 1;
        if seen > 4096 {
            return false;
        }
        if x.kind() == "call_expression"
            && let Some(callee) = x.child_field("function")
            && callee.kind() == "member_expression"
            && callee
                .child_field("object")
                .is_some_and(|o| o.kind() == "this")
            && callee
                .child_field("property")
                .is_some_and(|p| JQUERY_ONLY.contains(&w.text(p)))
            && this_function(x) == Some(f)
        {
            return true;
        }
        let mut c = x.walk();
        stack.extend(x.named_children(&mut c));
    }
    false
}

/// Whether `path` converts its argument to a number without bounding it.
fn is_numeric_coercion(path: &[String]) -> bool {
    match path {
        [f] => matches!(f.as_str(), "parseInt" | "parseFloat" | "Number"),
        [o, f] => match o.as_str() {
            "Number" => matches!(f.as_str(), "parseInt" | "parseFloat"),
            "Math" => matches!(f.as_str(), "floor" | "ceil" | "round" | "trunc" | "abs"),
            _ => false,
        },
        _ => false,
    }
}

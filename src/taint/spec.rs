//! The `taint:` rule format: raw YAML shapes, named sets, and the compiled patterns they become.
//!
//! A pattern is a dotted path (`req.body`, `$DB.query`, `!JSON.parse`) optionally followed by an
//! argument list (`(...)`, `(#0)`, `(#0, #1)`); `new ` in front matches constructor calls only.
//! Path segments: a literal name, `$NAME` or `*` (any one segment), `a|b` (alternatives),
//! `!a|b` (any segment but these), `#` (the guarded value itself, in guards). `#n` in the argument
//! list names the argument positions that matter (sink arguments, guarded argument).
//! Named sets (`@request`, `@sql`, ...) live in `rules/injection/taint-sets.json` so rules share them.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

/// The embedded file holding named sets of sources, sinks, sanitizers, guards and propagators.
pub const SETS_FILE: &str = "rules/injection/taint-sets.json";

/// One raw source entry: a pattern (or `@set`), a handler parameter, or a callback parameter.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSource {
    /// `req.body`, `request.json()`, `@request`.
    Pattern(String),
    /// A parameter of a function with one of these names (route handlers).
    Param {
        /// The handler.
        param: RawParam,
    },
    /// A parameter of a callback passed to a call (`ws.on("message", (data) => ...)`).
    Callback {
        /// The registration call.
        callback: RawCallback,
    },
    /// A parameter whose TypeScript type names a request (`(request: NextRequest)`).
    Typed {
        /// The typed parameter.
        typed: RawTyped,
    },
    /// A parameter of a function that is a member of an object under one of these keys
    /// (GraphQL resolvers: `Query: { user(parent, args) { ... } }`).
    Member {
        /// The member.
        member: RawMember,
    },
    /// A parameter with one of these decorators (Nest: `@Body() dto`, `@Query("q") q`).
    Decorated {
        /// The decorator.
        decorated: RawDecorated,
    },
}

/// A decorated-parameter source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDecorated {
    /// Decorator names, `a|b|c`.
    pub name: String,
    /// The parameter stands for this source root (`req` for `@Req() request`).
    #[serde(default, rename = "as")]
    pub root: Option<String>,
}

/// A resolver-style source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMember {
    /// Keys of the enclosing object, `a|b|c`.
    pub parent: String,
    /// Parameter position.
    pub index: usize,
}

/// A typed parameter source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTyped {
    /// Type names, `a|b|c` (the last dotted segment, before any `<...>`).
    #[serde(rename = "type")]
    pub types: String,
    /// The parameter stands for this source root (`req`): `request.body` is then `req.body`.
    #[serde(rename = "as")]
    pub root: String,
}

/// A handler parameter source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParam {
    /// Function names, `a|b|c`.
    pub function: String,
    /// Parameter position.
    pub index: usize,
    /// The parameter stands for this source root (`req`) instead of being untrusted as a whole.
    #[serde(default, rename = "as")]
    pub root: Option<String>,
    /// Only a parameter declared under one of these names, `a|b` (a Lambda handler's `event`).
    #[serde(default)]
    pub named: Option<String>,
}

/// A callback parameter source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCallback {
    /// The registering call's callee pattern, e.g. `$WS.on`.
    pub call: String,
    /// The first argument must be this string literal (the event name): `a|b`, or `!a|b` for any
    /// literal event but these.
    #[serde(default)]
    pub event: Option<String>,
    /// The callback parameter that carries the input.
    pub index: usize,
    /// The parameter stands for this source root (`req`) instead of being untrusted as a whole:
    /// `(request, reply) => request.body` is then `req.body`, and `({ query }) =>` is `req.query`.
    #[serde(default, rename = "as")]
    pub root: Option<String>,
    /// Words one of which a file must contain for this source to be looked for (default: the
    /// call's method names). Keeps `app.get(...)`-style sources from waking every file with a `get`.
    #[serde(default)]
    pub hints: Option<Vec<String>>,
}

/// One raw sink entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSink {
    /// `$DB.query(#0)` or `@sql`.
    Pattern(String),
    /// A sink with options.
    Detailed(Box<RawSinkSpec>),
}

/// A sink with options; exactly one of `call`, `assign`, `jsx`, `property`, `render`, `key`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent sink filters read from YAML, not a state machine"
)]
pub struct RawSinkSpec {
    /// A call pattern with `#n` argument positions.
    pub call: Option<String>,
    /// An assignment target path, e.g. `$EL.innerHTML`.
    pub assign: Option<String>,
    /// A JSX attribute name.
    pub jsx: Option<String>,
    /// An object-literal key whose value is the sink.
    pub property: Option<String>,
    /// A template render call (`res.render(#0, #1)`): the view name's position first, the
    /// locals object's second.
    pub render: Option<String>,
    /// The computed key of a method called on this object (`window[name](...)`): the key
    /// chooses which function runs.
    pub key: Option<String>,
    /// The computed key of an object a write goes through (`obj[key].x = v`,
    /// `obj[key][name] = v`): a `__proto__` key writes to `Object.prototype`.
    #[serde(default)]
    pub key_of_written: bool,
    /// For `property` and `call`: only inside the arguments of a call matching this pattern.
    pub inside: Option<String>,
    /// For `property`: only when the object's text matches this regex (e.g. `role: "system"`).
    pub sibling: Option<String>,
    /// Only values that may be strings (built strings, request fields), not object or array
    /// literals and not a whole request object.
    #[serde(default)]
    pub string: bool,
    /// Only the whole request object (or a spread copy), not one of its fields.
    #[serde(default)]
    pub whole: bool,
    /// Only values that can choose the host (not `/fixed/${x}` or `https://host/${x}`).
    #[serde(default)]
    pub host: bool,
    /// Only values the input starts: not `DIR + "/" + x` or `` `data/${x}` `` (for sinks that
    /// reject `..` segments themselves, such as Express `res.sendFile`).
    #[serde(default)]
    pub unanchored: bool,
    /// Only values that may be objects: not strings built by `+`, template literals or string
    /// methods (a filter value that cannot carry query operators).
    #[serde(default)]
    pub objects: bool,
    /// Only calls whose argument text matches this regex.
    pub if_args: Option<String>,
    /// Not calls whose argument text matches this regex.
    pub unless_args: Option<String>,
    /// Not inside a function whose text matches this regex (e.g. a handler that sets a
    /// non-HTML content type).
    pub unless_function: Option<String>,
    /// Only inside a function whose text (decorators included) matches this regex (e.g. a `NestJS`
    /// handler marked `@Redirect()`, whose returned `url` is where the user is sent).
    pub if_function: Option<String>,
    /// Not in a file whose text matches this regex (e.g. one that installs a scrubbing hook).
    pub unless_file: Option<String>,
    /// Only in a file whose text matches this regex (e.g. one that allows credentialed CORS).
    pub if_file: Option<String>,
    /// Not calls whose callee text matches this regex (`ragService.query` is not SQL).
    pub unless_callee: Option<String>,
    /// Only calls that run a backtracking-prone regular expression literal (nested unbounded
    /// quantifiers, `(a+)+`) written in this file: the receiver of `re.test(#0)` / `re.exec(#0)`,
    /// or the first argument of `input.match(re)` (the value checked is then the receiver).
    #[serde(default)]
    pub redos: bool,
    /// Reported only where no other sink of the rule is reached from the same source: a step
    /// that usually leads on to a sink the engine cannot see (`path.join(ROOT, name)` handed to
    /// another module's file helper), kept silent where the real sink is in view.
    #[serde(default)]
    pub fallback: bool,
}

/// The raw `taint:` block of a rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTaint {
    /// Where untrusted values come from.
    pub sources: Vec<RawSource>,
    /// Where they must not arrive.
    pub sinks: Vec<RawSink>,
    /// Calls whose result is clean for this rule.
    #[serde(default)]
    pub sanitizers: Vec<String>,
    /// Checks that make a value safe inside (or after an early exit of) an `if`.
    #[serde(default)]
    pub guards: Vec<String>,
    /// Only code that runs on a server: files shipped to browsers or phones
    /// ([`crate::platform::client_side`]) start no flow of this rule.
    #[serde(default)]
    pub server_only: bool,
}

/// The named sets file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSets {
    /// Named source sets.
    #[serde(default)]
    pub sources: BTreeMap<String, Vec<RawSource>>,
    /// Named sink sets.
    #[serde(default)]
    pub sinks: BTreeMap<String, Vec<RawSink>>,
    /// Named sanitizer sets.
    #[serde(default)]
    pub sanitizers: BTreeMap<String, Vec<String>>,
    /// Named guard sets.
    #[serde(default)]
    pub guards: BTreeMap<String, Vec<String>>,
    /// Calls whose result carries the taint of their arguments (for every rule).
    #[serde(default)]
    pub propagators: Vec<String>,
}

/// One path segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Seg {
    /// Any one segment.
    Any,
    /// One of these names.
    Names(Vec<String>),
    /// Any segment but these names.
    Not(Vec<String>),
    /// The guarded value (guards only).
    Hole,
    /// A leading `$X`: one or more segments (`$DB.query` matches `this.pool.query`).
    Prefix,
}

impl Seg {
    fn matches(&self, seg: &str) -> bool {
        match self {
            Seg::Any | Seg::Prefix => true,
            // sorted by `Pattern::parse`: the privacy sets hold thousands of spellings
            Seg::Names(names) => names.binary_search_by(|n| n.as_str().cmp(seg)).is_ok(),
            Seg::Not(names) => !names.iter().any(|n| n == seg),
            Seg::Hole => false,
        }
    }
}

/// A compiled pattern: a path, and for calls the argument positions that matter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// Path segments, outermost first.
    pub path: Vec<Seg>,
    /// `Some` for call patterns: the `#n` positions (possibly empty).
    pub args: Option<Vec<usize>>,
    /// Matches `new X(...)` only.
    pub is_new: bool,
}

impl Pattern {
    /// Parses a pattern; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let text = text.trim();
        let (is_new, text) = match text.strip_prefix("new ") {
            Some(rest) => (true, rest.trim()),
            None => (false, text),
        };
        let (path_text, args) = match text.find('(') {
            Some(open) => {
                let inner = text[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| format!("`{text}`: a call pattern ends with `)`"))?;
                let mut positions = Vec::new();
                for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if let Some(n) = part.strip_prefix('#') {
                        positions.push(n.parse().map_err(|_| {
                            format!("`{text}`: argument marks are `#0`, `#1`, ... or `...`")
                        })?);
                    } else if part != "..." && part != "_" {
                        return Err(format!(
                            "`{text}`: arguments are `#n` (matters), `_` or `...` (ignored)"
                        ));
                    }
                }
                (&text[..open], Some(positions))
            }
            None => (text, None),
        };
        if path_text.is_empty() {
            return Err("empty pattern: write a path such as `req.body` or `$DB.query(#0)`".into());
        }
        let path = path_text
            .split('.')
            .enumerate()
            .map(|(i, s)| match s {
                s if i == 0 && is_metavar(s) && path_text.contains('.') => Ok(Seg::Prefix),
                "" => Err(format!("`{text}`: empty path segment")),
                "*" => Ok(Seg::Any),
                "#" => Ok(Seg::Hole),
                s if is_metavar(s) => Ok(Seg::Any),
                s => {
                    if let Some(rest) = s.strip_prefix('!') {
                        Ok(Seg::Not(rest.split('|').map(String::from).collect()))
                    } else {
                        let mut names: Vec<String> = s.split('|').map(String::from).collect();
                        names.sort();
                        names.dedup();
                        Ok(Seg::Names(names))
                    }
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pattern { path, args, is_new })
    }

    /// Whether a concrete path matches (same length; `Hole` matches anything, checked by caller).
    pub fn matches_path(&self, path: &[String]) -> bool {
        if self.path.first() == Some(&Seg::Prefix) {
            let tail = &self.path[1..];
            return path.len() > tail.len()
                && tail
                    .iter()
                    .zip(&path[path.len() - tail.len()..])
                    .all(|(p, s)| p.matches(s));
        }
        self.path.len() == path.len()
            && self
                .path
                .iter()
                .zip(path)
                .all(|(p, s)| *p == Seg::Hole || p.matches(s))
    }

    /// Words (whole identifiers) one of which occurs wherever this pattern matches: the names
    /// of the first literal segment of three or more letters (`req` for `req.body`, which also
    /// occurs in `const { body } = req`; `req` for Hono's `c.req.query()`).
    pub fn hints(&self) -> Vec<String> {
        self.path
            .iter()
            .find_map(|s| match s {
                Seg::Names(names) if names.iter().all(|n| n.len() >= 3) => Some(names.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }
}

/// `$DB`, `$X`: a metavariable (upper case), unlike Prisma's `$queryRawUnsafe`.
fn is_metavar(s: &str) -> bool {
    s.len() > 1
        && s.starts_with('$')
        && s[1..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// What a sink looks at.
#[derive(Clone, Debug)]
pub enum SinkKind {
    /// Arguments of a call.
    Call(Pattern),
    /// The right-hand side of an assignment to this path.
    Assign(Pattern),
    /// The value of this JSX attribute.
    Jsx(String),
    /// The locals object of a template render call (`res.render(view, { name })`): a value is
    /// a sink when the named template prints that local without escaping (joined with the
    /// template files in the project pass).
    Render(Pattern),
    /// The computed key of a call on this object (`window[key](...)`, `new self[key]()`).
    Key(Pattern),
    /// The computed key of an object a write goes through (`obj[key].x = v`).
    KeyOfWritten,
    /// The value of an object-literal key.
    Property {
        /// The key.
        key: String,
        /// Only inside the arguments of such a call.
        inside: Option<Pattern>,
        /// Only when the object's text matches.
        sibling: Option<SinkRegex>,
    },
}

/// A compiled sink of one rule.
#[derive(Clone, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent sink filters read from YAML, not a state machine"
)]
pub struct Sink {
    /// Where.
    pub kind: SinkKind,
    /// Strings only.
    pub string: bool,
    /// Whole request objects only.
    pub whole: bool,
    /// Values that can choose the host only.
    pub host: bool,
    /// Values the input starts only (see [`RawSinkSpec::unanchored`]).
    pub unanchored: bool,
    /// Values that may be objects only (see [`RawSinkSpec::objects`]).
    pub objects: bool,
    /// Argument-text condition.
    pub if_args: Option<SinkRegex>,
    /// Argument-text exclusion.
    pub unless_args: Option<SinkRegex>,
    /// Enclosing-function exclusion.
    pub unless_function: Option<SinkRegex>,
    /// Enclosing-function condition.
    pub if_function: Option<SinkRegex>,
    /// File-text exclusion.
    pub unless_file: Option<SinkRegex>,
    /// File-text condition.
    pub if_file: Option<SinkRegex>,
    /// Callee-text exclusion.
    pub unless_callee: Option<SinkRegex>,
    /// Only calls running a catastrophic-backtracking regex literal (see [`RawSinkSpec::redos`]).
    pub redos: bool,
    /// Only where no other sink of the rule is reached from the same source (see
    /// [`RawSinkSpec::fallback`]).
    pub fallback: bool,
    /// Call sinks only inside the arguments of a call matching this pattern
    /// (`new RegExp(q)` inside `User.find(...)`).
    pub inside: Option<Pattern>,
}

/// A compiled source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A member path or a call whose result is untrusted.
    Pattern(Pattern),
    /// A handler parameter.
    Param {
        /// Handler names.
        functions: Vec<String>,
        /// Position.
        index: usize,
        /// The source root the parameter stands for; `None`: untrusted as a whole.
        root: Option<String>,
        /// Parameter names that qualify; empty: any.
        named: Vec<String>,
    },
    /// A callback parameter.
    Callback {
        /// The registering call.
        call: Pattern,
        /// Required event name.
        event: Option<String>,
        /// Position of the callback parameter.
        index: usize,
        /// The source root the parameter stands for; `None`: untrusted as a whole.
        root: Option<String>,
        /// Words that must occur in the file.
        hints: Option<Vec<String>>,
    },
    /// A parameter of a function under one of these object keys.
    Member {
        /// The keys.
        parents: Vec<String>,
        /// Position.
        index: usize,
    },
    /// A parameter with one of these decorators; with an argument (`@Query("q")`) it is one
    /// field, without (`@Body()`) the whole object.
    Decorated {
        /// Decorator names.
        names: Vec<String>,
        /// The source root the parameter stands for; `None`: untrusted itself.
        root: Option<String>,
    },
    /// A parameter with one of these type names stands for a source root.
    Typed {
        /// Type names.
        types: Vec<String>,
        /// The root.
        root: String,
    },
}

/// One rule's compiled taint specification.
#[derive(Clone, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent per-rule switches, each read once when the rules compile into masks"
)]
pub struct TaintSpec {
    /// Sources.
    pub sources: Vec<Source>,
    /// Sinks.
    pub sinks: Vec<Sink>,
    /// Sanitizer call patterns.
    pub sanitizers: Vec<Pattern>,
    /// Guard call patterns.
    pub guards: Vec<Pattern>,
    /// `typeof x === "string"` makes `x` safe for this rule (operator injection needs objects).
    pub typeof_string: bool,
    /// See [`DOT_FREE`].
    pub dot_free: bool,
    /// See [`THROWN`].
    pub thrown: bool,
    /// See [`UPPER_BOUND`].
    pub bounded: bool,
}

/// A sink's regex. Those of embedded rules are compiled on first use (most scans reach few sinks;
/// compiling them all was a twentieth of start-up, issue 22), and a unit test proves they
/// compile; with a user taint rule in the set, all are compiled when the rules load, so that a
/// bad one is reported there. Clones share the compiled program.
#[derive(Clone, Debug)]
pub struct SinkRegex(std::sync::Arc<(String, std::sync::OnceLock<Option<Regex>>)>);

impl SinkRegex {
    /// Whether the regex matches `text` (never, should an embedded one fail to compile).
    pub fn is_match(&self, text: &str) -> bool {
        let (source, compiled) = &*self.0;
        compiled
            .get_or_init(|| Regex::new(source).ok())
            .as_ref()
            .is_some_and(|r| r.is_match(text))
    }
}

fn regex(text: Option<&String>) -> Result<Option<Regex>, String> {
    text.map(|t| Regex::new(t).map_err(|e| format!("bad regex `{t}`: {e}")))
        .transpose()
}

fn expand<'a, T: Clone>(
    items: &'a [T],
    sets: &'a BTreeMap<String, Vec<T>>,
    name_of: impl Fn(&T) -> Option<&str>,
    what: &str,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for item in items {
        match name_of(item).and_then(|n| n.strip_prefix('@')) {
            Some(set) => out.extend(
                sets.get(set)
                    .ok_or_else(|| {
                        format!(
                            "unknown {what} set `@{set}`; known: {}",
                            sets.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    })?
                    .iter()
                    .cloned(),
            ),
            None => out.push(item.clone()),
        }
    }
    Ok(out)
}

/// Patterns parsed once per analyzer build: the shared sets recur in many rules, and the privacy
/// catalogue's sources spell out thousands of names (parsing them again for every rule was a
/// large part of start-up, issue 22).
/// Likewise the regexes of the shared sink sets, compiled now or on first use (`lazy`, see
/// [`SinkRegex`]).
#[derive(Default)]
pub struct PatternCache {
    patterns: std::collections::HashMap<String, Pattern>,
    regexes: std::collections::HashMap<String, SinkRegex>,
    lazy: bool,
}

impl PatternCache {
    /// An empty cache; `lazy`: sink regexes are compiled on first use.
    pub fn new(lazy: bool) -> Self {
        PatternCache {
            lazy,
            ..PatternCache::default()
        }
    }

    /// [`Pattern::parse`], answered from the cache when `text` was parsed before.
    pub fn parse(&mut self, text: &str) -> Result<Pattern, String> {
        if let Some(p) = self.patterns.get(text) {
            return Ok(p.clone());
        }
        let p = Pattern::parse(text)?;
        self.patterns.insert(text.to_string(), p.clone());
        Ok(p)
    }

    /// The regex of an optional sink field, compiled once per distinct text.
    fn regex(&mut self, text: Option<&String>) -> Result<Option<SinkRegex>, String> {
        let Some(text) = text else {
            return Ok(None);
        };
        if let Some(r) = self.regexes.get(text) {
            return Ok(Some(r.clone()));
        }
        let compiled = if self.lazy {
            std::sync::OnceLock::new()
        } else {
            std::sync::OnceLock::from(regex(Some(text))?)
        };
        let r = SinkRegex(std::sync::Arc::new((text.clone(), compiled)));
        self.regexes.insert(text.clone(), r.clone());
        Ok(Some(r))
    }
}

/// Compiles a rule's raw block against the named sets.
pub fn compile(
    raw: &RawTaint,
    sets: &RawSets,
    cache: &mut PatternCache,
) -> Result<TaintSpec, String> {
    let thrown = raw.sources.iter().any(is_thrown);
    let listed: Vec<RawSource> = raw
        .sources
        .iter()
        .filter(|s| !is_thrown(s))
        .cloned()
        .collect();
    let sources = expand(
        &listed,
        &sets.sources,
        |s| match s {
            RawSource::Pattern(p) => Some(p.as_str()),
            _ => None,
        },
        "source",
    )?
    .into_iter()
    .map(|s| {
        Ok(match s {
            RawSource::Pattern(p) => Source::Pattern(cache.parse(&p)?),
            RawSource::Param { param } => Source::Param {
                functions: param.function.split('|').map(String::from).collect(),
                index: param.index,
                root: param.root,
                named: param
                    .named
                    .map(|n| n.split('|').map(String::from).collect())
                    .unwrap_or_default(),
            },
            RawSource::Callback { callback } => Source::Callback {
                call: cache.parse(&callback.call)?,
                event: callback.event,
                index: callback.index,
                root: callback.root,
                hints: callback.hints,
            },
            RawSource::Member { member } => Source::Member {
                parents: member.parent.split('|').map(String::from).collect(),
                index: member.index,
            },
            RawSource::Decorated { decorated } => Source::Decorated {
                names: decorated.name.split('|').map(String::from).collect(),
                root: decorated.root,
            },
            RawSource::Typed { typed } => Source::Typed {
                types: typed.types.split('|').map(String::from).collect(),
                root: typed.root,
            },
        })
    })
    .collect::<Result<Vec<_>, String>>()?;
    let sinks = expand(
        &raw.sinks,
        &sets.sinks,
        |s| match s {
            RawSink::Pattern(p) => Some(p.as_str()),
            RawSink::Detailed(_) => None,
        },
        "sink",
    )?
    .into_iter()
    .map(|s| {
        let spec = match s {
            RawSink::Pattern(p) => RawSinkSpec {
                call: Some(p),
                ..RawSinkSpec::default()
            },
            RawSink::Detailed(d) => *d,
        };
        let kind = match (&spec.call, &spec.assign, &spec.jsx, &spec.property) {
            (None, None, None, None)
                if spec.key_of_written && spec.key.is_none() && spec.render.is_none() =>
            {
                SinkKind::KeyOfWritten
            }
            _ if spec.key_of_written => {
                return Err(
                    "a sink has exactly one of `call`, `assign`, `jsx`, `property`, `render`, `key`, `key-of-written`"
                        .into(),
                );
            }
            (None, None, None, None) if spec.key.is_some() && spec.render.is_none() => {
                SinkKind::Key(cache.parse(spec.key.as_deref().unwrap_or_default())?)
            }
            _ if spec.key.is_some() => {
                return Err(
                    "a sink has exactly one of `call`, `assign`, `jsx`, `property`, `render`, `key`"
                        .into(),
                );
            }
            (None, None, None, None) if spec.render.is_some() => {
                let r = spec.render.as_deref().unwrap_or_default();
                let p = cache.parse(r)?;
                if p.args.as_ref().is_none_or(|a| a.len() != 2) {
                    return Err(format!(
                        "render sink `{r}` names the view and the locals, e.g. `res.render(#0, #1)`"
                    ));
                }
                SinkKind::Render(p)
            }
            _ if spec.render.is_some() => {
                return Err(
                    "a sink has exactly one of `call`, `assign`, `jsx`, `property`, `render`, `key`"
                        .into(),
                );
            }
            (Some(c), None, None, None) => {
                let p = cache.parse(c)?;
                if p.args.is_none() {
                    return Err(format!(
                        "sink `{c}` is not a call: write the arguments, e.g. `{c}(#0)`"
                    ));
                }
                SinkKind::Call(p)
            }
            (None, Some(a), None, None) => SinkKind::Assign(cache.parse(a)?),
            (None, None, Some(j), None) => SinkKind::Jsx(j.clone()),
            (None, None, None, Some(k)) => SinkKind::Property {
                key: k.clone(),
                inside: spec.inside.as_deref().map(|i| cache.parse(i)).transpose()?,
                sibling: cache.regex(spec.sibling.as_ref())?,
            },
            _ => {
                return Err(
                    "a sink has exactly one of `call`, `assign`, `jsx`, `property`, `render`, `key`"
                        .into(),
                );
            }
        };
        Ok(Sink {
            kind,
            string: spec.string,
            whole: spec.whole,
            host: spec.host,
            unanchored: spec.unanchored,
            objects: spec.objects,
            if_args: cache.regex(spec.if_args.as_ref())?,
            unless_args: cache.regex(spec.unless_args.as_ref())?,
            unless_function: cache.regex(spec.unless_function.as_ref())?,
            if_function: cache.regex(spec.if_function.as_ref())?,
            unless_file: cache.regex(spec.unless_file.as_ref())?,
            if_file: cache.regex(spec.if_file.as_ref())?,
            unless_callee: cache.regex(spec.unless_callee.as_ref())?,
            redos: spec.redos,
            fallback: spec.fallback,
            inside: match (&spec.call, &spec.inside) {
                (Some(_), Some(i)) => Some(cache.parse(i)?),
                _ => None,
            },
        })
    })
    .collect::<Result<Vec<_>, String>>()?;
    let mut calls = |items: &[String], sets: &BTreeMap<String, Vec<String>>, what: &str| {
        expand(items, sets, |s| Some(s.as_str()), what)?
            .iter()
            .map(|p| cache.parse(p))
            .collect::<Result<Vec<_>, String>>()
    };
    let dot_free = raw.sanitizers.iter().any(|s| s == DOT_FREE);
    let named: Vec<String> = raw
        .sanitizers
        .iter()
        .filter(|s| *s != DOT_FREE)
        .cloned()
        .collect();
    let sanitizers = calls(&named, &sets.sanitizers, "sanitizer")?;
    let typeof_string = raw.guards.iter().any(|g| g == TYPEOF_STRING);
    let bounded = raw.guards.iter().any(|g| g == UPPER_BOUND);
    let plain: Vec<String> = raw
        .guards
        .iter()
        .filter(|g| *g != TYPEOF_STRING && *g != UPPER_BOUND)
        .cloned()
        .collect();
    let guards = calls(&plain, &sets.guards, "guard")?;
    if sources.is_empty() || sinks.is_empty() {
        return Err("a taint rule needs at least one source and one sink".into());
    }
    Ok(TaintSpec {
        sources,
        sinks,
        sanitizers,
        guards,
        typeof_string,
        dot_free,
        thrown,
        bounded,
    })
}

/// Whether a source entry is [`THROWN`].
pub fn is_thrown(s: &RawSource) -> bool {
    matches!(s, RawSource::Pattern(p) if p == THROWN)
}

/// The source entry saying an error caught around a call that was handed an untrusted value
/// carries that value (`try { JSON.parse(input) } catch (e) { el.innerHTML = e.message }`):
/// engines put the offending input into their messages.
pub const THROWN: &str = "errors thrown with it";

/// The sanitizer entry saying a path is safe once it cannot hold `..`: a global `replace` that
/// removes every slash, or one with no `..` (dots removed, or a normalised path's leading `../`
/// run stripped) behind a code-chosen start.
pub const DOT_FREE: &str = "dot free";

/// The guard entry saying a `typeof x === "string"` check makes `x` safe.
pub const TYPEOF_STRING: &str = "typeof string";

/// The guard entry of rules where the number itself is the danger (a size, a count, a page
/// limit): a comparison with an upper bound (`if (w > 2000) return`, `n <= MAX_ROWS`) makes the
/// value safe, numeric coercions (`parseInt`, `Number`, unary `+`, `Math.floor`) carry it on
/// instead of cleaning it, and `typeof x === "number"` proves nothing.
pub const UPPER_BOUND: &str = "upper bound";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_call_patterns_with_positions() {
        let p = Pattern::parse("$DB.query(#0, #2)").unwrap();
        assert_eq!(p.args, Some(vec![0, 2]));
        assert!(p.matches_path(&["pool".into(), "query".into()]));
        assert!(!p.matches_path(&["query".into()]));
        assert!(p.matches_path(&["this".into(), "pool".into(), "query".into()]));
        let n = Pattern::parse("new RegExp(#0)").unwrap();
        assert!(n.is_new);
        let x = Pattern::parse("!JSON.parse(...)").unwrap();
        assert!(!x.matches_path(&["JSON".into(), "parse".into()]));
        assert!(x.matches_path(&["schema".into(), "parse".into()]));
        let prisma = Pattern::parse("$DB.$queryRawUnsafe(#0)").unwrap();
        assert!(!prisma.matches_path(&["console".into(), "log".into()]));
        assert!(prisma.matches_path(&["prisma".into(), "$queryRawUnsafe".into()]));
        let url = Pattern::parse("URL(...)").unwrap();
        assert!(!url.matches_path(&["fetch".into()]));
    }

    #[test]
    fn rejects_bad_argument_marks() {
        assert!(Pattern::parse("db.query(x)").is_err());
        assert!(Pattern::parse("db.query(#0").is_err());
    }
}

//! `llm-router-route-without-rate-limit`: an Express/Fastify router module whose route reaches a
//! paid LLM (in the handler, or through a service module it imports: `ragService.query(q)` where
//! `services/rag.ts` builds a `ChatOpenAI`), mounted by the app with no sign-in check and no rate
//! limit anywhere on the way (issue 23: the route-file half of
//! `llm.public-llm-endpoint-without-rate-limit`, which sees only the app's own file).
//!
//! The per-file pass emits [`LlmRouteFacts`]: whether the file calls an LLM API, whether it names
//! a sign-in check or a rate limit, whether it creates the app, its imports, and (for router
//! modules, and routers the app's own file mounts) its routes with an inline handler and no
//! middleware. The project pass resolves
//! imports (relative, `@/` and `@alias/` paths), follows service modules two imports deep to an
//! LLM call, and climbs from each router module to the app that mounts it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::WordBounded;
use crate::discover::Candidate;
use crate::engine::{FileContext, ProjectContext, finding_at};
use crate::entry::{self, Handler};
use crate::finding::Finding;
use crate::source::LineIndex;

/// How many import hops from a route module to the LLM call.
const LLM_DEPTH: usize = 2;
/// How many import hops from a route module up to the app.
const MOUNT_DEPTH: usize = 4;

/// What one JavaScript/TypeScript file tells the project pass.
pub struct LlmRouteFacts {
    /// The file's code calls an LLM API.
    calls_llm: bool,
    /// The file's code names a sign-in check, a rate limit, a quota or a captcha.
    guarded: bool,
    /// The file creates the Express/Fastify app.
    creates_app: bool,
    /// Every module specifier the file imports, with the local names bound from it.
    imports: Vec<(String, Vec<String>)>,
    /// Local names bound to an instance or result of an imported name
    /// (`const ragService = new RAGService()`): local -> imported local.
    derived: Vec<(String, String)>,
    /// Routes registered here with an inline handler and no middleware.
    routes: Vec<Route>,
    /// Positions of the file, for findings at its routes.
    lines: LineIndex,
}

/// One route of a router module.
struct Route {
    /// The registration, reported.
    site: Range<usize>,
    /// The handler itself calls an LLM API.
    direct: bool,
    /// Names the handler calls or reads members of (`ragService` in `ragService.query(q)`).
    uses: BTreeSet<String>,
}

/// A call to a paid LLM API (SDKs, `LangChain` chat models, the providers' HTTP endpoints).
static LLM_CALL: WordBounded = WordBounded::new(
    r"chat\.completions\.(?:create|stream)|\bresponses\.create\(|\bmessages\.(?:create|stream)\(|\b(?:generateText|streamText|generateObject|streamObject)\(|\bgenerateContent(?:Stream)?\(|api\.openai\.com|api\.anthropic\.com|generativelanguage\.googleapis\.com|openrouter\.ai/api|api\.groq\.com|api\.mistral\.ai|api\.deepseek\.com|\bnew Chat(?:OpenAI|Anthropic|GoogleGenerativeAI|Groq|MistralAI|VertexAI|Bedrock)\(|\bai\.(?:definePrompt|defineFlow|generate)\(",
);

/// A sign-in check, a rate limit, a quota or a captcha named in code.
static GUARD: WordBounded = WordBounded::new(
    r#"(?i:\b\w*(?:rate_?limit|ratelimit|limiter|throttle|quota|credits?)\w*\s*(?:\(|\.|\[|=[^=>])|@upstash/ratelimit|express-rate-limit|rate-limiter-flexible|@fastify/rate-limit|captcha|turnstile)|(?i:headers\.get\(\s*['"]authorization|headers\.authorization|headers\[\s*['"]authorization)|\bauth\.getUser|\bgetUser\(|\bgetSession\(|getServerSession|\bauth\(\)|currentUser\(|verifyIdToken|jwtVerify|jwt\.verify|requireAuth|requireUser|withAuth|getAuth\(|clerkClient|clerkMiddleware|verifyToken|authenticate|passport\.|isAuthenticated|ensureAuth|\breq(?:uest)?\.(?:user|session|auth)\b|\.use\(\s*(?:['"`][^'"`]*['"`]\s*,\s*)?\w*(?:[aA]uth|[pP]rotect|[lL]imit|[gG]uard|[jJ]wt|[tT]oken)\w*"#,
);

/// The file creates an Express or Fastify app.
static CREATES_APP: WordBounded = WordBounded::new(r"\bexpress\(\s*\)|\b[fF]astify\(|\bnew Koa\(");

/// Module specifiers in `require(...)`, `import ... from` and `import(...)`; the `\b` before
/// `from` and `import` is checked by [`super::word_bounded_specifiers`].
static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:require\(\s*|from\s+|import\s*\(?\s*)['"`]([^'"`\s]+)['"`]"#)
        .expect("constant pattern compiles")
});

/// `const x = new Imported(...)`, `const x = Imported(...)`, `const x = Imported.create(...)`.
static DERIVED: WordBounded = WordBounded::new(
    r"\b(?:const|let|var)\s+([\w$]+)\s*(?::\s*[\w$<>]+\s*)?=\s*(?:new\s+)?([\w$]+)\b",
);

/// A name called or whose member is read: `ragService` in `ragService.query(q)`.
static USED: WordBounded = WordBounded::new(r"\b([\w$]+)\s*[.(]");

/// Route registrations worth parsing for.
fn may_have_routes(code: &str) -> bool {
    [".post(", ".get(", ".put(", ".patch(", ".all("]
        .iter()
        .any(|m| code.contains(m))
}

/// Whether a module specifier may name a project file: relative, `@/`/`~/`, or (`aliases`) an
/// `@name/...` path alias (which scoped npm packages look like too).
fn is_local(spec: &str, aliases: bool) -> bool {
    spec.starts_with('.')
        || spec.starts_with("@/")
        || spec.starts_with("~/")
        || (aliases && spec.starts_with('@') && spec.contains('/'))
}

/// The facts of one file: an LLM module, a route module, a file that mounts routers, or a
/// module with project imports (a link of the chain between them). Other files give none, so
/// `--cache` keeps their outcome, and only the first three are parsed.
pub fn facts(ctx: &FileContext<'_>) -> Option<LlmRouteFacts> {
    let src = ctx.file.text.as_str();
    let calls_llm = LLM_CALL.is_match(src);
    let has_routes = may_have_routes(src) && entry::may_have_entry_points(&ctx.file.display, src);
    let relevant = calls_llm || has_routes || src.contains(".use(");
    let specs: BTreeSet<&str> = super::word_bounded_specifiers(&IMPORT, src)
        .into_iter()
        .filter(|s| is_local(s, relevant))
        .collect();
    if !relevant && specs.is_empty() {
        return None;
    }
    // comments blanked where a guard, a call or a route may sit in one
    let parsed = if calls_llm || has_routes {
        ctx.tree().map(|t| t.root_node())
    } else {
        None
    };
    let code = parsed.map_or_else(
        || src.to_string(),
        |root| crate::parse::code_text(root, src),
    );
    let creates_app = CREATES_APP.is_match(&code);
    let mut routes = Vec::new();
    let mut imports: Vec<(String, Vec<String>)> = specs
        .into_iter()
        .map(|s| (s.to_string(), Vec::new()))
        .collect();
    let mut derived = Vec::new();
    // guards named by routes that carry their own middleware do not guard the others
    let mut own_guards: Vec<Range<usize>> = Vec::new();
    if has_routes && let Some(root) = parsed {
        let module = entry::module(&ctx.file.display, src, root);
        for e in &module.entries {
            if !e.middleware.is_empty() {
                own_guards.push(e.site.clone());
                continue;
            }
            let Handler::Inline(range) = &e.handler else {
                continue;
            };
            let body = code.get(range.clone()).unwrap_or_default();
            // in the app's own file, routes on the app itself are
            // `llm.public-llm-endpoint-without-rate-limit`'s; routes on a router it mounts are ours
            let on_app = e
                .router
                .as_deref()
                .is_none_or(|r| matches!(r, "app" | "server" | "fastify" | "api"));
            // router-level middleware (`router.use(requireAuth)`) guards every route of the router
            let router_middleware = module
                .uses
                .iter()
                .any(|u| Some(&u.target) == e.router.as_ref() && !u.args.is_empty());
            if router_middleware
                || (creates_app && on_app)
                || e.router.is_none()
                || GUARD.is_match(body)
            {
                continue;
            }
            routes.push(Route {
                site: e.site.clone(),
                direct: LLM_CALL.is_match(body),
                uses: USED
                    .captures_iter(body)
                    .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
                    .collect(),
            });
        }
        if !routes.is_empty() {
            for (spec, locals) in &mut imports {
                locals.extend(
                    module
                        .imports
                        .iter()
                        .filter(|i| &i.source == spec)
                        .map(|i| i.local.clone()),
                );
            }
            derived = DERIVED
                .captures_iter(&code)
                .filter_map(|c| {
                    Some((
                        c.get(1)?.as_str().to_string(),
                        c.get(2)?.as_str().to_string(),
                    ))
                })
                .collect();
        }
    }
    let guarded = GUARD
        .find_iter(&code)
        .any(|m| !own_guards.iter().any(|r| r.contains(&m.start())));
    Some(LlmRouteFacts {
        calls_llm: calls_llm && LLM_CALL.is_match(&code),
        guarded,
        creates_app,
        imports,
        derived,
        routes,
        lines: LineIndex::of(ctx.file),
    })
}

/// The project's files by display path, with an index by the last two path segments (without
/// extension) for aliased imports (`@/services/rag`, `@services/rag`).
struct Files<'p> {
    by_path: BTreeMap<&'p str, (&'p Candidate, &'p LlmRouteFacts)>,
    by_tail: BTreeMap<String, Vec<&'p str>>,
}

impl<'p> Files<'p> {
    fn new(project: &ProjectContext<'p>) -> Self {
        let by_path: BTreeMap<&str, (&Candidate, &LlmRouteFacts)> = project
            .facts::<LlmRouteFacts>()
            .map(|(c, f)| (c.display.as_str(), (c, f)))
            .collect();
        let mut by_tail: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for path in by_path.keys() {
            by_tail.entry(tail(path)).or_default().push(path);
        }
        Files { by_path, by_tail }
    }

    /// The file an import names, when it is one of the project's.
    fn resolve(&self, from: &str, spec: &str) -> Option<&'p str> {
        let mut candidates = entry::resolve_import(from, spec);
        if candidates.is_empty()
            && let Some(rest) = spec.strip_prefix('@')
            && rest.contains('/')
        {
            // a tsconfig path alias (`@services/rag` -> `src/services/rag.ts`); a scoped npm
            // package (`@prisma/client`) finds no project file of that name
            candidates = entry::resolve_import(from, &format!("@/{rest}"));
        }
        for candidate in candidates {
            if let Some(suffix) = candidate.strip_prefix('*') {
                let wanted = tail(suffix);
                if let Some(paths) = self.by_tail.get(&wanted)
                    && let Some(p) = paths.iter().find(|p| p.ends_with(suffix))
                {
                    return Some(p);
                }
            } else if let Some((p, _)) = self.by_path.get_key_value(candidate.as_str()) {
                return Some(p);
            }
        }
        None
    }

    /// Whether `path` calls an LLM itself or through modules it imports, `depth` hops deep.
    fn reaches_llm(&self, path: &str, depth: usize) -> bool {
        let Some((_, f)) = self.by_path.get(path) else {
            return false;
        };
        if f.calls_llm {
            return true;
        }
        depth > 0
            && f.imports.iter().any(|(spec, _)| {
                self.resolve(path, spec)
                    .is_some_and(|t| t != path && self.reaches_llm(t, depth - 1))
            })
    }
}

/// `src/services/rag.ts` -> `services/rag`; `lib/ai/index.ts` -> `lib/ai`.
fn tail(path: &str) -> String {
    let path = path.trim_start_matches('/');
    let stem = path
        .rsplit_once('.')
        .map_or(path, |(s, e)| if e.contains('/') { path } else { s });
    let stem = stem.strip_suffix("/index").unwrap_or(stem);
    let parts: Vec<&str> = stem.rsplit('/').take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// Reports routes that reach an LLM in router modules the app mounts with no guard on the way.
pub fn check_project(project: &ProjectContext<'_>, rule: usize, out: &mut Vec<Finding>) {
    let files = Files::new(project);
    let mut importers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut resolved: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (path, (_, f)) in &files.by_path {
        for (spec, _) in &f.imports {
            if let Some(target) = files.resolve(path, spec) {
                importers.entry(target).or_default().push(path);
                resolved.insert((path, spec.as_str()), target);
            }
        }
    }
    for (path, (candidate, file)) in &files.by_path {
        if file.routes.is_empty() || file.guarded || !project.applies(rule, candidate) {
            continue;
        }
        // the local names that lead to an LLM: imported from a module that reaches one, and
        // what is built from those (`const ragService = new RAGService()`)
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (spec, locals) in &file.imports {
            if let Some(target) = resolved.get(&(*path, spec.as_str()))
                && files.reaches_llm(target, LLM_DEPTH - 1)
            {
                names.extend(locals.iter().map(String::as_str));
            }
        }
        for (local, from) in &file.derived {
            if names.contains(from.as_str()) {
                names.insert(local);
            }
        }
        let reaching: Vec<&Route> = file
            .routes
            .iter()
            .filter(|r| r.direct || r.uses.iter().any(|u| names.contains(u.as_str())))
            .collect();
        // a router in the app's own file is mounted there, and the file names no guard
        if reaching.is_empty() || !(file.creates_app || mounted_unguarded(path, &files, &importers))
        {
            continue;
        }
        for route in reaching {
            out.push(finding_at(
                path,
                &file.lines,
                project.rules,
                rule,
                route.site.clone(),
            ));
        }
    }
}

/// Whether some chain of importers from `start` reaches a file that creates the app, with no
/// file on any chain naming a guard.
fn mounted_unguarded(
    start: &str,
    files: &Files<'_>,
    importers: &BTreeMap<&str, Vec<&str>>,
) -> bool {
    let mut seen = BTreeSet::from([start]);
    let mut frontier = vec![start];
    let mut found_app = false;
    for _ in 0..MOUNT_DEPTH {
        let mut next = Vec::new();
        for path in &frontier {
            for &up in importers.get(path).into_iter().flatten() {
                if !seen.insert(up) {
                    continue;
                }
                let Some((_, f)) = files.by_path.get(up) else {
                    continue;
                };
                if f.guarded {
                    return false;
                }
                found_app |= f.creates_app;
                next.push(up);
            }
        }
        frontier = next;
    }
    found_app
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII-`\b` variant gives the Unicode pattern's matches, group by group, on every text
    /// it is chosen for, and texts with a non-ASCII word character get the pattern as written.
    #[test]
    fn word_bounded_variants_agree() {
        let pieces = [
            "auth",
            ".getUser(",
            "getSession(",
            "req",
            "request",
            ".user",
            ".session",
            "auth()",
            "rateLimit",
            "rate_limit",
            "quota",
            "Credits",
            "=",
            "=>",
            "(",
            ".",
            "[",
            " ",
            "\n",
            "x",
            "_",
            "$",
            "const ",
            "let ",
            "new ",
            "Chat",
            "OpenAI(",
            ": T<U> ",
            "express(",
            ")",
            "fastify(",
            "responses.create(",
            "ai.generate(",
            "app.use(",
            "'/a', ",
            "token",
            "—",
            "“",
            "│",
            "⚠",
            "\u{a0}",
            "é",
            "ſ",
            "\u{212a}",
            "\u{fe0f}",
            "中",
            "١",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut texts = Vec::new();
        for _ in 0..4000 {
            let mut text = String::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let piece = pieces[usize::try_from(seed % pieces.len() as u64).unwrap_or(0)];
                text.push_str(piece);
            }
            texts.push(text);
        }
        let mut ascii_chosen = 0;
        for regex in [&LLM_CALL, &GUARD, &CREATES_APP, &DERIVED, &USED] {
            let unicode = Regex::new(regex.pattern).expect("constant pattern compiles");
            for text in &texts {
                let spans = |r: &Regex| -> Vec<Vec<Option<Range<usize>>>> {
                    r.captures_iter(text)
                        .map(|c| c.iter().map(|g| g.map(|m| m.range())).collect())
                        .collect()
                };
                let chosen = regex.on(text);
                if chosen.as_str() != regex.pattern {
                    ascii_chosen += 1;
                }
                assert_eq!(spans(chosen), spans(&unicode), "{text:?}");
            }
        }
        // most texts carry no non-ASCII word character: the ASCII variant was put to the test
        assert!(ascii_chosen > 1000, "{ascii_chosen}");
        assert_eq!(GUARD.on("é").as_str(), GUARD.pattern);
        assert_ne!(GUARD.on("—").as_str(), GUARD.pattern);
    }

    #[test]
    fn tails_drop_extensions_and_index() {
        assert_eq!(tail("src/services/rag.ts"), "services/rag");
        assert_eq!(tail("lib/ai/index.ts"), "lib/ai");
        assert_eq!(tail("/services/rag"), "services/rag");
        assert_eq!(tail("rag.js"), "rag");
    }

    #[test]
    fn guards_are_named_middleware_and_checks() {
        for code in [
            "app.use('/api/chat', requireAuth, chatRoutes)",
            "app.use(rateLimit({ windowMs: 60000, max: 20 }))",
            "const limiter = rateLimit({ max: 5 })",
            "if (!req.user) return res.sendStatus(401)",
            "app.use('/api', authMiddleware)",
        ] {
            assert!(GUARD.is_match(code), "{code}");
        }
        for code in [
            "app.use(cors())",
            "app.use(express.json())",
            "app.use('/api/chat', chatRoutes)",
            "app.use(morgan('dev'))",
        ] {
            assert!(!GUARD.is_match(code), "{code}");
        }
    }

    #[test]
    fn llm_calls_of_sdks_and_chat_models() {
        for code in [
            "await openai.chat.completions.create({ model })",
            "this.model = new ChatOpenAI({ modelName })",
            "const r = await anthropic.messages.create({})",
            "await generateText({ model: openai('gpt-4o'), prompt })",
        ] {
            assert!(LLM_CALL.is_match(code), "{code}");
        }
        assert!(!LLM_CALL.is_match("new ChatOllama({ model: 'llama3' })"));
    }
}

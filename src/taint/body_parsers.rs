//! How the project parses request bodies, for the type-confusion rules: an Express app whose
//! only body parser is `urlencoded({ extended: false })` gets every `req.body` field as a
//! string (the `querystring` parser builds no nested objects), so `{"$ne": null}` cannot reach a
//! filter through the body. A JSON parser, an extended (qs) parser, multer's nested fields or a
//! framework that parses JSON by itself (Next.js, Fastify, `NestJS`, Koa body parsers) anywhere
//! in the project keeps such findings. express-fileupload flattens fields unless
//! `parseNested: true`.

use std::sync::LazyLock;

use regex::Regex;

/// What one file shows of body parsing (emitted only when it shows something).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct BodyParsers {
    /// A parser that yields strings only: `urlencoded({ extended: false })`.
    pub(super) flat: bool,
    /// A parser or framework that can yield objects and arrays.
    pub(super) objects: bool,
}

static FLAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"urlencoded\s*\(\s*\{[^}]*\bextended\s*:\s*false").expect("valid regex")
});

static OBJECTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:\b(?:bodyParser|bodyparser|express|parser)\s*\.\s*json\s*\()",
        r"|(?:\.use\(\s*json\s*\()",
        r"|(?:\bbodyParser\s*\(\s*\))",
        r"|(?:urlencoded\s*\(\s*\))",
        r"|(?:urlencoded\s*\(\s*\{[^}]*\bextended\s*:\s*(?:true|[^f\s}]))",
        r#"|(?:(?:require\(\s*|from\s+|import\s+)['"](?:multer|fastify|next|next/[\w/]+|koa-body|koa-bodyparser|@koa/bodyparser|co-body|micro|@nestjs/[\w-]+|@hapi/hapi|restify|express-formidable)['"])"#,
        r"|(?:\bparseNested\s*:\s*true)",
    ))
    .expect("valid regex")
});

/// Whether a file's text may say anything about body parsing (a cheap test before the regexes).
fn may_mention(text: &str) -> bool {
    [
        "urlencoded",
        "json(",
        "bodyParser",
        "multer",
        "fastify",
        "next",
        "koa",
        "nestjs",
        "hapi",
        "micro",
        "restify",
        "formidable",
        "fileupload",
        "parseNested",
        "co-body",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// The body parsing `text` shows, if any.
pub(super) fn of_file(text: &str, display: &str) -> Option<BodyParsers> {
    // Next.js API routes parse JSON bodies themselves
    let next_api = display.contains("pages/api/") || display.contains("app/api/");
    if !next_api && !may_mention(text) {
        return None;
    }
    let found = BodyParsers {
        flat: FLAT.is_match(text),
        objects: next_api || OBJECTS.is_match(text),
    };
    (found != BodyParsers::default()).then_some(found)
}

/// Whether the project's bodies are strings only: some file installs a flat parser and none
/// installs one that builds objects.
pub(super) fn strings_only<'a>(files: impl IntoIterator<Item = &'a BodyParsers>) -> bool {
    let (mut flat, mut objects) = (false, false);
    for f in files {
        flat |= f.flat;
        objects |= f.objects;
    }
    flat && !objects
}

/// Whether a flow's source is the Express request body (`req.body`, `req.body.login`).
pub(super) fn is_body_source(source: &str) -> bool {
    static BODY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(?:req|request)\.body\b").expect("valid regex"));
    BODY.is_match(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_parser_alone_means_strings_only() {
        let app = of_file(
            "app.use(bodyParser.urlencoded({ extended: false }))\n",
            "server.js",
        )
        .unwrap();
        assert!(strings_only([&app]));
        // express-fileupload flattens its fields by default
        let upload = of_file(
            "const fileUpload = require('express-fileupload');",
            "server.js",
        );
        assert!(strings_only(upload.iter().chain([&app])));
    }

    #[test]
    fn a_json_or_extended_parser_anywhere_keeps_objects() {
        let flat = of_file(
            "app.use(express.urlencoded({ extended: false }));",
            "app.js",
        )
        .unwrap();
        for other in [
            "app.use(express.json());",
            "app.use(bodyParser.json({ limit: '1mb' }));",
            "const { json } = require('body-parser'); app.use(json());",
            "app.use(bodyParser.urlencoded({ extended: true }));",
            "const upload = require('multer')({ dest: 'up/' });",
            "app.use(fileUpload({ parseNested: true }));",
        ] {
            let o = of_file(other, "routes.js").unwrap();
            assert!(!strings_only([&flat, &o]), "{other}");
        }
        let next = of_file(
            "export default function handler(req, res) {}",
            "pages/api/login.js",
        )
        .unwrap();
        assert!(!strings_only([&flat, &next]));
    }

    #[test]
    fn responses_and_unrelated_files_say_nothing() {
        assert_eq!(
            of_file("res.json({ ok: true }); res.json(user);", "routes/user.js"),
            None
        );
        assert_eq!(of_file("const x = 1;", "lib/util.js"), None);
        assert!(!strings_only([]));
    }

    #[test]
    fn body_sources() {
        assert!(is_body_source("req.body.login"));
        assert!(is_body_source("req.body"));
        assert!(!is_body_source("req.query.id"));
        assert!(!is_body_source("req.bodyParts"));
    }
}

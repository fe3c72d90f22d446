//! Template files read for the locals they print without escaping: EJS `<%- x %>`, Pug
//! `!{x}` and `p!= x`, Handlebars/Mustache `{{{x}}}` and `{{& x}}`, Nunjucks/Jinja/Swig
//! `{{ x | safe }}` and everything inside `{% autoescape false %}` (or every `{{ x }}` when the
//! project turns escaping off for the engine: `swig.setDefaults({ autoescape: false })`,
//! `nunjucks.configure({ autoescape: false })`). Joined in the project pass
//! with the render calls that hand request input to a template under those names
//! (`res.render("profile", { bio: req.body.bio })`).

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// File extensions of the template engines read here.
const EXTENSIONS: [&str; 10] = [
    "ejs",
    "pug",
    "jade",
    "hbs",
    "handlebars",
    "mustache",
    "njk",
    "nunjucks",
    "html",
    "swig",
];

/// A local printed without escaping.
#[derive(Debug)]
pub(super) struct RawOutput {
    /// The local's name (`bio` for `<%- bio %>` and `<%- locals.bio %>`).
    pub name: String,
    /// The member printed (`term` for `<%- output.term %>`), if any.
    pub member: Option<String>,
    /// The output tag.
    pub range: Range<usize>,
}

/// The template extension of `display`, if it is one.
pub(super) fn template_ext(display: &str) -> Option<&'static str> {
    let (_, ext) = display.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    EXTENSIONS.iter().copied().find(|e| *e == ext)
}

/// Whether the template file `display` is the one `view` names: `profile` is
/// `views/profile.ejs`, `users/show` is `views/users/show.pug`, `index.hbs` is `views/index.hbs`.
pub(super) fn names_view(display: &str, view: &str) -> bool {
    let view = view.trim_start_matches("./").trim_start_matches('/');
    let Some(ext) = template_ext(display) else {
        return false;
    };
    // below a views folder the name is relative to it (`views/admin/index.ejs` is `admin/index`,
    // not `index`); elsewhere any folder may be the views root
    let (rooted, rel) = match ["views/", "templates/", "template/", "pages/"]
        .iter()
        .filter_map(|f| {
            if let Some(rest) = display.strip_prefix(f) {
                return Some(rest);
            }
            display
                .rfind(&format!("/{f}"))
                .map(|i| &display[i + f.len() + 1..])
        })
        .min_by_key(|rest| rest.len())
    {
        Some(rest) => (true, rest),
        None => (false, display),
    };
    let stem = &rel[..rel.len() - ext.len() - 1];
    let full_match =
        |want: &str, have: &str| have == want || (!rooted && have.ends_with(&format!("/{want}")));
    if template_ext(view).is_some() {
        full_match(view, rel)
    } else {
        full_match(view, stem) || full_match(&format!("{view}/index"), stem)
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid template regex"))
}

/// Expressions that escape what they print (`<%- escape(x) %>`) or are not locals.
fn escaped(expr: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*(include|block|partial|yield|body\b|escape\w*\s*\(|encodeURI\w*\s*\(|\w*sanitiz\w*\s*\(|DOMPurify\.|he\.encode|xss\s*\()",
    )
    .is_match(expr)
}

/// The local an output expression prints: its first name, without `locals.`/`this.`/`data.`,
/// and the member of it printed (`output.term` -> `output`, `term`).
fn root_name(expr: &str) -> Option<(String, Option<String>)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let expr = expr.trim();
    if escaped(expr) {
        return None;
    }
    let expr = ["locals.", "this.", "@root."]
        .iter()
        .find_map(|p| expr.strip_prefix(p))
        .unwrap_or(expr);
    let c = re(
        &RE,
        r#"^([A-Za-z_$][\w$]*)\s*(?:(?:\.|\[\s*['"])([A-Za-z_$][\w$]*))?"#,
    )
    .captures(expr)?;
    Some((c[1].to_string(), c.get(2).map(|m| m.as_str().to_string())))
}

/// Whether a script turns output escaping off for every Swig or Nunjucks template:
/// `swig.setDefaults({ autoescape: false })`, `new swig.Swig({ autoescape: false })`,
/// `nunjucks.configure("views", { autoescape: false })`.
pub(super) fn escaping_off_globally(script: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    script.contains("autoescape")
        && re(
            &RE,
            r"(?:setDefaults|\bSwig|configure|Environment)\s*\([^;]*?\bautoescape\s*:\s*false\b",
        )
        .is_match(script)
}

/// The locals `text` (a template with extension `ext`) prints without escaping; with
/// `escaping_off`, every `{{ x }}` of a Swig/Nunjucks-style template (but `| escape`/`| e`).
pub(super) fn raw_outputs(ext: &str, text: &str, escaping_off: bool) -> Vec<RawOutput> {
    static EJS: OnceLock<Regex> = OnceLock::new();
    static PUG_INTERP: OnceLock<Regex> = OnceLock::new();
    static PUG_ATTR: OnceLock<Regex> = OnceLock::new();
    static TRIPLE: OnceLock<Regex> = OnceLock::new();
    static SAFE: OnceLock<Regex> = OnceLock::new();
    static AUTOESCAPE_OFF: OnceLock<Regex> = OnceLock::new();
    static PLAIN: OnceLock<Regex> = OnceLock::new();
    let mut out = Vec::new();
    let mut push = |expr: &str, range: Range<usize>| {
        if let Some((name, member)) = root_name(expr) {
            out.push(RawOutput {
                name,
                member,
                range,
            });
        }
    };
    let capture = |re: &Regex, out: &mut dyn FnMut(&str, Range<usize>)| {
        for c in re.captures_iter(text) {
            let expr = c.iter().skip(1).flatten().next();
            if let (Some(all), Some(expr)) = (c.get(0), expr) {
                out(expr.as_str(), all.range());
            }
        }
    };
    match ext {
        "ejs" => capture(re(&EJS, r"<%-\s*([\s\S]*?)\s*[-_]?%>"), &mut push),
        "pug" | "jade" => {
            capture(re(&PUG_INTERP, r"!\{\s*([^}]+?)\s*\}"), &mut push);
            capture(
                re(
                    &PUG_ATTR,
                    r"(?m)^\s*(?:[\w#.\-]+(?:\([^)\n]*\))?)?!=\s*(.+?)\s*$",
                ),
                &mut push,
            );
        }
        _ => {
            // Handlebars / Mustache triple-stash and `{{& x}}`
            capture(
                re(
                    &TRIPLE,
                    r"\{\{\{~?\s*([^}]+?)\s*~?\}\}\}|\{\{&\s*([^}]+?)\s*\}\}",
                ),
                &mut |expr, range| {
                    // a helper call prints what the helper returns: take its arguments too
                    for part in expr.split_whitespace() {
                        push(part, range.clone());
                    }
                },
            );
            // Nunjucks / Jinja / Swig
            capture(
                re(&SAFE, r"\{\{-?\s*([^}|]+?)\s*\|\s*safe\s*-?\}\}"),
                &mut push,
            );
            let off = re(
                &AUTOESCAPE_OFF,
                r"(?s)\{%-?\s*autoescape\s+(?:false|off)\s*-?%\}(.*?)(\{%-?\s*endautoescape|\z)",
            );
            let plain = re(&PLAIN, r"\{\{-?\s*([^}|]+?)\s*(\|[^}]*)?-?\}\}");
            let engine = matches!(ext, "html" | "swig" | "njk" | "nunjucks");
            if escaping_off && engine {
                for c in plain.captures_iter(text) {
                    let filters = c.get(2).map_or("", |f| f.as_str());
                    if let (Some(all), Some(expr)) = (c.get(0), c.get(1))
                        && !filters.contains("escape")
                        && !filters.split('|').any(|f| f.trim() == "e")
                        // `| safe` outputs are in already
                        && !filters.contains("safe")
                    {
                        push(expr.as_str(), all.range());
                    }
                }
                return out;
            }
            for block in off.captures_iter(text) {
                let Some(body) = block.get(1) else { continue };
                for c in plain.captures_iter(body.as_str()) {
                    if let (Some(all), Some(expr)) = (c.get(0), c.get(1)) {
                        let start = body.start() + all.start();
                        push(expr.as_str(), start..body.start() + all.end());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escaping_off_globally, names_view, raw_outputs};

    fn names(ext: &str, text: &str) -> Vec<String> {
        raw_outputs(ext, text, false)
            .into_iter()
            .map(|o| o.name)
            .collect()
    }

    #[test]
    fn each_engine_reports_its_unescaped_outputs_only() {
        assert_eq!(
            names(
                "ejs",
                "<p><%= safe %></p><div><%- bio %></div><%- include('x') %><%- locals.note -%>"
            ),
            ["bio", "note"]
        );
        assert_eq!(
            names("pug", "p= safe\ndiv.bio!= bio\np Hi !{name}, #{ok}"),
            ["name", "bio"]
        );
        assert_eq!(
            names("hbs", "{{safe}} {{{bio}}} {{& note}}"),
            ["bio", "note"]
        );
        assert_eq!(
            names(
                "njk",
                "{{ ok }} {{ bio | safe }}{% autoescape false %}{{ note }}{% endautoescape %}"
            ),
            ["bio", "note"]
        );
        assert!(names("ejs", "<%- escapeHtml(bio) %>").is_empty());
    }

    #[test]
    fn escaping_turned_off_for_the_engine_makes_every_plain_output_raw() {
        let html = "<p>{{ bio }}</p><i>{{ note | escape }}</i><b>{{ name | safe }}</b>";
        let raw = |off| -> Vec<String> {
            raw_outputs("html", html, off)
                .into_iter()
                .map(|o| o.name)
                .collect()
        };
        assert_eq!(raw(false), ["name"]);
        assert_eq!(raw(true), ["name", "bio"]);
        assert!(escaping_off_globally(
            "swig.setDefaults({ cache: false, autoescape: false });"
        ));
        assert!(escaping_off_globally(
            "nunjucks.configure('views', { autoescape: false, express: app });"
        ));
        assert!(!escaping_off_globally(
            "swig.setDefaults({ autoescape: true });"
        ));
        // an EJS template is not read as Swig
        assert!(raw_outputs("ejs", "<%= bio %>", true).is_empty());
    }

    #[test]
    fn views_resolve_by_name_below_any_views_folder() {
        assert!(names_view("app/views/profile.ejs", "profile"));
        assert!(names_view("views/users/show.pug", "users/show"));
        assert!(names_view("views/index.hbs", "index.hbs"));
        assert!(names_view("views/admin/index.njk", "admin"));
        assert!(!names_view("views/admin/index.njk", "index"));
        assert!(names_view("src/templates/mail/welcome.hbs", "mail/welcome"));
        assert!(!names_view("views/myprofile.ejs", "profile"));
        assert!(!names_view("src/profile.ts", "profile"));
    }
}

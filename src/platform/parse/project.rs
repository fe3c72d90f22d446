//! The Parse part of the project pass: Cloud Code handlers registered in one file with a
//! function defined in another (`Parse.Cloud.define("x", handlers.x)` with
//! `const handlers = require("./handlers")`, or `import { x } from "./handlers"`).
//!
//! The per-file pass judges handlers whose function is in the registering file; this pass
//! resolves relative imports to the scanned module, finds the exported function there and runs
//! the same [`cloud_code`] rules on it, reporting in the module where the code is. The
//! registrations come from the per-file pass as [`Registrations`] facts; only the modules they
//! name are read and parsed again here, since which module a handler lives in is known only
//! once every file's registrations are.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use rayon::prelude::*;

use super::cloud_code::{self, External, Report};
use super::use_cases::{self, HelperCall};
use crate::discover::{Candidate, FileKind};
use crate::engine::{self, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::parse::{self, Grammar};
use crate::platform::{Check, js};
use crate::source::{self, Loaded, SourceFile};

/// Files larger than this are not read for registrations (bundles, generated code).
const MAX_SIZE: u64 = 512 * 1024;

/// Extensions tried, in order, for an import specifier without one.
const EXTENSIONS: [&str; 8] = [
    ".js",
    ".ts",
    ".mjs",
    ".cjs",
    ".tsx",
    ".jsx",
    "/index.js",
    "/index.ts",
];

/// Runs the Cloud Code rules over handlers defined in another module than their registration.
pub fn check_project(
    project: &ProjectContext<'_>,
    rules: &[(Check, usize)],
    out: &mut Vec<Finding>,
) {
    let scripts = project.scripts();
    // registering files: from the facts of the per-file pass
    let facts: Vec<(&Candidate, &Registrations)> = project.facts::<Registrations>().collect();
    let mut by_module: BTreeMap<&Candidate, Calls> = BTreeMap::new();
    for (from, registrations) in &facts {
        for registration in &registrations.0 {
            if let Some(module) = resolve(&from.display, &registration.module, &scripts) {
                by_module
                    .entry(module)
                    .or_default()
                    .handlers
                    .push(registration.clone());
            }
        }
        for call in &registrations.1 {
            if let Some(module) = resolve(&from.display, &call.module, &scripts) {
                by_module
                    .entry(module)
                    .or_default()
                    .helpers
                    .push(call.clone());
            }
        }
    }
    let found: Vec<Finding> = by_module
        .into_iter()
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|(candidate, calls)| {
            crate::engine::stack::budget(|| {
                judge_module(project, rules, candidate, calls, &scripts)
            })
            .0
        })
        .collect();
    out.extend(found);
}

/// Whether a file is a test: handlers registered there (often without validators) say nothing
/// about how the app exposes them.
fn is_test_path(display: &str) -> bool {
    let lower = display.to_ascii_lowercase();
    let mut segments = lower.split('/');
    let file = segments.next_back().unwrap_or("");
    segments.any(|d| matches!(d, "test" | "tests" | "__tests__" | "spec" | "e2e"))
        || file.contains(".test.")
        || file.contains(".spec.")
}

/// The handlers a file registers with functions imported from other modules, and the imported
/// functions its inline handlers pass request ids to: what the per-file pass keeps of a
/// registering file for the project pass.
#[derive(Debug)]
pub struct Registrations(Vec<External>, Vec<HelperCall>);

/// What other files ask of one module.
#[derive(Debug, Default)]
struct Calls {
    /// Handlers registered elsewhere with a function of this module.
    handlers: Vec<External>,
    /// Functions of this module that Cloud functions elsewhere pass request ids to.
    helpers: Vec<HelperCall>,
}

/// Whether the project pass wants the facts of the file at `display`: scripts, tests aside.
pub fn wants_facts(kind: FileKind, display: &str) -> bool {
    matches!(kind, FileKind::Js | FileKind::Ts | FileKind::Tsx) && !is_test_path(display)
}

/// Extracts the registrations of one file (parsed with the per-file pass's tree), when it
/// registers Cloud Code handlers with imported functions.
pub fn facts(ctx: &FileContext<'_>) -> Option<Registrations> {
    let text = &ctx.file.text;
    if text.len() as u64 > MAX_SIZE
        || memchr::memmem::find(text.as_bytes(), b"Parse.Cloud.").is_none()
    {
        return None;
    }
    let tree = ctx.tree()?;
    let index = js::Index::new(tree.root_node());
    let found = cloud_code::external_handlers(&index, text);
    let helpers = use_cases::helper_calls(&index, text);
    (!found.is_empty() || !helpers.is_empty()).then_some(Registrations(found, helpers))
}

fn load_and_parse(candidate: &Candidate) -> Option<(SourceFile, tree_sitter::Tree)> {
    let Loaded::File(file, _) = source::load(candidate) else {
        return None;
    };
    let tree = parse::parse(Grammar::for_kind(file.kind)?, &file.text)?;
    Some((file, tree))
}

/// The scanned file a relative specifier of `from` names.
pub(crate) fn resolve<'c>(
    from: &str,
    specifier: &str,
    scripts: &BTreeMap<&str, &'c Candidate>,
) -> Option<&'c Candidate> {
    let base = crate::entry::join_path(from.rsplit_once('/').map_or("", |(d, _)| d), specifier);
    let stem = [".js", ".mjs", ".cjs"]
        .iter()
        .find_map(|e| base.strip_suffix(e))
        .unwrap_or(&base);
    std::iter::once(base.clone())
        .chain(EXTENSIONS.iter().map(|e| format!("{stem}{e}")))
        .find_map(|path| scripts.get(path.as_str()).copied())
}

/// Runs the rules over the handlers and helpers `calls` point at in `candidate`.
fn judge_module(
    project: &ProjectContext<'_>,
    rules: &[(Check, usize)],
    candidate: &Candidate,
    calls: &Calls,
    scripts: &BTreeMap<&str, &Candidate>,
) -> Vec<Finding> {
    let Some((file, tree)) = load_and_parse(candidate) else {
        return Vec::new();
    };
    let index = js::Index::new(tree.root_node());
    let handlers = cloud_code::resolve_external(&index, &file.text, &calls.handlers);
    let mut reporter = ModuleReport {
        project,
        rules,
        candidate,
        file: &file,
        out: Vec::new(),
    };
    cloud_code::check_handlers(&mut reporter, tree.root_node(), &file.text, &handlers);
    if reporter.is_on(Check::MasterKeyIdor) {
        judge_helpers(&mut reporter, &index, &file.text, &calls.helpers, scripts);
    }
    let mut found = reporter.out;
    // one function registered by two files is judged twice: keep one finding per place
    let mut seen = BTreeSet::new();
    found.retain(|f| seen.insert((f.rule_id.clone(), f.start.line, f.start.column)));
    found
}

/// `parse.master-key-idor` over the functions of the module that Cloud functions elsewhere pass
/// request ids to, following the object's loader one module further for the master key.
fn judge_helpers(
    reporter: &mut ModuleReport<'_, '_>,
    index: &js::Index<'_>,
    src: &str,
    helpers: &[HelperCall],
    scripts: &BTreeMap<&str, &Candidate>,
) {
    for call in helpers {
        let Some(function) = cloud_code::exported_function(index, &call.export, src) else {
            continue;
        };
        let Some(found) = use_cases::loaded_and_written(function, &call.id_args, src) else {
            continue;
        };
        let loader = use_cases::loader_target(index, found.load, src).and_then(|(m, e)| {
            let module = resolve(&reporter.candidate.display, &m, scripts)?;
            let (file, tree) = load_and_parse(module)?;
            let index = js::Index::new(tree.root_node());
            let f = cloud_code::exported_function(&index, &e, &file.text)?;
            Some(js::text(f, &file.text).to_string())
        });
        if use_cases::uses_master_key(function, src, loader.as_deref()) {
            use_cases::report(reporter, call, &found);
        }
    }
}

/// Reports into the module file being judged.
struct ModuleReport<'p, 'a> {
    project: &'p ProjectContext<'a>,
    rules: &'p [(Check, usize)],
    candidate: &'p Candidate,
    file: &'p SourceFile,
    out: Vec<Finding>,
}

impl ModuleReport<'_, '_> {
    fn rule(&self, check: Check) -> Option<usize> {
        self.rules
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, i)| *i)
            .filter(|&i| self.project.applies(i, self.candidate))
    }
}

impl Report for ModuleReport<'_, '_> {
    fn is_on(&self, check: Check) -> bool {
        self.rule(check).is_some()
    }

    fn emit(
        &mut self,
        check: Check,
        range: Range<usize>,
        message: Option<String>,
        adjust: impl FnOnce(&mut Finding),
    ) {
        let Some(idx) = self.rule(check) else {
            return;
        };
        let finding = engine::finding_in(self.file, self.project.rules, idx, range);
        self.out
            .push(crate::platform::shaped(finding, message, adjust));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::resolve;
    use crate::discover::{Candidate, FileKind};

    fn candidate(display: &str, kind: FileKind) -> Candidate {
        Candidate {
            display: display.into(),
            path: PathBuf::from(display),
            kind,
            size: 1,
        }
    }

    #[test]
    fn resolves_relative_specifiers_with_and_without_extensions() {
        let files = [
            candidate("app/cloud/handlers.js", FileKind::Js),
            candidate("app/cloud/billing.ts", FileKind::Ts),
            candidate("app/lib/index.ts", FileKind::Ts),
        ];
        let scripts: BTreeMap<&str, &Candidate> =
            files.iter().map(|c| (c.display.as_str(), c)).collect();
        let found =
            |from: &str, spec: &str| resolve(from, spec, &scripts).map(|c| c.display.clone());
        assert_eq!(
            found("app/cloud/main.js", "./handlers").as_deref(),
            Some("app/cloud/handlers.js")
        );
        assert_eq!(
            found("app/cloud/main.js", "./handlers.js").as_deref(),
            Some("app/cloud/handlers.js")
        );
        // TypeScript ESM writes the compiled name
        assert_eq!(
            found("app/cloud/main.ts", "./billing.js").as_deref(),
            Some("app/cloud/billing.ts")
        );
        assert_eq!(
            found("app/cloud/main.ts", "../lib").as_deref(),
            Some("app/lib/index.ts")
        );
        assert_eq!(found("app/cloud/main.ts", "./missing"), None);
        assert_eq!(found("main.ts", "../../outside"), None);
    }
}

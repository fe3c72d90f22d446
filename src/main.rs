//! The `vibeward` binary: parse flags, call the library, choose the exit code.
//!
//! Exit codes: 0 no finding at or above `--fail-on`; 1 findings at or above it; 2 usage,
//! configuration or I/O error (one line on standard error naming the file or flag).

mod cli;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, ValueEnum};
use rayon::prelude::*;
use termcolor::{ColorChoice, StandardStream, WriteColor};

use cli::{Cli, Command, DbCommand, FailOn, Format, RulesArgs, ScanArgs, SeverityArg};
use vibeward::baseline::{self, Baseline};
use vibeward::config::{self, ConfigFile};
use vibeward::discover::DiscoverOptions;
use vibeward::report::text::{self, TextOptions};
use vibeward::rules::Severity;
use vibeward::{Settings, changed, report};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        // `vibeward rules | head`: the reader left; stop quietly, as ripgrep does
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            #[expect(clippy::print_stderr, reason = "main reports fatal errors")]
            {
                eprintln!("vibeward: error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(&args),
        Command::Rules(args) => list_rules(&args),
        Command::Explain { rule } => explain(&rule),
        Command::ParseOnly(args) => parse_only(&args),
        Command::Merge(args) => merge(&args),
        Command::Init { path, force } => init(&path, force),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "vibeward", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sbom(args) => sbom(&args),
        Command::Report(args) => compliance_report(&args),
        Command::Mcp => {
            vibeward::mcp::serve_stdio(Path::new("."))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lsp => {
            vibeward::lsp::serve_stdio()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Db(DbCommand::Update { dir, url }) => {
            let message = vibeward::deps::update_database(dir.as_deref(), url.as_deref())?;
            writeln!(std::io::stdout().lock(), "{message}")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `vibeward report --data-map`: the data map in the chosen format.
fn data_map(args: &cli::ReportArgs, settings: &Settings) -> Result<ExitCode> {
    let map = vibeward::privacy::build_data_map(settings)?;
    let text = match args.format {
        cli::ReportFormat::Text => vibeward::privacy::render::text(&map),
        cli::ReportFormat::Markdown => vibeward::privacy::render::markdown(&map),
        cli::ReportFormat::Json => serde_json::to_string_pretty(&map)? + "\n",
        cli::ReportFormat::Html => {
            anyhow::bail!("vibeward report --data-map: choose --format text, markdown or json")
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn sbom(args: &cli::SbomArgs) -> Result<ExitCode> {
    use vibeward::deps::sbom::{SbomFormat, SbomOptions, build_sbom};
    let options = SbomOptions {
        format: match args.format {
            cli::SbomFormatArg::Cyclonedx => SbomFormat::CycloneDx,
            cli::SbomFormatArg::Spdx => SbomFormat::Spdx,
        },
        timestamp: args.timestamp.clone(),
    };
    let sbom = build_sbom(std::slice::from_ref(&args.path), &options)?;
    let mut err = std::io::stderr().lock();
    for (path, why) in &sbom.unreadable {
        writeln!(err, "warning: {path}: {why}; not in the SBOM")?;
    }
    match &args.output {
        Some(path) => std::fs::write(path, &sbom.document)
            .with_context(|| format!("--output {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(sbom.document.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `vibeward report`: one scan, then the standards tables or the whole compliance document.
fn compliance_report(args: &cli::ReportArgs) -> Result<ExitCode> {
    use vibeward::compliance::{DependencySummary, Standard};
    use vibeward::deps::sbom::{SbomFormat, SbomOptions, build_sbom};
    let scan_args = ScanArgs {
        paths: args.paths.clone(),
        format: Format::Text,
        output: Vec::new(),
        fail_on: Some(FailOn::None),
        min_severity: None,
        config: args.config.clone(),
        no_config: args.no_config,
        baseline: None,
        write_baseline: None,
        changed: false,
        base: None,
        staged: false,
        jobs: args.jobs,
        file_timeout: 10.0,
        reference_queries: false,
        exclude: args.exclude.clone(),
        no_ignore: false,
        no_default_excludes: args.no_default_excludes,
        max_file_size: 4 * 1024 * 1024,
        rule_dirs: Vec::new(),
        no_builtin_rules: false,
        enable: Vec::new(),
        disable: Vec::new(),
        quiet: true,
        stats: false,
        advisory_db: args.advisory_db.clone(),
        color: cli::ColorChoice::Never,
        cache: None,
        shard: None,
    };
    let settings = settings(&scan_args)?;
    if args.data_map {
        return data_map(args, &settings);
    }
    let report = vibeward::scan(&settings)?;
    let standards: Vec<Standard> = if args.standard.is_empty() {
        Standard::ALL.to_vec()
    } else {
        let mut chosen: Vec<Standard> = args.standard.iter().map(|s| s.to_standard()).collect();
        chosen.sort();
        chosen.dedup();
        chosen
    };
    // the text tables show standards only; the documents carry the SBOM totals
    let dependencies = if args.format == cli::ReportFormat::Text {
        None
    } else {
        let options = SbomOptions {
            format: SbomFormat::CycloneDx,
            timestamp: None,
        };
        let sbom = build_sbom(&settings.paths, &options)?;
        Some(DependencySummary::from_cyclonedx(
            &sbom.document,
            sbom.lockfiles,
            sbom.unreadable.len(),
        ))
    };
    let scanned: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    let mut document = vibeward::compliance::build(&report, &scanned, &standards, dependencies);
    if args.format != cli::ReportFormat::Text {
        let map = vibeward::privacy::data_map_for(&settings, &report)?;
        let (data_map, residency) = vibeward::compliance::privacy_sections(&map);
        document.data_map = Some(data_map);
        document.residency = Some(residency);
    }
    let rendered = match args.format {
        cli::ReportFormat::Text => report::compliance::render_text(&document),
        cli::ReportFormat::Markdown => report::compliance::render_markdown(&document),
        cli::ReportFormat::Html => report::html::render(&document),
        cli::ReportFormat::Json => report::compliance::render_json(&document),
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("--output {}", path.display()))?,
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn severity(s: SeverityArg) -> Severity {
    match s {
        SeverityArg::Critical => Severity::Critical,
        SeverityArg::High => Severity::High,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Info => Severity::Info,
    }
}

/// The settings of a scan: defaults, then vibeward.toml, then the flags.
fn settings(args: &ScanArgs) -> Result<Settings> {
    let mut settings = Settings {
        paths: args.paths.clone(),
        use_stored_advisory_db: true,
        ..Settings::default()
    };
    let config = match (&args.config, args.no_config) {
        (_, true) => None,
        (Some(path), false) => Some(path.clone()),
        (None, false) => args.paths.first().and_then(|p| config::file::find(p)),
    };
    if let Some(path) = config {
        ConfigFile::load(&path)?.apply(&mut settings);
    }
    settings.discover = DiscoverOptions {
        respect_ignore_files: !args.no_ignore,
        default_excludes: !args.no_default_excludes,
        excludes: args.exclude.clone(),
        max_file_size: args.max_file_size,
        threads: args.jobs,
    };
    settings.builtin_rules = !args.no_builtin_rules;
    settings.rule_dirs.extend(args.rule_dirs.iter().cloned());
    if !args.enable.is_empty() {
        // the flag chooses the rules to run; the file's `enable` no longer applies
        settings.enable.clone_from(&args.enable);
        settings
            .rule_names
            .retain(|(key, _)| !key.ends_with("rules.enable"));
    }
    settings.disable.extend(args.disable.iter().cloned());
    if let Some(min) = args.min_severity {
        settings.min_severity = severity(min);
    }
    if let Some(fail_on) = args.fail_on {
        settings.fail_on = threshold(fail_on);
    }
    settings.jobs = args.jobs;
    settings.cache.clone_from(&args.cache);
    settings.shard = args.shard;
    if args.advisory_db.is_some() {
        settings.advisory_db.clone_from(&args.advisory_db);
    }
    settings.engine = vibeward::engine::EngineOptions {
        combined_queries: !args.reference_queries,
        file_timeout: (args.file_timeout > 0.0)
            .then(|| std::time::Duration::from_secs_f64(args.file_timeout)),
    };
    if let Some(db) = &settings.advisory_db
        && !db.exists()
    {
        anyhow::bail!("--advisory-db {}: no such file or directory", db.display());
    }
    if let Some(path) = &args.baseline {
        settings.baseline = Some(Baseline::load(path)?);
    }
    let root = args
        .paths
        .first()
        .map_or_else(|| PathBuf::from("."), Clone::clone);
    if args.changed {
        settings.only_files = Some(changed::changed_files(&root, args.base.as_deref())?);
    } else if args.staged {
        settings.only_files = Some(changed::staged_files(&root)?);
    }
    Ok(settings)
}

fn threshold(fail_on: FailOn) -> Option<Severity> {
    match fail_on {
        FailOn::None => None,
        FailOn::Info => Some(Severity::Info),
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    }
}

fn color_choice(args: &ScanArgs, is_terminal: bool) -> ColorChoice {
    match args.color {
        cli::ColorChoice::Always => ColorChoice::Always,
        cli::ColorChoice::Never => ColorChoice::Never,
        cli::ColorChoice::Auto => {
            if is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) {
                ColorChoice::Auto
            } else {
                ColorChoice::Never
            }
        }
    }
}

fn scan(args: &ScanArgs) -> Result<ExitCode> {
    let settings = settings(args)?;
    if settings.jobs > vibeward::max_jobs() {
        #[expect(
            clippy::print_stderr,
            reason = "a notice about a flag, before the scan"
        )]
        {
            eprintln!(
                "vibeward: note: --jobs {} is more than this machine can use; using {}",
                settings.jobs,
                vibeward::max_jobs()
            );
        }
    }
    let report = match progress::Bar::for_terminal(args.quiet) {
        Some(bar) => vibeward::scan_with_progress(&settings, &bar)?,
        None => vibeward::scan(&settings)?,
    };

    for (format, path) in outputs(args)? {
        write_output(&report, args, format, path.as_deref())?;
    }
    if args.stats {
        text::write_stats(&report, &mut std::io::stderr().lock())?;
    }
    if let Some(path) = &args.write_baseline {
        std::fs::write(path, baseline::render(&report.findings))
            .with_context(|| format!("--write-baseline {}", path.display()))?;
    }
    let failed = settings
        .fail_on
        .is_some_and(|t| report.count_at_least(t) > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The reports to write: each `--output [FORMAT:]FILE`, and the `--format` report on standard
/// output unless an `--output` without a format prefix takes it.
fn outputs(args: &ScanArgs) -> Result<Vec<(Format, Option<PathBuf>)>> {
    let mut outputs = Vec::new();
    let mut takes_format = false;
    for value in &args.output {
        let (format, file) = match value.split_once(':') {
            Some((name, file)) if Format::from_str(name, false).is_ok() && !file.is_empty() => {
                let format = Format::from_str(name, false).map_err(anyhow::Error::msg)?;
                (format, file)
            }
            _ => {
                takes_format = true;
                (args.format, value.as_str())
            }
        };
        outputs.push((format, (file != "-").then(|| PathBuf::from(file))));
    }
    if !takes_format {
        outputs.insert(0, (args.format, None));
    }
    Ok(outputs)
}

fn write_output(
    report: &vibeward::ScanReport,
    args: &ScanArgs,
    format: Format,
    path: Option<&Path>,
) -> Result<()> {
    match (format, path) {
        (Format::Text, None) => {
            let choice = color_choice(args, std::io::stdout().is_terminal());
            let mut out = StandardStream::stdout(choice);
            write_text(report, &mut out, args.quiet)
        }
        (Format::Text, Some(path)) => {
            let mut buffer = termcolor::Buffer::no_color();
            write_text(report, &mut buffer, args.quiet)?;
            std::fs::write(path, buffer.as_slice())
                .with_context(|| format!("--output {}", path.display()))
        }
        (format, path) => {
            let rendered = report::render(report, format.to_report());
            match path {
                Some(path) => std::fs::write(path, rendered)
                    .with_context(|| format!("--output {}", path.display())),
                None => Ok(std::io::stdout().lock().write_all(rendered.as_bytes())?),
            }
        }
    }
}

fn write_text(report: &vibeward::ScanReport, out: &mut dyn WriteColor, quiet: bool) -> Result<()> {
    match text::write(report, out, TextOptions { quiet }) {
        // a closed pipe (`vibeward scan | head`) is not an error
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the report"),
    }
}

/// `vibeward merge`: the shards' JSON reports or SARIF logs as the report of one scan.
fn merge(args: &cli::MergeArgs) -> Result<ExitCode> {
    let mut inputs = Vec::new();
    for path in &args.inputs {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        inputs.push((path.display().to_string(), text));
    }
    let rules = vibeward::compile_rules(&Settings {
        rule_dirs: args.rule_dirs.clone(),
        ..Settings::default()
    })?;
    let report = vibeward::shard::merge(&inputs, rules)?;
    let rendered = if args.format == Format::Text {
        let mut buffer = termcolor::Buffer::no_color();
        text::write(&report, &mut buffer, TextOptions { quiet: false })?;
        buffer.into_inner()
    } else {
        report::render(&report, args.format.to_report()).into_bytes()
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("--output {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&rendered)?,
    }
    let failed = args
        .fail_on
        .and_then(threshold)
        .is_some_and(|t| report.count_at_least(t) > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn init(path: &Path, force: bool) -> Result<ExitCode> {
    if path.exists() && !force {
        anyhow::bail!("{} already exists (--force overwrites it)", path.display());
    }
    std::fs::write(path, config::STARTER).with_context(|| format!("init {}", path.display()))?;
    writeln!(
        std::io::stdout().lock(),
        "wrote {} (every key is commented; see README, \"Configuration\")",
        path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn list_rules(args: &RulesArgs) -> Result<ExitCode> {
    let settings = Settings {
        rule_dirs: args.rule_dirs.clone(),
        ..Settings::default()
    };
    let rules = vibeward::compile_rules(&settings)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let list: Vec<_> = rules
            .rules()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "title": r.title, "severity": r.severity, "confidence": r.confidence,
                    "cwe": r.cwe, "owasp": r.owasp, "asvs": r.asvs,
                    "languages": r.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
    } else {
        let width = rules.rules().iter().map(|r| r.id.len()).max().unwrap_or(0);
        for r in rules.rules() {
            writeln!(
                out,
                "{:<width$}  {:<8}  {}",
                r.id,
                r.severity.as_str(),
                r.title
            )?;
        }
        writeln!(out, "\n{} rules", rules.len())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(id: &str) -> Result<ExitCode> {
    let rules = vibeward::compile_rules(&Settings::default())?;
    let Some(rule) = rules.get(id) else {
        anyhow::bail!("no rule `{id}` (see `vibeward rules`)");
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}: {}\n", rule.id, rule.title)?;
    writeln!(
        out,
        "severity: {}   confidence: {}   {}   OWASP {}{}",
        rule.severity,
        rule.confidence.as_str(),
        rule.cwe.join(", "),
        rule.owasp.join(", "),
        if rule.asvs.is_empty() {
            String::new()
        } else {
            format!("   ASVS {}", rule.asvs.join(", "))
        }
    )?;
    writeln!(
        out,
        "applies to: {}\n",
        rule.languages
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(out, "{}", rule.help.trim())?;
    if !rule.messages.is_empty() {
        writeln!(out, "\n## Messages\n\n    {}", rule.message)?;
        for message in rule.messages.values() {
            writeln!(out, "    {message}")?;
        }
    }
    if let Some(bad) = &rule.examples.bad {
        writeln!(out, "\n## Flagged\n\n{}", indent(bad))?;
    }
    if let Some(good) = &rule.examples.good {
        writeln!(out, "\n## Not flagged\n\n{}", indent(good))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn indent(code: &str) -> String {
    code.trim_end()
        .lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The benchmark yardstick: read and tree-sitter-parse every JS/TS file the scan would analyse.
fn parse_only(args: &ScanArgs) -> Result<ExitCode> {
    let settings = settings(args)?;
    let started = Instant::now();
    let discovered = vibeward::discover::discover(&settings.paths, &settings.discover)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(vibeward::effective_jobs(settings.jobs))
        .build()?;
    let (files, bytes) = pool.install(|| {
        discovered
            .candidates
            .par_iter()
            .filter(|c| c.kind.is_code())
            .map(|c| match vibeward::source::load(c) {
                vibeward::source::Loaded::File(file, _) => {
                    let grammar = vibeward::parse::Grammar::for_kind(file.kind);
                    let parsed = grammar.and_then(|g| vibeward::parse::parse(g, &file.text));
                    (usize::from(parsed.is_some()), file.text.len() as u64)
                }
                vibeward::source::Loaded::Skip(_) => (0, 0),
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        std::io::stderr().lock(),
        "parse-only: {files} files, {:.1} MB in {secs:.3}s",
        bytes as f64 / 1_048_576.0
    )?;
    Ok(ExitCode::SUCCESS)
}

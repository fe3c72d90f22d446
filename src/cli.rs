//! Command-line definitions (clap). `main.rs` turns them into [`vibeward::Settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Finds the security holes AI coding tools leave in backend code: leaked keys, missing
/// ACLs/RLS, injection, risky dependencies.
#[derive(Debug, Parser)]
#[command(name = "vibeward", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  vibeward scan                                   scan the current directory
  vibeward scan api/ --fail-on critical           fail only on critical findings
  vibeward scan --format sarif --output vibeward.sarif
  vibeward scan --output sarif:vibeward.sarif --output markdown:summary.md
  vibeward scan --changed --base main             only what this branch changed
  vibeward scan --write-baseline .vibeward-baseline.json
  vibeward scan --baseline .vibeward-baseline.json
  vibeward scan --shard 2/4 --format json -o shard-2.json   one machine of four
  vibeward merge shard-*.json --format sarif -o vibeward.sarif
  vibeward explain secrets.stripe-live-secret-key
  vibeward report --standard owasp-2021           per-control OWASP Top 10 table
  vibeward report --format html --output report.html
  vibeward init                                   write a starter vibeward.toml";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories (default: the current directory).
    Scan(ScanArgs),
    /// List every rule: id, severity, title.
    Rules(RulesArgs),
    /// Print a rule's documentation.
    Explain {
        /// The rule id, e.g. `code.eval-dynamic`.
        rule: String,
    },
    /// Write a commented starter vibeward.toml.
    Init {
        /// Where to write it.
        #[arg(default_value = "vibeward.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script: `vibeward completions bash > /etc/bash_completion.d/vibeward`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Manage the offline advisory database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Standards coverage (OWASP, ASVS, CWE Top 25) and a compliance report to forward;
    /// `--data-map`: personal data stores, recipients and residency.
    Report(ReportArgs),
    /// Write a software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON) from the lockfiles.
    Sbom(SbomArgs),
    /// Serve coding agents over the Model Context Protocol (stdio): tools to scan, check code
    /// before it is written, explain and list rules. Reads only the client's roots or the
    /// current directory.
    Mcp,
    /// Serve editors over the Language Server Protocol (stdio): diagnostics as you type, quick
    /// fixes, `vibeward-ignore` comments.
    Lsp,
    /// Combine the JSON reports of `scan --shard I/N` runs into the report of one scan.
    Merge(MergeArgs),
    /// Parse every JS/TS file the scan would read, and nothing else (the benchmark yardstick).
    #[command(hide = true)]
    ParseOnly(ScanArgs),
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Code frames for people.
    Text,
    /// The stable JSON document (see README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning (capped below its upload limits).
    Sarif,
    /// GitHub Actions workflow commands: inline annotations on the pull request.
    Github,
    /// A Markdown summary, for `$GITHUB_STEP_SUMMARY` and pull-request comments.
    Markdown,
    /// `findings=N` and one `SEVERITY=N` line each, for `$GITHUB_OUTPUT` and scripts.
    Counts,
}

impl Format {
    /// The library's format.
    pub fn to_report(self) -> vibeward::report::Format {
        use vibeward::report::Format as F;
        match self {
            Format::Text => F::Text,
            Format::Json => F::Json,
            Format::Sarif => F::Sarif,
            Format::Github => F::Github,
            Format::Markdown => F::Markdown,
            Format::Counts => F::Counts,
        }
    }
}

/// The `--fail-on` threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail on critical findings.
    Critical,
    /// Fail on high or critical findings.
    High,
    /// Fail on medium or above.
    Medium,
    /// Fail on low or above.
    Low,
    /// Fail on any finding, info included.
    Info,
    /// Never fail because of findings.
    None,
}

/// Severities for `--min-severity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Critical only.
    Critical,
    /// High and above.
    High,
    /// Medium and above.
    Medium,
    /// Low and above.
    Low,
    /// Everything.
    Info,
}

/// Flags of `vibeward scan`.
#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is an independent command-line flag"
)]
pub struct ScanArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output; `FORMAT:FILE` writes that format
    /// (repeatable: one scan, several reports; `-` is standard output).
    #[arg(long, short = 'o', value_name = "[FORMAT:]FILE")]
    pub output: Vec<String>,
    /// Exit with 1 when a finding is at or above this severity [default: high, or `fail-on` in
    /// vibeward.toml].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Do not report findings below this severity [default: info, or `min-severity` in
    /// vibeward.toml].
    #[arg(long, value_enum)]
    pub min_severity: Option<SeverityArg>,
    /// Read this configuration file instead of the `vibeward.toml` or `.vibeward.toml` found
    /// from the scanned path upwards.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any vibeward.toml.
    #[arg(long)]
    pub no_config: bool,
    /// Report only findings that this baseline (from --write-baseline) does not list.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE (a JSON baseline for --baseline), then report as
    /// usual.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Analyse only the files changed since the merge-base with --base (committed, staged,
    /// unstaged and untracked), with the whole project as context.
    #[arg(long, conflicts_with = "staged")]
    pub changed: bool,
    /// The branch or commit --changed compares with [default: `$GITHUB_BASE_REF`, origin's
    /// default branch, main or master].
    #[arg(long, value_name = "REF", requires = "changed")]
    pub base: Option<String>,
    /// Analyse only the files staged for commit, with the whole project as context (pre-commit).
    #[arg(long)]
    pub staged: bool,
    /// Keep each file's results between scans and re-analyse only files that changed (rules,
    /// configuration and vibeward's version are part of the key). `--cache` alone uses
    /// `.vibeward-cache/` in the working directory; `--cache=DIR` another folder.
    #[arg(
        long,
        value_name = "DIR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = vibeward::cache::DEFAULT_DIR
    )]
    pub cache: Option<PathBuf>,
    /// Analyse only shard I of N (files split by a hash of their path), for a CI matrix; merge
    /// the shards' `--format json` reports with `vibeward merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<vibeward::shard::Shard>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Stop analysing a file after this many seconds, with a `timeout` note (0: no limit).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub file_timeout: f64,
    /// Run each query rule as its own tree-sitter query (the reference path, for checking the
    /// fast matcher on real code).
    #[arg(long, hide = true)]
    pub reference_queries: bool,
    /// Leave out paths matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Do not honour .gitignore / .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Also scan `node_modules`, dist, build, .next, coverage, vendor and other skipped folders.
    #[arg(long)]
    pub no_default_excludes: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Load extra rules from this folder (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Do not run the built-in rules (only those from --rules).
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Run only these rules or families (repeatable, comma-separated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub enable: Vec<String>,
    /// Do not run these rules or families (repeatable, comma-separated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub disable: Vec<String>,
    /// Print nothing but findings (text) and errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print statistics to standard error: files, skips and reasons, parse errors, time, MB/s.
    #[arg(long)]
    pub stats: bool,
    /// OSV advisory database: a folder of OSV JSON files or an osv.dev `all.zip` (default: the one
    /// `vibeward db update` stored, if any).
    #[arg(long, value_name = "PATH")]
    pub advisory_db: Option<PathBuf>,
    /// Colour: auto (terminal and `NO_COLOR` unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Flags of `vibeward merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The reports of the shards (`vibeward scan --shard I/N --format json` or `--format sarif`,
    /// mixed if need be); every shard of the scan must be given once.
    #[arg(required = true, value_name = "REPORT")]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity [default: none].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// The rule folders the shards loaded with `--rules` (for titles and metadata).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
}

/// Flags of `vibeward report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Print the data map instead: which stores hold which personal data, who can read and
    /// write them, which third parties receive it, and region settings (text, markdown, json).
    #[arg(long)]
    pub data_map: bool,
    /// Standards to show (repeatable, comma-separated) [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub standard: Vec<StandardArg>,
    /// Output format: text prints the per-control tables; markdown, html and json write the
    /// whole report.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read this configuration file instead of the `vibeward.toml` found from the scanned path.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any vibeward.toml.
    #[arg(long)]
    pub no_config: bool,
    /// Leave out paths matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Also scan `node_modules`, dist, build and the other folders a scan skips by default.
    #[arg(long)]
    pub no_default_excludes: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// OSV advisory database (see `vibeward scan --help`).
    #[arg(long, value_name = "PATH")]
    pub advisory_db: Option<PathBuf>,
}

/// Standards for `--standard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StandardArg {
    /// OWASP Top 10:2021.
    #[value(name = "owasp-2021")]
    Owasp2021,
    /// OWASP API Security Top 10:2023.
    #[value(name = "owasp-api-2023")]
    OwaspApi2023,
    /// OWASP Top 10 for LLM Applications 2025.
    #[value(name = "owasp-llm-2025")]
    OwaspLlm2025,
    /// OWASP ASVS 5.0, by section.
    #[value(name = "asvs-5")]
    Asvs5,
    /// The 2024 CWE Top 25.
    #[value(name = "cwe-top25")]
    CweTop25,
}

impl StandardArg {
    /// The library's standard.
    pub fn to_standard(self) -> vibeward::compliance::Standard {
        use vibeward::compliance::Standard as S;
        match self {
            StandardArg::Owasp2021 => S::Owasp2021,
            StandardArg::OwaspApi2023 => S::OwaspApi2023,
            StandardArg::OwaspLlm2025 => S::OwaspLlm2025,
            StandardArg::Asvs5 => S::Asvs5,
            StandardArg::CweTop25 => S::CweTop25,
        }
    }
}

/// Formats of `vibeward report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The per-control standards tables, for a terminal.
    Text,
    /// The whole report in Markdown.
    Markdown,
    /// The whole report as one self-contained HTML page.
    Html,
    /// The whole report as JSON.
    Json,
}

/// Colour choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Flags of `vibeward rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Also list rules from this folder (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `vibeward sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Folder or lockfile (default: the current directory).
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Document format.
    #[arg(long, value_enum, default_value_t = SbomFormatArg::Cyclonedx)]
    pub format: SbomFormatArg,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Record this creation time (RFC 3339); by default none, so the output is byte-identical.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
}

/// SBOM formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SbomFormatArg {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// `vibeward db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download the OSV advisory archives (npm, crates.io) and store them for offline scans.
    Update {
        /// Where to store the database (default: the platform's data directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Base URL serving `<ecosystem>/all.zip` (default: osv.dev's public bucket).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

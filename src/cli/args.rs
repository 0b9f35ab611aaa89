//! Flags only; no logic. The examples and exit codes under every `--help`
//! are in [`super::help`].

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_verbosity_flag::{LogLevel, Verbosity, VerbosityFilter};
use std::path::PathBuf;

use super::help;

#[derive(Debug, Parser)]
#[command(
    name = "dbfleet",
    version,
    about = "Declarative GitOps reconciler for self-hosted database clusters",
    after_help = help::MAIN
)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// State directory (overrides `state_dir` in fleet.toml).
    #[arg(
        long,
        global = true,
        env = "DBFLEET_STATE_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Colour: auto (when a terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    #[command(flatten)]
    pub verbosity: Verbosity<Logging>,
}

/// `-v`/`-q`: what is logged on stderr, warnings by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logging;

impl LogLevel for Logging {
    fn default_filter() -> VerbosityFilter {
        VerbosityFilter::Warn
    }
    fn verbose_help() -> Option<&'static str> {
        Some("Log more on stderr: -v info, -vv debug, -vvv trace (overrides DBFLEET_LOG)")
    }
    fn quiet_help() -> Option<&'static str> {
        Some("Log only errors on stderr (-qq: nothing; overrides DBFLEET_LOG)")
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check every file of a repository.
    #[command(after_help = help::VALIDATE)]
    Validate(ValidateArgs),
    /// Show what apply would do, with unified diffs of every config file.
    #[command(after_help = help::PLAN)]
    Plan(PlanArgs),
    /// Carry out the plan on the hosts.
    #[command(after_help = help::APPLY)]
    Apply(ApplyArgs),
    /// Nodes, roles, health and replication lag, observed over SSH.
    #[command(after_help = help::STATUS)]
    Status(StatusArgs),
    /// Request files: one-shot operations (promote, resync, backup, ...).
    #[command(after_help = help::REQUEST)]
    Request(RequestArgs),
    /// Show the database credentials dbfleet manages for a cluster.
    #[command(after_help = help::CREDENTIALS)]
    Credentials(CredentialsArgs),
    /// Print the JSON Schemas of fleet.toml, cluster and request files.
    #[command(after_help = help::SCHEMA)]
    Schema(SchemaArgs),
    /// Print a shell completion script.
    #[command(after_help = help::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one per command.
    #[command(after_help = help::MAN)]
    Man(ManArgs),
}

/// `--cluster NAME`: work on some clusters only.
#[derive(Debug, Args)]
pub struct TargetArg {
    /// Only this cluster (repeatable); the others are neither observed, planned nor applied.
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
}

/// The repository: a positional path or `--repo`, default the current directory.
#[derive(Debug, Args)]
pub struct RepoArg {
    /// Path to a checkout of the repository.
    #[arg(value_name = "REPO")]
    pub path: Option<PathBuf>,
    /// Same as the positional REPO.
    #[arg(long = "repo", value_name = "DIR", conflicts_with = "path")]
    pub flag: Option<PathBuf>,
}

impl RepoArg {
    pub fn dir(&self) -> PathBuf {
        self.path
            .clone()
            .or_else(|| self.flag.clone())
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// Output format for the problems found.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// Render and compare with the state store only; contact no host.
    #[arg(long)]
    pub offline: bool,
    /// Compare two revisions of the repository (for pull requests): no hosts, no state.
    #[arg(long, value_name = "REV", conflicts_with = "offline")]
    pub base: Option<String>,
    /// The revision compared with --base (default: the working tree).
    #[arg(long, value_name = "REV", requires = "base")]
    pub head: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// With --format markdown: at most this many bytes (0: no limit); diffs,
    /// then node rows, are left out from the end to fit, and the plan says so.
    #[arg(long, value_name = "N", default_value_t = crate::plan::MARKDOWN_MAX_BYTES)]
    pub max_bytes: usize,
    #[command(flatten)]
    pub target: TargetArg,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: fleet, cluster or request (default: all three, as one JSON object).
    #[arg(value_parser = ["fleet", "cluster", "request"])]
    pub which: Option<String>,
    /// Write the schema files into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// Apply without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub target: TargetArg,
    /// Wait this long for a cluster locked by another dbfleet (a daemon,
    /// another apply) before giving up on it, e.g. "30s", "5m".
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// Write every planned step's progress as JSON lines to FILE
    /// (`step-started`, `step-done`, `step-failed`, `step-skipped`).
    #[arg(long, value_name = "FILE")]
    pub events: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this cluster.
    #[arg(value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// The repository (for the clusters and fleet.toml's SSH settings).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// The cluster.
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    /// The repository (for the cluster and fleet.toml).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write dbfleet.1 and a dbfleet-<command>.1 per command into this directory instead of printing dbfleet.1.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

/// `dbfleet request ...`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    #[command(subcommand)]
    pub command: RequestCommand,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Write a well-formed request file into requests/, for you to commit.
    #[command(after_help = help::REQUEST_NEW)]
    New(RequestNewArgs),
}

#[derive(Debug, Args)]
pub struct RequestNewArgs {
    /// What the request does.
    #[arg(value_name = "ACTION", value_parser = crate::model::Request::ACTIONS)]
    pub action: String,
    #[command(flatten)]
    pub repo: RepoArg,
    /// The cluster.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// The node (promote, remove-node), e.g. shop3.
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// The backup to restore: an id or "latest" (restore).
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// URL of the database to import, without a password (migrate).
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// Past this the request fails, e.g. "10m" (default per action).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Confirm that the request deletes (remove-node, delete-cluster): writes
    /// `confirm` with the node's or cluster's name.
    #[arg(long)]
    pub confirm: bool,
}

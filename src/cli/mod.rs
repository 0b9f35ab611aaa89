//! The command line: clap structs that only describe flags, and one file per
//! subcommand that turns them into a call into the library.

mod apply;
mod args;
mod clock;
mod completions;
mod credentials;
mod help;
mod online;
mod output;
mod plan;
mod repo;
mod request;
mod requests;
mod schema;
mod status;
mod target;
mod validate;

use clap::Parser;
use std::process::ExitCode;

pub use args::{Cli, Command, Format};

/// Exit codes, explicit (listed under every `--help`, see [`help`]).
pub mod exit {
    pub const OK: u8 = 0;
    /// An error, a usage error included (never 2, which `--detailed-exitcode`
    /// scripts read as "changes").
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: the plan has changes.
    pub const CHANGES: u8 = 2;
    /// `status`: some node is not healthy.
    pub const DEGRADED: u8 = 2;
}

/// Parse the command line, run the command, and return its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    output::init_tracing(&cli.global);
    let result = match &cli.command {
        Command::Validate(a) => validate::run(&cli.global, a),
        Command::Plan(a) => plan::run(&cli.global, a),
        Command::Apply(a) => apply::run(&cli.global, a),
        Command::Status(a) => status::run(&cli.global, a),
        Command::Request(a) => request::run(&cli.global, a),
        Command::Credentials(a) => credentials::run(&cli.global, a),
        Command::Schema(a) => schema::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Each cause once: errors keep their cause as `source`, some also in their text.
            eprintln!("error: {}", crate::observe::error_chain(e.as_ref()));
            ExitCode::from(exit::ERROR)
        }
    }
}

/// `--help` and `--version` print on stdout and exit 0; a usage error prints
/// clap's message on stderr and exits 1 (clap's own 2 means "changes" to
/// `--detailed-exitcode`).
fn usage(e: &clap::Error) -> ExitCode {
    // Nothing useful is left to do when the terminal is gone.
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(exit::ERROR)
    } else {
        ExitCode::from(exit::OK)
    }
}

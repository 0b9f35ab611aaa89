//! The command line: clap structs that only describe flags, and one file per
//! subcommand that turns them into a call into the library.

mod apply;
mod args;
mod credentials;
mod online;
mod output;
mod plan;
mod repo;
mod schema;
mod status;
mod validate;

use clap::Parser;
use std::process::ExitCode;

pub use args::{Cli, Command, Format};

/// Exit codes, explicit (see `--detailed-exitcode`).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const CHANGES: u8 = 2;
}

/// Parse the command line, run the command, and return its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_tracing(&cli.global);
    let result = match &cli.command {
        Command::Validate(a) => validate::run(&cli.global, a),
        Command::Plan(a) => plan::run(&cli.global, a),
        Command::Apply(a) => apply::run(&cli.global, a),
        Command::Status(a) => status::run(&cli.global, a),
        Command::Credentials(a) => credentials::run(&cli.global, a),
        Command::Schema(a) => schema::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

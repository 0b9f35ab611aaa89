//! `dbfleet completions SHELL` and `dbfleet man`: generated from the clap
//! definition of the command line, so they never drift from it.

use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;

use super::args::{Cli, CompletionsArgs, ManArgs};
use super::exit;

pub fn completions(a: &CompletionsArgs) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(a.shell, &mut Cli::command(), "dbfleet", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(exit::OK)
}

pub fn man(a: &ManArgs) -> anyhow::Result<u8> {
    let cmd = Cli::command();
    match &a.write {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            eprintln!("wrote the man pages into {}", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("writing the man page")?;
            out.flush().context("writing the man page")?;
        }
    }
    Ok(exit::OK)
}

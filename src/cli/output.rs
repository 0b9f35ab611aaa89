//! Terminal concerns: logging setup, colour decisions.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

use super::args::{Color, Global, LogFormat};

/// Log on stderr, filtered by [`log_filter`].
pub fn init_tracing(g: &Global) {
    let filter = log_filter(g, |name| std::env::var(name).ok());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match g.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// Whether to colour output written to stderr.
pub fn color_stderr(g: &Global) -> bool {
    match g.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Whether to colour output written to stdout.
pub fn color_stdout(g: &Global) -> bool {
    match g.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// `-q`: report errors only (apply's progress lines too).
pub fn quiet(g: &Global) -> bool {
    g.verbosity.tracing_level_filter() < tracing::level_filters::LevelFilter::WARN
}

/// What is logged: `-v`/`-q` when given, else DBFLEET_LOG, else RUST_LOG (a
/// tracing filter such as `info,dbfleet::transport=trace`), else warnings.
/// An unreadable filter is reported and the default used.
fn log_filter(g: &Global, env: impl Fn(&str) -> Option<String>) -> EnvFilter {
    let flags = EnvFilter::default().add_directive(g.verbosity.tracing_level_filter().into());
    if g.verbosity.is_present() {
        return flags;
    }
    let Some((var, text)) = ["DBFLEET_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| env(var).filter(|t| !t.trim().is_empty()).map(|t| (var, t)))
    else {
        return flags;
    };
    match EnvFilter::builder().parse(&text) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("warning: {var}={text:?} is not a log filter ({e}); logging warnings");
            flags
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn filter(args: &[&str], env: &[(&str, &str)]) -> String {
        let cli = crate::cli::Cli::parse_from(["dbfleet"].iter().chain(args).chain(&["schema"]));
        log_filter(&cli.global, |name| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
        .to_string()
    }

    #[test]
    fn flags_then_dbfleet_log_then_rust_log_then_warnings() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (&[], &[], "warn"),
            (&["-v"], &[], "info"),
            (&["-vv"], &[], "debug"),
            (&["-vvv"], &[], "trace"),
            (&["-q"], &[], "error"),
            (&["-qq"], &[], "off"),
            (&[], &[("RUST_LOG", "debug")], "debug"),
            (
                &[],
                &[("RUST_LOG", "debug"), ("DBFLEET_LOG", "dbfleet=trace")],
                "dbfleet=trace",
            ),
            (&["-q"], &[("DBFLEET_LOG", "trace")], "error"),
            (&[], &[("DBFLEET_LOG", "")], "warn"),
            (&[], &[("DBFLEET_LOG", "dbfleet=lots")], "warn"),
        ];
        for (args, env, want) in cases {
            assert_eq!(filter(args, env), *want, "{args:?} {env:?}");
        }
    }

    #[test]
    fn quiet_from_one_q() {
        for (args, want) in [
            (&[][..], false),
            (&["-v"], false),
            (&["-q"], true),
            (&["-qq"], true),
        ] {
            let cli = crate::cli::Cli::parse_from(["dbfleet"].iter().chain(args).chain(&["schema"]));
            assert_eq!(quiet(&cli.global), want, "{args:?}");
        }
    }
}

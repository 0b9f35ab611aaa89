//! The text under each `--help` (and in the man page): an example and the
//! exit codes of every command. The codes themselves are in [`super::exit`].

pub const MAIN: &str = "\
Examples:
  dbfleet validate .
  dbfleet plan . --base origin/main --head HEAD --format markdown > plan.md
  dbfleet plan . --cluster shop
  dbfleet apply . --cluster shop --yes
  dbfleet status --repo .
  dbfleet request new promote --cluster shop --node shop3

Exit codes:
  0  success
  1  error, a usage error included (an unknown flag, a missing argument)
  2  plan --detailed-exitcode: the plan has changes;
     status: some node is not healthy

Logging (on stderr, warnings by default):
  -v info, -vv debug, -vvv trace; -q errors only, -qq nothing.
  Without -v/-q, DBFLEET_LOG (else RUST_LOG) is a tracing filter, e.g.
  DBFLEET_LOG=info,dbfleet::transport=trace. --log-format json logs JSON lines.

Environment:
  DBFLEET_STATE_DIR   the state directory (as --state-dir)
  DBFLEET_LOG         log filter (wins over RUST_LOG)
  NO_COLOR            no colour with --color auto

Run `dbfleet <command> --help` for each command's examples.";

pub const VALIDATE: &str = "\
Examples:
  dbfleet validate .
  dbfleet validate path/to/repo --format json

Exit codes:
  0  every file is valid (warnings may be printed)
  1  a file has an error, or the command could not run (usage error included)";

pub const PLAN: &str = "\
Examples:
  dbfleet plan .                      # against the hosts, over SSH
  dbfleet plan . --offline            # against the state store; no host is contacted
  dbfleet plan . --base origin/main --head HEAD --format markdown > plan.md
  dbfleet plan . --cluster shop --cluster cache --detailed-exitcode

--cluster NAME plans only the clusters named (repeatable; also an orphaned
cluster, gone from the repository but still recorded); the others are not
observed. An unknown name is an error that lists the clusters.

--format markdown is a pull-request comment: a summary table first, a change
that is the same on several nodes of a cluster shown once, and at most
--max-bytes bytes (default 60000; GitHub stops at 65536 characters). To fit,
diffs and then node rows are left out from the end, and the comment says how
many; --max-bytes 0 prints everything:
  dbfleet plan . --base origin/main --format markdown --max-bytes 0 > full-plan.md

Exit codes:
  0  the plan was made (with --detailed-exitcode: and it changes nothing)
  1  error: the repository does not validate, a node's host could not be
     observed (the plan is printed and names it; --detailed-exitcode too),
     the command could not run (usage error included)
  2  only with --detailed-exitcode: the plan has changes";

pub const APPLY: &str = "\
Examples:
  dbfleet apply .                     # shows the plan, then asks for `yes`
  dbfleet apply . --cluster shop --yes

--cluster NAME applies only the clusters named (repeatable); the others are
neither observed, locked nor changed.

Exit codes:
  0  applied, or nothing to do
  1  error: a cluster failed, the apply was cancelled, or the command could not
     run (usage error included)";

pub const STATUS: &str = "\
Examples:
  dbfleet status --repo .
  dbfleet status shop --repo . --format json

Exit codes:
  0  every node of every cluster shown is healthy
  1  error: the command could not run (repository invalid, unknown cluster,
     usage error)
  2  a node is not healthy: unreachable, engine missing, empty or stopped, or
     its replication broken. Orphaned nodes are shown but do not count.";

pub const REQUEST: &str = "\
Examples:
  dbfleet request new promote --cluster shop --node shop3
  dbfleet request new remove-node --cluster shop --node shop2 --confirm

Run `dbfleet request new --help` for every action and flag.

Exit codes:
  0  done
  1  error (see each subcommand; usage error included)";

pub const REQUEST_NEW: &str = "\
Examples:
  dbfleet request new promote --cluster shop --node shop3
  dbfleet request new restore --cluster shop --backup latest --timeout 3h
  dbfleet request new migrate --cluster shop --source mysql://app@old.example.internal/shop
  dbfleet request new remove-node --cluster shop --node shop2 --confirm

Writes requests/<date>-<action>-<target>.toml (the target is the node for
promote and remove-node, else the cluster; the date is today, UTC, or
SOURCE_DATE_EPOCH) and prints its path. Nothing is written when the
repository with the file added would not validate, when the file exists, or
when a request that deletes (remove-node, delete-cluster) is not confirmed.

Exit codes:
  0  written
  1  error: not written (the request would not validate, the file exists,
     no --confirm), or the command could not run (usage error included)";

pub const CREDENTIALS: &str = "\
Examples:
  dbfleet credentials shop --repo .
  dbfleet credentials shop --repo . --format json

Exit codes:
  0  printed
  1  error (unknown cluster, no credentials yet, usage error)";

pub const SCHEMA: &str = "\
Examples:
  dbfleet schema cluster
  dbfleet schema --write schema/

Exit codes:
  0  printed or written
  1  error (a file could not be written, usage error)";

pub const COMPLETIONS: &str = "\
Examples:
  dbfleet completions bash > ~/.local/share/bash-completion/completions/dbfleet
  dbfleet completions zsh > \"${fpath[1]}/_dbfleet\"
  dbfleet completions fish > ~/.config/fish/completions/dbfleet.fish
  source <(dbfleet completions bash)      # in ~/.bashrc, instead of the first

Exit codes:
  0  printed
  1  error (usage error: an unknown shell)";

pub const MAN: &str = "\
Examples:
  dbfleet man | man -l -
  dbfleet man --write /usr/local/share/man/man1

Exit codes:
  0  printed or written
  1  error (the directory could not be written, usage error)";

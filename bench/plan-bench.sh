#!/usr/bin/env bash
# Benchmark dbfleet validate / plan on large synthetic repositories.
#
#   bench/plan-bench.sh [--runs N] [--sizes "1000:3000 3334:10000"] [--no-build] [--out DIR]
#
# Run from the repository root. Generates (with bench/gen-fleet.py) one git
# repository per size, CLUSTERS:NODES, each with two commits: the fleet, then
# a commit that changes a setting in half of the clusters. Builds the release
# binary once (skip with --no-build or DBFLEET_BIN=path), then measures wall
# time and peak RSS with /usr/bin/time of
#   dbfleet validate REPO
#   dbfleet plan REPO --offline --state-dir <fresh empty dir>
#   dbfleet plan REPO --base HEAD~1 --head HEAD
# taking the median of N runs (default 5), and prints a markdown report.
# Needs bash, python3, git and GNU time (installed with apt-get when missing).
set -euo pipefail

RUNS=5
SIZES="1000:3000 3334:10000"
BUILD=1
OUT=bench/out
CMDLINE=$(printf '%q ' "$0" "$@"); CMDLINE=${CMDLINE% }
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done

[ -f Cargo.toml ] && [ -f bench/gen-fleet.py ] || { echo "run from the repository root" >&2; exit 64; }
if [ ! -x /usr/bin/time ]; then
    echo "GNU time missing: installing the 'time' package" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq time >&2 || { apt-get update -qq >&2 && apt-get install -y -qq time >&2; }
    else
        sudo apt-get install -y -qq time >&2
    fi
fi
command -v git >/dev/null || { echo "git is needed" >&2; exit 1; }

if [ -n "${DBFLEET_BIN:-}" ]; then
    BIN=$DBFLEET_BIN
else
    BIN=$PWD/target/release/dbfleet
    if [ "$BUILD" = 1 ]; then
        echo "building: cargo build --release --bin dbfleet" >&2
        cargo build --release --bin dbfleet >&2
    fi
fi
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- repositories
gen_repo() { # DIR CLUSTERS NODES
    local dir=$1 clusters=$2 nodes=$3
    local stamp="$clusters:$nodes:$(sha256sum bench/gen-fleet.py | cut -c1-16)"
    if [ -f "$dir/.bench-stamp" ] && [ "$(cat "$dir/.bench-stamp")" = "$stamp" ] \
        && git -C "$dir" rev-parse -q --verify HEAD~1 >/dev/null; then
        echo "reusing $dir" >&2
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    python3 bench/gen-fleet.py "$dir" --clusters "$clusters" --nodes "$nodes"
    local g=(git -C "$dir" -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false)
    "${g[@]}" init -q -b main
    "${g[@]}" add fleet.toml clusters
    "${g[@]}" commit -q -m "fleet: $clusters clusters, $nodes nodes"
    python3 bench/gen-fleet.py "$dir" --clusters "$clusters" --nodes "$nodes" --change $((clusters / 2))
    "${g[@]}" add clusters
    "${g[@]}" commit -q -m "change a setting in $((clusters / 2)) clusters"
    echo "$stamp" > "$dir/.bench-stamp"
    # The stamp is untracked: keep the working tree clean for git-based commands.
    echo ".bench-stamp" >> "$dir/.git/info/exclude"
}

# ---------------------------------------------------------------- measuring
# measure NAME REPO -- ARGS...: prints "median_s median_rss_mib status" and
# keeps each run's stdout/stderr in $OUT/logs.
mkdir -p "$OUT/logs"
measure() {
    local name=$1 repo=$2; shift 3
    local times=() rsss=() status=ok i
    for ((i = 1; i <= RUNS; i++)); do
        local state tf log rc
        state=$(mktemp -d "$OUT/state.XXXXXX")
        tf=$(mktemp "$OUT/time.XXXXXX")
        log="$OUT/logs/$name.$i"
        local args=("$@")
        args=("${args[@]//@STATE@/$state}")
        rc=0
        ( cd "$repo" && /usr/bin/time -f '%e %M' -o "$tf" "$BIN" "${args[@]}" >"$log.out" 2>"$log.err" ) || rc=$?
        rm -rf "$state"
        # plan may exit 2 for "changes" under --detailed-exitcode; anything else is a failure.
        if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then status="exit $rc"; fi
        read -r t m < <(tail -n1 "$tf")
        rm -f "$tf"
        times+=("$t"); rsss+=("$m")
    done
    python3 - "$status" "${times[*]}" "${rsss[*]}" <<'PY'
import statistics, sys
status, times, rss = sys.argv[1], [float(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
print(f"{statistics.median(times):.3f} {statistics.median(rss) / 1024:.1f} {min(times):.3f} {max(times):.3f} {status.replace(' ', '_')}")
PY
}

ROWS=()
row() { # NODES CLUSTERS LABEL MEASURED...
    local nodes=$1 clusters=$2 label=$3 t rss mn mx st
    read -r t rss mn mx st <<<"$4"
    ROWS+=("| $nodes | $clusters | \`$label\` | $t | $rss | $mn | $mx | ${st//_/ } |")
}
for size in $SIZES; do
    clusters=${size%%:*}; nodes=${size##*:}
    repo="$OUT/repo-$nodes"
    gen_repo "$repo" "$clusters" "$nodes"
    echo "measuring $nodes nodes ($RUNS runs each)" >&2
    row "$nodes" "$clusters" "dbfleet validate REPO" \
        "$(measure "validate-$nodes" "$repo" -- validate .)"
    row "$nodes" "$clusters" "dbfleet plan REPO --offline --state-dir EMPTY" \
        "$(measure "plan-offline-$nodes" "$repo" -- plan . --offline --state-dir @STATE@)"
    row "$nodes" "$clusters" "dbfleet plan REPO --base HEAD~1 --head HEAD" \
        "$(measure "plan-base-$nodes" "$repo" -- plan . --base HEAD~1 --head HEAD)"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
echo "## dbfleet plan benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- command: \`$CMDLINE\`"
echo "- binary: \`$BIN\` ($("$BIN" --version 2>/dev/null || echo unknown version)), built $(date -u -r "$BIN" "+%Y-%m-%d %H:%M UTC"); checkout HEAD when run: $(git rev-parse --short HEAD 2>/dev/null || echo "?")"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
echo "- load average (1/5/15 min): before $LOAD_BEFORE, after $LOAD_AFTER"
echo "- each command runs in the generated repository (REPO = \`.\`, e.g. \`cd $OUT/repo-NODES && $BIN plan . --offline --state-dir \$(mktemp -d)\`), stdout and stderr to files; EMPTY is a fresh empty directory per run"
echo "- repositories: \`python3 bench/gen-fleet.py\` (all 8 engines, every topology they support, unique hosts), commit 1 = the fleet, commit 2 = a setting changed in half the clusters"
echo "- runs per figure: $RUNS (median; min and max of wall time shown too)"
echo
echo "| nodes | clusters | command | wall s (median) | peak RSS MiB (median) | min s | max s | status |"
echo "|---:|---:|---|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"

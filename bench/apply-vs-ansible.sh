#!/usr/bin/env bash
# dbfleet apply vs Ansible: the same change on the same three lab hosts.
#
#   bench/apply-vs-ansible.sh [--runs N] [--no-build] [--no-cold] [--no-profile]
#                             [--keep] [--lock-wait SECONDS] [--out DIR]
#                             [--baseline BIN]
#
# --baseline BIN adds a fourth tool, "dbfleet (baseline)": another dbfleet
# binary (e.g. a release build of the previous commit) run on the same
# repository and state, interleaved with the others, so that a change's
# before and after are measured side by side in the same run.
#
# Run from the repository root, as root, with the lab up (lab/lab.sh up).
# THE BENCHMARK OWNS THE LAB WHILE IT RUNS: it takes the lab's end-to-end
# lock ($LAB_DIR/lock, so `cargo test` e2e runs wait for it and it
# waits for them), then on h1..h3 stops every mariadbd and redis-server,
# empties /var/lib/mysql and /var/lib/redis, and removes /etc/mysql/my.cnf
# and /etc/redis/redis.conf (and dbfleet's secrets/rollback files), so that
# dbfleet builds both clusters fresh. At the end it does the same again and
# puts Debian's my.cnf link and redis.conf back (--keep leaves the clusters
# running instead). Nothing else on the hosts is touched.
#
# The change, done by both tools on h1..h3: render a redis.conf (Redis 7.0
# primary + 2 replicas) and a my.cnf (MariaDB 10.11 primary + 2 replicas) on
# every host from templates, and apply one changed parameter live
# (maxmemory 64mb <-> 128mb, max_connections 200 <-> 300), no restarts.
#   dbfleet: one repository in $OUT with both clusters on the same three
#     hosts (clusters/bench-redis.toml, clusters/bench-maria.toml), one
#     command: `dbfleet --state-dir S apply --yes R`
#   Ansible: ansible-core from PyPI in a venv ($OUT/../ansible-venv),
#     bench/ansible/playbook.yml (two template tasks, a live handler each),
#     bench/ansible/ansible.cfg (ssh with ControlPersist and pipelining,
#     forks 10, no fact gathering), the inventory from bench/ansible/inventory.py.
#     "Ansible" keeps its ControlPersist masters between runs (a user's
#     runs); "Ansible, cold SSH" closes them before each run (a fresh CI job).
#
# Measured (wall time of the whole command, median of N runs, default 7, at
# least 5), the tools interleaved run by run in alternating order:
#   no-op: everything converged, each tool finds nothing to do;
#   change: each run flips both parameters to the other value, so every run
#     really changes both files on all three hosts and applies them live.
# After every run the hosts are checked: the values live (CONFIG GET,
# SELECT @@GLOBAL) and in the files, no engine restarted (same pid and
# start time), and for no-op runs both files untouched (inode, mtime, ctime).
# Ansible's templates must render dbfleet's files byte for byte: an
# `ansible-playbook --check --diff` right after dbfleet built the clusters
# must report nothing to change, or the script stops.
#
# Then, unless --no-profile, one traced run of each dbfleet scenario
# (DBFLEET_LOG=dbfleet=trace: SSH connects, every remote command, steps) and
# of each Ansible scenario (-vvv: every ssh/sftp it runs), summarised.
# The report (markdown) goes to stdout and $OUT/report.md; logs to $OUT/logs.
set -euo pipefail

RUNS=7
BASELINE=
BUILD=1
COLD=1
PROFILE=1
KEEP=0
LOCK_WAIT=1800
OUT=bench/out/apply-vs-ansible
HOSTS=(h1 h2 h3)
CMDLINE=$(printf '%q ' "$0" "$@"); CMDLINE=${CMDLINE% }
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --baseline) BASELINE=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-cold) COLD=0; shift ;;
        --no-profile) PROFILE=0; shift ;;
        --keep) KEEP=1; shift ;;
        --lock-wait) LOCK_WAIT=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,47p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done

say() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ -f Cargo.toml ] && [ -f bench/ansible/playbook.yml ] || die "run from the repository root"
[ "$(id -u)" = 0 ] || die "run as root (the lab needs it)"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 5 ] || die "--runs must be 5 or more"
for tool in python3 git ssh flock; do command -v "$tool" >/dev/null || die "$tool is needed"; done

ROOT=$PWD
ANSIBLE_DIR=$ROOT/bench/ansible
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VENV=$(dirname "$OUT")/ansible-venv
LOGS=$OUT/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

# ---------------------------------------------------------------- the lab
LAB_ENV=$(lab/lab.sh env) || die "lab/lab.sh env failed"
eval "$(grep -E '^LAB_[A-Za-z0-9_]+=' <<<"$LAB_ENV")"
: "${LAB_DIR:?}" "${LAB_KEY:?}" "${LAB_KNOWN_HOSTS:?}"
declare -A IP
for h in "${HOSTS[@]}"; do
    var=LAB_IP_$h
    IP[$h]=${!var:?no IP for $h in lab.sh env}
done

# One user of the lab at a time: the lab's lock, held by every end-to-end
# test (tests/common/lab.rs) and by lab.sh's commands that change the lab.
# lab.sh, called while we hold it, is told so (LAB_LOCK_HELD=1); no
# long-lived child (ssh masters, host inits) inherits the descriptor.
[ -d "$LAB_DIR" ] || die "no lab at $LAB_DIR: run lab/lab.sh up"
exec 9>>"$LAB_DIR/lock"
say "waiting for the lab lock $LAB_DIR/lock (at most ${LOCK_WAIT}s)"
flock -w "$LOCK_WAIT" 9 || die "the lab stayed locked for ${LOCK_WAIT}s (end-to-end tests running?)"
say "lab locked: the benchmark owns ${HOSTS[*]} until it ends"

status=$(lab/lab.sh status 2>&1 || true)
grep -q 'bridge dblab0: UP' <<<"$status" || die "the lab is not up: run lab/lab.sh up"
off=()
for h in "${HOSTS[@]}"; do
    grep -qE "^$h .*ssh=open$" <<<"$status" || off+=("$h")
done
if [ ${#off[@]} -gt 0 ]; then
    say "powering on ${off[*]}"
    LAB_LOCK_HELD=1 lab/lab.sh up "${off[@]}" >&2 9>&-
fi
grep -q 'partitions: none' <<<"$status" || LAB_LOCK_HELD=1 lab/lab.sh heal >&2 9>&-

# System ssh for resets and checks (never measured), its own masters.
CHECK_CP=$OUT/check-cp
ANSIBLE_CP=$OUT/ansible-cp
mkdir -p "$CHECK_CP" "$ANSIBLE_CP"
close_masters() { # DIR
    local s
    for s in "$1"/*; do
        [ -S "$s" ] || continue
        ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true
    done
}
TOUCHED=0   # 1 once the hosts were reset: on a failure they are reset again
on_exit() {
    local rc=$?
    trap - EXIT
    if [ "$TOUCHED" = 1 ] && [ "$KEEP" = 0 ]; then
        say "stopped early (exit $rc): resetting MariaDB and Redis on ${HOSTS[*]} (--keep leaves them for a look)"
        for h in "${HOSTS[@]}"; do hssh "$h" "$RESET_SH" >&2 || true; done
        restore_defaults
    fi
    close_masters "$CHECK_CP"
    close_masters "$ANSIBLE_CP"
    exit "$rc"
}
trap on_exit EXIT

hssh() { # HOST CMD...
    local h=$1; shift
    ssh -i "$LAB_KEY" -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR \
        -o ControlMaster=auto -o ControlPersist=600 -o ControlPath="$CHECK_CP/%C" \
        "root@${IP[$h]}" "$@" 9>&-
}

# Stops MariaDB and Redis (only them), empties their data directories and
# removes the files dbfleet manages, so dbfleet builds everything fresh.
# shellcheck disable=SC2016 # expanded on the host
RESET_SH='
mariadb-admin shutdown >/dev/null 2>&1
pkill -x redis-server
i=0
while { pgrep -x mariadbd || pgrep -x mysqld_safe || pgrep -x redis-server; } >/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done
pkill -KILL -x mysqld_safe; pkill -KILL -x mariadbd; pkill -KILL -x redis-server
sleep 0.2
find /var/lib/mysql /var/lib/redis -mindepth 1 -delete
rm -f /etc/mysql/my.cnf /etc/mysql/my.cnf.dbfleet-prev \
      /etc/redis/redis.conf /etc/redis/redis.conf.dbfleet-prev \
      /etc/redis/dbfleet-secrets.conf /etc/redis/dbfleet-secrets.conf.dbfleet-prev \
      /var/log/mysql/error.log /var/log/redis/redis-server.log \
      /run/mysqld/mysqld.pid /run/mysqld/mysqld.sock /run/redis/redis-server.pid /run/redis/redis-server.sock \
      /etc/nftables.d/dbfleet-bench-redis.nft /etc/nftables.d/dbfleet-bench-redis.nft.dbfleet-prev \
      /etc/nftables.d/dbfleet-bench-maria.nft /etc/nftables.d/dbfleet-bench-maria.nft.dbfleet-prev
nft delete chain inet dbfleet cluster-bench-redis 2>/dev/null
nft delete chain inet dbfleet cluster-bench-maria 2>/dev/null
n=$(ss -Hltn "( sport = :3306 or sport = :6379 )" | wc -l)
[ "$n" = 0 ] || { echo "something still listens on 3306 or 6379:"; ss -Hltnp "( sport = :3306 or sport = :6379 )"; exit 1; }
'
reset_hosts() {
    local h
    for h in "${HOSTS[@]}"; do
        hssh "$h" "$RESET_SH" >&2 || die "$h: reset failed"
    done
}

# Back to the package defaults for the two files (the lab's seed).
restore_defaults() {
    local h
    for h in "${HOSTS[@]}"; do
        hssh "$h" 'if [ -e /etc/alternatives/my.cnf ]; then ln -sfn /etc/alternatives/my.cnf /etc/mysql/my.cnf; fi
                   install -o redis -g redis -m 0640 /dev/stdin /etc/redis/redis.conf' </etc/redis/redis.conf \
            || say "WARNING: $h: could not restore my.cnf / redis.conf"
    done
}

# ---------------------------------------------------------------- tools
if [ -n "${DBFLEET_BIN:-}" ]; then
    BIN=$DBFLEET_BIN
else
    BIN=$ROOT/target/release/dbfleet
    if [ "$BUILD" = 1 ]; then
        say "building: cargo build --release --bin dbfleet"
        cargo build --release --bin dbfleet >&2
    fi
fi
[ -x "$BIN" ] || die "no binary at $BIN"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || die "no baseline binary at $BASELINE"
    BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
fi

if [ ! -x "$VENV/bin/ansible-playbook" ]; then
    say "installing ansible-core from PyPI into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "${ANSIBLE_CORE_SPEC:-ansible-core}" >&2
fi
PLAYBOOK=("$VENV/bin/ansible-playbook")
export ANSIBLE_CONFIG=$ANSIBLE_DIR/ansible.cfg
export ANSIBLE_SSH_CONTROL_PATH_DIR=$ANSIBLE_CP
export ANSIBLE_NOCOLOR=1 NO_COLOR=1
"${PLAYBOOK[@]}" --syntax-check -i localhost, "$ANSIBLE_DIR/playbook.yml" >/dev/null 2>&1 \
    || die "ansible-playbook --syntax-check failed"

DBFLEET_VERSION=$("$BIN" --version)
ANSIBLE_VERSION=$("$VENV/bin/ansible-playbook" --version | head -n1)
ANSIBLE_JINJA=$("$VENV/bin/python" -c 'import jinja2; print(jinja2.__version__)')
ANSIBLE_PYTHON=$("$VENV/bin/python" -c 'import platform; print(platform.python_version())')
SSH_VERSION=$(ssh -V 2>&1)
REDIS_VERSION=$(hssh h1 'redis-server --version' | sed -n 's/.*v=\([^ ]*\).*/\1/p')
MARIADB_VERSION=$(hssh h1 'mariadbd --version' | sed -n 's/.*Ver \([^ ]*\).*/\1/p')
HEAD=$(git rev-parse --short HEAD)
DIRTY=$(git status --porcelain -- src templates Cargo.toml Cargo.lock | wc -l)

# ---------------------------------------------------------------- repositories
# The two parameters' two values: dbfleet's settings, Ansible's variables,
# and what CONFIG GET / SELECT @@ return.
MAXMEMORY=(64mb 128mb)
MAXMEMORY_BYTES=(67108864 134217728)
MAXCONN=(200 300)

REPO=$OUT/repo; STATE=$OUT/state
rm -rf "$REPO" "$STATE" "$OUT/repo-redis" "$OUT/repo-maria" "$OUT/state-redis" "$OUT/state-maria"

fleet_toml() {
    cat <<EOF
[ssh]
user = "root"
identity = "$LAB_KEY"
known_hosts = "$LAB_KNOWN_HOSTS"
connect_timeout = "5s"

[hosts]
service_manager = "direct"
EOF
}
nodes_toml() {
    local h
    for h in "${HOSTS[@]}"; do printf '\n[[nodes]]\nhost = "%s"\n' "${IP[$h]}"; done
}
redis_toml() { # VALUE-INDEX
    printf 'name = "bench-redis"\nengine = "redis"\nversion = "7.0"\ntopology = "primary-replica"\n\n[settings]\nmaxmemory = "%s"\n' \
        "${MAXMEMORY[$1]}"
    nodes_toml
}
maria_toml() { # VALUE-INDEX
    printf 'name = "bench-maria"\nengine = "mariadb"\nversion = "10.11"\ntopology = "primary-replica"\n\n[settings]\nmax_connections = %s\n' \
        "${MAXCONN[$1]}"
    nodes_toml
}
git_in() { git -C "$1" -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false "${@:2}"; }
new_repo() { # DIR
    mkdir -p "$1/clusters"
    git_in "$1" init -q -b main
    fleet_toml >"$1/fleet.toml"
}
# Commit value index V (not measured: the change a user pushes).
# Ansible's counterpart is vars.yml.
set_desired() { # V
    redis_toml "$1" >"$REPO/clusters/bench-redis.toml"
    maria_toml "$1" >"$REPO/clusters/bench-maria.toml"
    git_in "$REPO" add fleet.toml clusters
    git_in "$REPO" diff --cached --quiet || git_in "$REPO" commit -q -m "maxmemory ${MAXMEMORY[$1]}, max_connections ${MAXCONN[$1]}"
    printf 'redis_maxmemory: "%s"\nmariadb_max_connections: %s\n' "${MAXMEMORY[$1]}" "${MAXCONN[$1]}" >"$OUT/vars.yml"
}
new_repo "$REPO"

# ---------------------------------------------------------------- the runs
DBFLEET_CMD="$BIN --state-dir $STATE apply --yes $REPO"
ANSIBLE_CMD="ansible-playbook -i $OUT/inventory.json bench/ansible/playbook.yml -e @$OUT/vars.yml"

ELAPSED=
# run_tool TOOL LOG: runs one tool once, sets ELAPSED (seconds) and returns
# its exit status. TOOL: dbfleet | ansible | ansible-cold.
run_tool() {
    local tool=$1 log=$2 t0 t1 rc=0
    case $tool in
        dbfleet)
            t0=$(date +%s%N)
            "$BIN" --state-dir "$STATE" apply --yes "$REPO" >"$log" 2>&1 9>&- || rc=$?
            t1=$(date +%s%N) ;;
        dbfleet-baseline)
            t0=$(date +%s%N)
            "$BASELINE" --state-dir "$STATE" apply --yes "$REPO" >"$log" 2>&1 9>&- || rc=$?
            t1=$(date +%s%N) ;;
        ansible|ansible-cold)
            [ "$tool" = ansible ] || close_masters "$ANSIBLE_CP"
            t0=$(date +%s%N)
            ( cd "$ANSIBLE_DIR" && "${PLAYBOOK[@]}" -i "$OUT/inventory.json" playbook.yml -e "@$OUT/vars.yml" ) \
                >"$log" 2>&1 9>&- || rc=$?
            t1=$(date +%s%N) ;;
        *) die "internal: tool $tool" ;;
    esac
    ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    return "$rc"
}

# snapshot: one line per host, "host redis-pid:start maria-pid:start
# maxmemory max_connections file-maxmemory file-max_connections stamps".
REDIS_PW=
snapshot() {
    local h pw
    pw=$(printf '%q' "$REDIS_PW")
    for h in "${HOSTS[@]}"; do
        hssh "$h" "rp=\$(cat /run/redis/redis-server.pid); mp=\$(cat /run/mysqld/mysqld.pid)
            rs=\$(awk '{print \$22}' /proc/\$rp/stat); ms=\$(awk '{print \$22}' /proc/\$mp/stat)
            mm=\$(REDISCLI_AUTH=$pw redis-cli -s /run/redis/redis-server.sock CONFIG GET maxmemory | sed -n 2p)
            mc=\$(mariadb -N -B -e 'SELECT @@GLOBAL.max_connections')
            fm=\$(awk '\$1 == \"maxmemory\" {print \$2}' /etc/redis/redis.conf)
            fc=\$(awk -F' = ' '\$1 == \"max_connections\" {print \$2}' /etc/mysql/my.cnf)
            st=\$(stat -c %i.%Y.%Z /etc/redis/redis.conf /etc/mysql/my.cnf | paste -sd, -)
            echo \"$h \$rp:\$rs \$mp:\$ms \$mm \$mc \$fm \$fc \$st\"" </dev/null >"$OUT/snap.$h" 2>&1 &
    done
    wait
    for h in "${HOSTS[@]}"; do cat "$OUT/snap.$h"; done
}

BASE_PIDS=
PREV_SNAP=
# verify WHAT V LOG: the hosts after a run that should leave value set V
# live and in the files, no engine restarted; WHAT=noop: files untouched too.
verify() {
    local what=$1 v=$2 log=$3 snap pids
    snap=$(snapshot)
    local want_mm=${MAXMEMORY_BYTES[$v]} want_mc=${MAXCONN[$v]} want_fm=${MAXMEMORY[$v]}
    local h rpid mpid mm mc fm fc
    while read -r h rpid mpid mm mc fm fc _; do
        [ "$mm" = "$want_mm" ] && [ "$mc" = "$want_mc" ] && [ "$fm" = "$want_fm" ] && [ "$fc" = "$want_mc" ] \
            || die "$h after $log: want maxmemory $want_mm/$want_fm and max_connections $want_mc live and in the files, got: $h $rpid $mpid $mm $mc $fm $fc"
    done <<<"$snap"
    pids=$(awk '{print $1, $2, $3}' <<<"$snap")
    [ "$pids" = "$BASE_PIDS" ] || die "an engine restarted during $log:"$'\n'"before: $BASE_PIDS"$'\n'"now:    $pids"
    if [ "$what" = noop ] && [ "$snap" != "$PREV_SNAP" ]; then
        die "a no-op run touched a file ($log):"$'\n'"before: $PREV_SNAP"$'\n'"after:  $snap"
    fi
    PREV_SNAP=$snap
}

# check_output TOOL WHAT LOG: the tool's own account of the run.
check_output() {
    local tool=$1 what=$2 log=$3
    case $tool in
        dbfleet|dbfleet-baseline)
            if [ "$what" = noop ]; then
                [ "$(grep -c '^No changes\.' "$log")" = 1 ] || die "dbfleet did not find both clusters unchanged: $log"
            else
                for c in bench-redis bench-maria; do
                    grep -qE "^$c: applied \(0 built, [1-9][0-9]* file\(s\) written, live: \[[^]]+, [^]]+, [^]]+\], restarted: \[\]\)" "$log" \
                        || die "dbfleet did not apply $c live on 3 nodes: $log"
                done
            fi ;;
        ansible|ansible-cold)
            local want=0 h line
            [ "$what" = noop ] || want=4
            for h in "${HOSTS[@]}"; do
                line=$(grep -E "^$h +: " "$log") || die "no recap line for $h: $log"
                grep -qE "ok=[0-9]+ +changed=$want +unreachable=0 +failed=0 " <<<"$line" \
                    || die "ansible recap for $h, want changed=$want: $line ($log)"
            done ;;
    esac
}

printf 'scenario\ttool\trun\tseconds\n' >"$OUT/raw.tsv"
CURRENT=0   # the value set live on the hosts
measure_one() { # SCENARIO TOOL RUN
    local scenario=$1 tool=$2 i=$3 v log
    if [ "$scenario" = noop ]; then v=$CURRENT; else v=$((1 - CURRENT)); fi
    log=$LOGS/$scenario.$tool.$i.log
    if [ "${tool%-baseline}" = dbfleet ]; then set_desired "$v"; else
        printf 'redis_maxmemory: "%s"\nmariadb_max_connections: %s\n' "${MAXMEMORY[$v]}" "${MAXCONN[$v]}" >"$OUT/vars.yml"
    fi
    run_tool "$tool" "$log" || die "$tool failed ($scenario run $i): see $log"$'\n'"$(tail -n 20 "$log")"
    check_output "$tool" "$scenario" "$log"
    verify "$scenario" "$v" "$log"
    CURRENT=$v
    printf '%s\t%s\t%s\t%s\n' "$scenario" "$tool" "$i" "$ELAPSED" >>"$OUT/raw.tsv"
    say "$scenario run $i: $tool ${ELAPSED}s"
}

TOOLS=(dbfleet ansible)
[ "$COLD" = 1 ] && TOOLS+=(ansible-cold)
[ -n "$BASELINE" ] && TOOLS+=(dbfleet-baseline)
# Order alternates run by run (dbfleet first, then last), so that dbfleet's
# own record always matches the hosts before its run: between two dbfleet
# runs the others flip the value an even number of times.
order() { # RUN
    if [ $(($1 % 2)) = 1 ]; then printf '%s\n' "${TOOLS[@]}"; else printf '%s\n' "${TOOLS[@]}" | tac; fi
}

# ---------------------------------------------------------------- build
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
say "resetting MariaDB and Redis on ${HOSTS[*]}"
TOUCHED=1
reset_hosts
say "dbfleet builds both clusters (not measured)"
set_desired 0
t0=$(date +%s)
run_tool dbfleet "$LOGS/build.log" || die "the first dbfleet apply failed: $LOGS/build.log"$'\n'"$(tail -n 30 "$LOGS/build.log")"
say "built in $(($(date +%s) - t0))s (dbfleet: ${ELAPSED}s)"
REDIS_PW=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$STATE/secrets/bench-redis.json")

# Replication up everywhere before measuring (no full sync in the background).
wait_replication() {
    local h i ok pw
    pw=$(printf '%q' "$REDIS_PW")
    for h in "${HOSTS[@]:1}"; do
        ok=
        for ((i = 0; i < 150; i++)); do
            if [ "$(hssh "$h" "REDISCLI_AUTH=$pw redis-cli -s /run/redis/redis-server.sock INFO replication | tr -d '\r' | grep -c '^master_link_status:up'; \
                      mariadb -N -B -e \"SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'\"" | paste -sd' ' -)" = "1 ON" ]; then
                ok=1; break
            fi
            sleep 0.2
        done
        [ -n "$ok" ] || die "$h: replication did not come up in 30s"
    done
}
wait_replication
BASE_PIDS=$(snapshot | awk '{print $1, $2, $3}')
PREV_SNAP=$(snapshot)
say "engines: $(tr '\n' ';' <<<"$BASE_PIDS")"

python3 "$ANSIBLE_DIR/inventory.py" "$OUT/inventory.json" --key "$LAB_KEY" --known-hosts "$LAB_KNOWN_HOSTS" \
    --secrets "$STATE/secrets/bench-redis.json" "${HOSTS[0]}=${IP[${HOSTS[0]}]}" \
    "${HOSTS[1]}=${IP[${HOSTS[1]}]}" "${HOSTS[2]}=${IP[${HOSTS[2]}]}"

# Equal work: Ansible must find dbfleet's files exactly as it would render them.
say "checking that Ansible renders dbfleet's files byte for byte (--check --diff)"
( cd "$ANSIBLE_DIR" && "${PLAYBOOK[@]}" -i "$OUT/inventory.json" playbook.yml -e "@$OUT/vars.yml" --check --diff ) \
    >"$LOGS/check-diff.log" 2>&1 9>&- || die "ansible-playbook --check failed: $LOGS/check-diff.log"
check_output ansible noop "$LOGS/check-diff.log" \
    || die "Ansible's templates differ from dbfleet's files"
# Warm-up, not measured: one no-op of each (page cache, Python bytecode).
for tool in "${TOOLS[@]}"; do
    run_tool "$tool" "$LOGS/warmup.$tool.log" || die "$tool warm-up failed: $LOGS/warmup.$tool.log"
    check_output "$tool" noop "$LOGS/warmup.$tool.log"
    verify noop 0 "$LOGS/warmup.$tool.log"
done

# ---------------------------------------------------------------- measure
for scenario in noop change; do
    say "measuring: $scenario, $RUNS runs of ${TOOLS[*]}"
    for ((i = 1; i <= RUNS; i++)); do
        mapfile -t run_order < <(order "$i")
        for tool in "${run_order[@]}"; do measure_one "$scenario" "$tool" "$i"; done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- profile
PROFILE_MD=
if [ "$PROFILE" = 1 ]; then
    say "profiling: one traced run of each scenario per tool, and each tool's local floor (not measured)"
    iso() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
    # A traced dbfleet run, between "### start/end" markers.
    prof_dbfleet() { # LOG
        local log=$1 t0 t1 rc=0
        : >"$log"
        t0=$(date +%s%N)
        echo "### start $(iso) both-clusters" >>"$log"
        DBFLEET_LOG=dbfleet=trace "$BIN" --state-dir "$STATE" apply --yes "$REPO" >>"$log" 2>&1 9>&- || rc=$?
        echo "### end $(iso)" >>"$log"
        t1=$(date +%s%N)
        ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        return "$rc"
    }
    prof() { # SCENARIO TOOL
        local scenario=$1 tool=$2 v log
        if [ "$scenario" = noop ]; then v=$CURRENT; else v=$((1 - CURRENT)); fi
        log=$LOGS/profile.$scenario.$tool.log
        if [ "$tool" = dbfleet ]; then
            set_desired "$v"
            prof_dbfleet "$log" || die "traced dbfleet run failed: $log"
        else
            printf 'redis_maxmemory: "%s"\nmariadb_max_connections: %s\n' "${MAXMEMORY[$v]}" "${MAXCONN[$v]}" >"$OUT/vars.yml"
            ANSIBLE_VERBOSITY=3 run_tool ansible "$log" || die "traced ansible run failed: $log"
        fi
        verify "$scenario" "$v" "$log"
        CURRENT=$v
        printf '%s\t%s\t%s\t%s\n' "$scenario" "$tool" "$ELAPSED" "$log"
    }
    # Each tool's floor: everything but the hosts (median of 5).
    floor() { # NAME CMD...
        local name=$1 i t0 t1 times=()
        shift
        for ((i = 0; i < 5; i++)); do
            t0=$(date +%s%N)
            "$@" >"$LOGS/floor.$name.log" 2>&1 || die "$name failed: $LOGS/floor.$name.log"
            t1=$(date +%s%N)
            times+=("$(((t1 - t0) / 1000000))")
        done
        printf 'floor\t%s\t%s\t%s\n' "$name" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)" "$LOGS/floor.$name.log"
    }
    offline_plans() {
        "$BIN" --state-dir "$STATE" plan "$REPO" --offline
    }
    list_tasks() {
        ( cd "$ANSIBLE_DIR" && "${PLAYBOOK[@]}" -i "$OUT/inventory.json" playbook.yml -e "@$OUT/vars.yml" --list-tasks )
    }
    {
        prof noop dbfleet; prof noop ansible; prof change dbfleet; prof change ansible
        floor dbfleet offline_plans
        floor ansible list_tasks
    } >"$OUT/profile.tsv"
    PROFILE_MD=$(python3 - "$OUT/profile.tsv" "${IP[h1]}" "${IP[h2]}" "${IP[h3]}" <<'PY'
import re, shlex, sys
from collections import Counter
from datetime import datetime

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
ips = sys.argv[2:]
TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z\s+(\w+)\s+(\S+?):\s+(.*)$")
MARK = re.compile(r"^### (start|end) (\S+)Z(?: (\S+))?$")


def epoch(iso):
    return datetime.fromisoformat(iso[:26] + "+00:00").timestamp()


def program(line):
    """The program a dbfleet exec line runs, past its wrappers: `exec
    timeout -k 5s 30s runuser -u U -- env K=V prog args`, `sh -c 'prog ..'`."""
    try:
        w = shlex.split(line)
    except ValueError:
        w = line.split()
    if "&&" in w:
        w = w[w.index("&&") + 1:]
    while w:
        if w[0] in ("exec", "env", "--"):
            w = w[1:]
        elif w[0] == "timeout":
            w = w[4:] if len(w) > 3 and w[1] == "-k" else w[2:]
        elif w[0] == "runuser":
            w = w[w.index("--") + 1:] if "--" in w else w[3:]
        elif "=" in w[0] and not w[0].startswith("-"):
            w = w[1:]
        elif w[0] in ("sh", "bash", "/bin/sh") and len(w) > 2 and w[1] == "-c":
            # sh -c SCRIPT NAME ARGS: dbfleet's file reads and writes, its
            # client wrappers (password on stdin), or the script's first word
            script, args = w[2], w[4:]
            if 'exec cat -- "$1"' in script:
                return "read a file"
            if 'cat >"$tmp"' in script:
                return "write a file"
            clients = [x for x in args if x.endswith("-cli")]
            if clients:
                return clients[0]
            words = [x for x in script.split() if "=" not in x]
            return (words[0] if words else "sh")[:40]
        else:
            break
    return (w[0] if w else "?")[:40]


def processes(path):
    """dbfleet processes in a traced log: name, start, end, records."""
    procs, cur, last = [], None, None
    for line in open(path, errors="replace").read().splitlines():
        m = MARK.match(line)
        if m:
            if m.group(1) == "start":
                cur = {"name": m.group(3), "start": epoch(m.group(2)), "recs": []}
                procs.append(cur)
            elif cur:
                cur["end"] = epoch(m.group(2))
            last = None
            continue
        m = TS.match(line)
        if m and cur is not None:
            last = [epoch(m.group(1)), m.group(2), m.group(3), m.group(4)]
            cur["recs"].append(last)
        elif last is not None and last[3].startswith("exec "):
            last[3] += "\n" + line
    return procs


out = []
out.append("| traced run | process | wall s | before connecting s | connecting s | observe + plan s (remote commands) | apply s (remote commands) | exit s |")
out.append("|---|---|---:|---:|---:|---|---|---:|")
notes = []
for scenario, tool, wall, log in rows:
    if tool != "dbfleet" or scenario == "floor":
        continue
    programs = Counter()
    for p in processes(log):
        recs = p["recs"]
        connects = [(t, m) for t, lvl, tgt, m in recs if m.startswith("ssh connected")]
        def secs(m):
            e = re.search(r"elapsed=([\d.]+)(ms|µs|s)\b", m)
            return float(e.group(1)) / {"ms": 1e3, "µs": 1e6, "s": 1}[e.group(2)] if e else 0.0
        begin = min((t - secs(m) for t, m in connects), default=p["start"])
        connected = max((t for t, m in connects), default=begin)
        execs = [(t, m) for t, lvl, tgt, m in recs if m.startswith("exec ")]
        for t, m in execs:
            programs[program(m.split("line=", 1)[-1])] += 1
        steps = [t for t, lvl, tgt, m in recs if m.startswith("step started")]
        dones = [t for t, lvl, tgt, m in recs if m.startswith("step done")]
        first_step = min(steps) if steps else None
        last_rec = max(t for t, *_ in recs) if recs else p["start"]
        observe_end = first_step if first_step else last_rec
        n_obs = sum(1 for t, m in execs if first_step is None or t < first_step)
        n_app = len(execs) - n_obs
        per_host = Counter(re.search(r"host=(\S+)", m).group(1) for t, m in execs if first_step is None or t < first_step)
        obs_hosts = "/".join(str(per_host.get(ip, 0)) for ip in ips)
        apply_txt = f"{(max(dones) if dones else last_rec) - first_step:.2f} ({n_app})" if first_step else "-"
        out.append(
            f"| {scenario} | {p['name']} | {p['end'] - p['start']:.2f} | {begin - p['start']:.2f} | {connected - begin:.2f} "
            f"| {observe_end - connected:.2f} ({n_obs}: {obs_hosts} per host) | {apply_txt} | {p['end'] - last_rec:.2f} |"
        )
    notes.append(f"- dbfleet {scenario}, remote commands by program: " + ", ".join(f"{k} x{n}" for k, n in programs.most_common()))

for scenario, tool, wall, log in rows:
    if tool == "ansible" and scenario != "floor":
        text = open(log, errors="replace").read().splitlines()
        ssh = Counter(); sftp = 0
        for l in text:
            m = re.match(r"<(\S+)> SSH: EXEC (ssh|sftp|scp) ", l)
            if m and m.group(2) == "ssh":
                ssh[m.group(1)] += 1
            elif m:
                sftp += 1
        notes.append(f"- Ansible {scenario} (traced, {float(wall):.2f} s): {sum(ssh.values())} ssh invocations "
                     f"({'/'.join(str(ssh.get(ip, 0)) for ip in ips)} per host, over ControlPersist masters), {sftp} sftp")
for scenario, name, ms, log in rows:
    if scenario == "floor":
        what = {"dbfleet": "`dbfleet plan --offline` of the repository (load, render, no host)",
                "ansible": "`ansible-playbook --list-tasks` (start-up, inventory, playbook; no host)"}[name]
        notes.append(f"- floor, {what}: {int(ms) / 1000:.2f} s (median of 5)")
print("\n".join(out))
print()
print("\n".join(notes))
PY
)
fi

# ---------------------------------------------------------------- cleanup
if [ "$KEEP" = 1 ]; then
    say "--keep: leaving both clusters running on ${HOSTS[*]}"
else
    say "resetting MariaDB and Redis on ${HOSTS[*]} and restoring Debian's my.cnf and redis.conf"
    reset_hosts
    restore_defaults
fi
TOUCHED=0

# ---------------------------------------------------------------- report
report() {
    echo "## dbfleet apply vs Ansible, 3 lab hosts"
    echo
    echo "- date: $DATE"
    echo "- command: \`$CMDLINE\`"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); load average (1/5/15 min) before $LOAD_BEFORE, after $LOAD_AFTER"
    [ -z "$BASELINE" ] || echo "- dbfleet (baseline): release build \`$BASELINE\` of $(date -u -r "$BASELINE" '+%Y-%m-%d %H:%M UTC'), on the same repository and state"
    echo "- dbfleet: $DBFLEET_VERSION, release build \`$BIN\` of $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC'); checkout HEAD $HEAD$([ "$DIRTY" = 0 ] || echo " with $DIRTY uncommitted change(s) in src/templates")"
    echo "- Ansible: $ANSIBLE_VERSION (pip \`ansible-core\`, Python $ANSIBLE_PYTHON, Jinja2 $ANSIBLE_JINJA); $SSH_VERSION"
    echo "- engines on the hosts: Redis $REDIS_VERSION, MariaDB $MARIADB_VERSION; hosts h1..h3 (${IP[h1]}..${IP[h3]}), h1 primary of both clusters"
    echo "- dbfleet command: \`$DBFLEET_CMD\`"
    echo "- Ansible command: \`$ANSIBLE_CMD\` (run in bench/ansible, ANSIBLE_CONFIG=bench/ansible/ansible.cfg); \"cold SSH\" closes its ControlPersist masters first"
    echo "- $RUNS runs per figure, wall time of the whole command; tools interleaved, order alternating run by run"
    echo "- work per host and run: both tools compare (and on a change write) redis.conf and my.cnf and apply maxmemory / max_connections live; dbfleet also observes each engine (running, role, replication) and checks its firewall per cluster (nftables file and chain; \`allowed_ips\` unset, so open), validates my.cnf with \`mariadbd --help --verbose\` before \`SET GLOBAL\`, and rolls node by node (replicas first); Ansible works on the three hosts at once and does none of that"
    echo
    python3 - "$OUT/raw.tsv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault((r["scenario"], r["tool"]), []).append(float(r["seconds"]))
names = {"dbfleet": "dbfleet", "ansible": "Ansible", "ansible-cold": "Ansible, cold SSH",
         "dbfleet-baseline": "dbfleet (baseline)"}
titles = {"noop": "no-op (converged)", "change": "one parameter per engine changed, live"}
print("| scenario | tool | median s | min s | max s | Ansible / dbfleet (medians) |")
print("|---|---|---:|---:|---:|---:|")
for sc in ("noop", "change"):
    d = statistics.median(by[(sc, "dbfleet")])
    for tool in ("dbfleet", "dbfleet-baseline", "ansible", "ansible-cold"):
        v = by.get((sc, tool))
        if not v:
            continue
        med = statistics.median(v)
        ratio = "" if tool == "dbfleet" else f"**{med / d:.2f}x**" if tool == "dbfleet-baseline" else f"**{med / d:.1f}x**"
        print(f"| {titles[sc]} | {names[tool]} | {med:.2f} | {min(v):.2f} | {max(v):.2f} | {ratio} |")
print()
for sc in ("noop", "change"):
    for tool in ("dbfleet", "dbfleet-baseline", "ansible", "ansible-cold"):
        v = by.get((sc, tool))
        if v:
            print(f"- {sc}, {names[tool]}, each run (s): {', '.join(f'{x:.2f}' for x in v)}")
print()
targets = {"noop": 10, "change": 5}
for sc, want in targets.items():
    ratio = statistics.median(by[(sc, "ansible")]) / statistics.median(by[(sc, "dbfleet")])
    print(f"- target {sc}: dbfleet >= {want}x faster than Ansible: {ratio:.1f}x, **{'met' if ratio >= want else 'missed'}**")
for sc in targets:
    base = by.get((sc, "dbfleet-baseline"))
    if base:
        change = statistics.median(by[(sc, "dbfleet")]) / statistics.median(base) - 1
        print(f"- {sc}: dbfleet against the baseline binary: {change * 100:+.1f}% (median), **{'within' if abs(change) <= 0.10 else 'outside'} 10%**")
PY
    if [ -n "$PROFILE_MD" ]; then
        echo
        echo "### Traced runs (one each, not measured)"
        echo
        echo "$PROFILE_MD"
    fi
}
report | tee "$OUT/report.md"
say "report: $OUT/report.md, logs: $LOGS"

#!/usr/bin/env bash
# A planned switchover under load: a `promote` request run by `dbfleet apply`
# while a client writes at a fixed rate, per engine.
#
#   bench/switchover.sh [--engines mariadb,postgresql,redis,valkey] [--rate N]
#                       [--bin PATH] [--lock-wait SECONDS] [--out DIR]
#
# Run from the repository root, as root, with the lab up (lab/lab.sh up).
# --bin is the dbfleet binary (default target/release/dbfleet, or
# $CARGO_TARGET_DIR/release/dbfleet); nothing is built. --rate is the
# writer's rate in writes/s (default 250).
#
# THE BENCHMARK OWNS THE LAB WHILE IT RUNS: it takes the lab's end-to-end
# lock ($LAB_DIR/lock, so `cargo test` e2e runs wait for it and it waits for
# them) for the whole run. Per engine, on h1..h3 (h1 primary, h2 and h3
# replicas; cluster bench-sw-<engine>; Redis on port 6397, Valkey on 6398,
# MariaDB 3306 and PostgreSQL 5432 as everywhere else):
#   1. the engine is stopped and its data, configuration and log emptied
#      (the end-to-end tests' reset scripts) and the cluster's nftables
#      chain dropped; dbfleet builds the cluster (`apply --yes`), not timed;
#   2. bench/switchover_writer.py starts in the root network namespace,
#      straight to the lab IPs (allowed_ips = 10.231.0.0/24 covers the
#      bridge's 10.231.0.1): one write per tick (INSERT of id 1, 2, 3... or
#      SET w:<id>), following whichever node accepts writes;
#   3. after 3 s a promote request for node 3 is committed and
#      `dbfleet apply --yes` runs it (timed); the writer goes on 3 s more and
#      is stopped;
#   4. a marker written on the node that accepts writes is awaited on every
#      node (replication is in order), then every id is read from all three
#      nodes and each acknowledged id looked for;
#   5. the engine is reset again (as in 1; Debian's my.cnf link, redis.conf
#      and valkey.conf are put back).
# MariaDB's writer is an application account (`app`, INSERT and SELECT on
# `bench`): an account with SUPER writes through read_only on MariaDB 10.x.
# PostgreSQL's is `dbfleet`, Redis/Valkey AUTH; both with the cluster's
# admin password from <state>/secrets/<cluster>.json.
#
# Reported per engine (a table, then one JSON line each; also in
# $OUT/report.md and $OUT/results.jsonl): writes attempted, acknowledged,
# acknowledged but missing on each node, the longest gap between two
# consecutive acknowledged writes, the apply's wall time, the achieved rate.
# Targets (printed, not enforced but for missing): gap <= 1 s for
# Redis/Valkey, <= 3 s for MariaDB/PostgreSQL, missing 0. Exit 1 when an
# acknowledged write is missing anywhere, or an engine's run failed.
# The Python drivers (pymysql, pg8000, redis) come from PyPI into a venv,
# $OUT/../switchover-venv; logs and raw data go to $OUT (bench/out/switchover).
set -euo pipefail

ENGINES=mariadb,postgresql,redis,valkey
RATE=250
BIN=
LOCK_WAIT=1800
OUT=bench/out/switchover
HOSTS=(h1 h2 h3)
LEAD=3    # s of writes before the request is committed
TRAIL=3   # s of writes after the apply
CMDLINE=$(printf '%q ' "$0" "$@"); CMDLINE=${CMDLINE% }
while [ $# -gt 0 ]; do
    case "$1" in
        --engines) ENGINES=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --lock-wait) LOCK_WAIT=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done

say() { printf '[switchover %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ -f Cargo.toml ] && [ -f bench/switchover_writer.py ] || die "run from the repository root"
[ "$(id -u)" = 0 ] || die "run as root (the lab needs it)"
[[ $RATE =~ ^[0-9]+$ ]] && [ "$RATE" -ge 1 ] || die "--rate must be a whole number of writes per second"
IFS=, read -r -a ENGINE_LIST <<<"$ENGINES"
[ ${#ENGINE_LIST[@]} -gt 0 ] || die "--engines is empty"
for e in "${ENGINE_LIST[@]}"; do
    case $e in mariadb|postgresql|redis|valkey) ;; *) die "unknown engine $e (mariadb, postgresql, redis, valkey)" ;; esac
done
for tool in python3 git ssh flock; do command -v "$tool" >/dev/null || die "$tool is needed"; done

ROOT=$PWD
[ -n "$BIN" ] || BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/dbfleet
[ -x "$BIN" ] || die "no dbfleet binary at $BIN (--bin PATH)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VENV=$(dirname "$OUT")/switchover-venv
WRITER=$ROOT/bench/switchover_writer.py

# ---------------------------------------------------------------- the lab
LAB_ENV=$(lab/lab.sh env) || die "lab/lab.sh env failed"
eval "$(grep -E '^LAB_[A-Za-z0-9_]+=' <<<"$LAB_ENV")"
: "${LAB_DIR:?}" "${LAB_KEY:?}" "${LAB_KNOWN_HOSTS:?}"
declare -A IP
for h in "${HOSTS[@]}"; do
    var=LAB_IP_$h
    IP[$h]=${!var:?no IP for $h in lab.sh env}
done
HOST_IPS=$(IFS=,; echo "${IP[h1]},${IP[h2]},${IP[h3]}")

# One user of the lab at a time: the lab's lock, as bench/apply-vs-ansible.sh
# and the end-to-end tests (tests/common/lab.rs) take it. No child keeps
# the descriptor (9>&-), so the lock ends with this script.
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
BRIDGE_ADDR=$(ip -4 -o addr show dev dblab0 | awk '{print $4}' | head -n1)
python3 - "$BRIDGE_ADDR" <<'PY' || die "the root namespace's address on dblab0 ($BRIDGE_ADDR) is outside 10.231.0.0/24: the clusters' allowed_ips would shut the writer out"
import ipaddress, sys
sys.exit(0 if ipaddress.ip_interface(sys.argv[1]).ip in ipaddress.ip_network("10.231.0.0/24") else 1)
PY

# System ssh for resets and checks (never timed), its own masters; a short
# directory, since a socket's path has at most 107 bytes.
CHECK_CP=$(mktemp -d /tmp/switchover-ssh.XXXXXX)
hssh() { # HOST CMD...
    local h=$1; shift
    ssh -i "$LAB_KEY" -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR \
        -o ControlMaster=auto -o ControlPersist=600 -o ControlPath="$CHECK_CP/%C" \
        "root@${IP[$h]}" "$@" 9>&-
}
close_masters() {
    local s
    for s in "$CHECK_CP"/*; do
        [ -S "$s" ] || continue
        ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true
    done
    rmdir "$CHECK_CP" 2>/dev/null || true
}

# ---------------------------------------------------------------- engines
cluster_of() { echo "bench-sw-$1"; }
port_of() {
    case $1 in mariadb) echo 3306 ;; postgresql) echo 5432 ;; redis) echo 6397 ;; valkey) echo 6398 ;; esac
}
version_of() {
    case $1 in mariadb) echo 10.11 ;; postgresql) echo 15 ;; redis) echo 7.0 ;; valkey) echo 9.1 ;; esac
}

# The end-to-end tests' resets (tests/common/engines.rs: MARIADB_RESET,
# postgresql_reset_script, redis_reset_script, drop_firewall_script): this
# engine only, its data, configuration and log; then the cluster's firewall.
reset_script() { # ENGINE
    local e=$1 c dir
    c=$(cluster_of "$e")
    case $e in
        mariadb) cat <<'EOF'
mariadb-admin shutdown >/dev/null 2>&1
i=0
while { pgrep -x mariadbd || pgrep -x mysqld_safe; } >/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done
pkill -KILL -x mysqld_safe; pkill -KILL -x mariadbd
find /var/lib/mysql -mindepth 1 -delete
rm -f /etc/mysql/my.cnf /etc/mysql/my.cnf.dbfleet-prev /var/log/mysql/error.log
if [ -e /etc/alternatives/my.cnf ]; then ln -s /etc/alternatives/my.cnf /etc/mysql/my.cnf; fi
EOF
        ;;
        postgresql) cat <<'EOF'
cd /tmp; pid=$(head -n 1 /var/lib/postgresql/15/main/postmaster.pid 2>/dev/null)
if [ -n "$pid" ] && [ "$(readlink /proc/$pid/cwd)" = /var/lib/postgresql/15/main ]; then
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/postgresql/15/main stop -m immediate -w >/dev/null; fi
rm -rf /var/lib/postgresql/15 /etc/postgresql/15 /var/lib/postgresql/.pgpass* /var/log/postgresql/postgresql-15-main.log
EOF
        ;;
        redis|valkey)
            dir=$e
            cat <<EOF
pid=\$(cat /run/$dir/$dir-server.pid 2>/dev/null) && kill "\$pid" 2>/dev/null
i=0; while [ -n "\$pid" ] && kill -0 "\$pid" 2>/dev/null && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
find /var/lib/$dir -mindepth 1 -delete
rm -f /etc/$dir/$dir.conf /etc/$dir/$dir.conf.dbfleet-prev /etc/$dir/dbfleet-secrets.conf /etc/$dir/dbfleet-secrets.conf.dbfleet-prev /var/log/$dir/$dir-server.log
EOF
            ;;
    esac
    cat <<EOF
rm -f /etc/nftables.d/dbfleet-$c.nft /etc/nftables.d/dbfleet-$c.nft.dbfleet-prev
nft delete chain inet dbfleet cluster-$c 2>/dev/null
n=\$(ss -Hltn 'sport = :$(port_of "$e")' | wc -l)
[ "\$n" = 0 ] || { echo "something still listens on :$(port_of "$e")"; ss -Hltnp 'sport = :$(port_of "$e")'; exit 1; }
true
EOF
}
reset_engine() { # ENGINE
    local e=$1 h conf
    for h in "${HOSTS[@]}"; do
        hssh "$h" "$(reset_script "$e")" >&2 || die "$h: resetting $e failed"
    done
}
# After the run: Debian's redis.conf / valkey.conf back (the packages'
# defaults, as the lab's reset leaves them; a host's /etc/redis is private).
restore_conf() { # ENGINE
    local e=$1 h conf
    case $e in redis|valkey) conf=/etc/$e/$e.conf ;; *) return 0 ;; esac
    [ -f "$conf" ] || return 0
    for h in "${HOSTS[@]}"; do
        hssh "$h" "install -o $e -g $e -m 0640 /dev/stdin $conf" <"$conf" || say "WARNING: $h: could not put $conf back"
    done
}

# The engine's client on a host, as root over the local socket (stdin).
client() { # ENGINE PASSWORD
    case $1 in
        mariadb) echo "mariadb --batch --skip-column-names" ;;
        postgresql) echo "(cd /tmp && exec runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres)" ;;
        redis|valkey) echo "REDISCLI_AUTH=$(printf '%q' "$2") redis-cli -s /run/$1/$1-server.sock" ;;
    esac
}
# Waits up to 60 s until HOST replicates from SOURCE-IP (the engine's account).
wait_replica_of() { # ENGINE PASSWORD HOST SOURCE-IP
    local e=$1 pw=$2 h=$3 src=$4 cmd want got i
    case $e in
        mariadb)
            cmd="mariadb --vertical -e 'SHOW SLAVE STATUS' | awk '/ Master_Host:| Slave_IO_Running:| Slave_SQL_Running:/ {print \$2}' | paste -sd' ' -"
            want="$src Yes Yes" ;;
        postgresql)
            cmd="echo \"SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver\" | $(client "$e")"
            want="streaming $src" ;;
        redis|valkey)
            cmd="$(client "$e" "$pw") INFO replication | tr -d '\r' | grep -E '^(role|master_host|master_link_status):' | paste -sd' ' -"
            want="role:slave master_host:$src master_link_status:up" ;;
    esac
    for ((i = 0; i < 300; i++)); do
        got=$(hssh "$h" "$cmd" 2>/dev/null || true)
        [ "$got" = "$want" ] && return 0
        sleep 0.2
    done
    say "$h does not replicate from $src after 60s: $got"
    return 1
}
# What the writer writes into, on the primary (h1).
prepare_writes() { # ENGINE PASSWORD APP-PASSWORD
    case $1 in
        mariadb) hssh h1 "$(client mariadb)" <<EOF
CREATE DATABASE bench;
CREATE TABLE bench.w (id BIGINT PRIMARY KEY);
CREATE USER app@'%' IDENTIFIED BY '$3';
GRANT SELECT, INSERT ON bench.* TO app@'%';
EOF
        ;;
        postgresql) hssh h1 "$(client postgresql)" <<<"CREATE TABLE w (id bigint PRIMARY KEY);" ;;
        redis|valkey) : ;;
    esac
}

git_in() { git -C "$1" -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false "${@:2}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

CURRENT=   # the engine whose hosts are touched: reset on an early exit
WRITER_PID=
on_exit() {
    local rc=$?
    trap - EXIT
    [ -z "$WRITER_PID" ] || kill "$WRITER_PID" 2>/dev/null || true
    if [ -n "$CURRENT" ]; then
        say "stopped early (exit $rc): resetting $CURRENT on ${HOSTS[*]}"
        for h in "${HOSTS[@]}"; do hssh "$h" "$(reset_script "$CURRENT")" >&2 || true; done
        restore_conf "$CURRENT"
    fi
    close_masters
    exit "$rc"
}
trap on_exit EXIT

# ---------------------------------------------------------------- the writer's drivers
if ! "$VENV/bin/python" -c 'import pymysql, pg8000, redis' 2>/dev/null; then
    say "installing pymysql, pg8000 and redis from PyPI into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pymysql pg8000 redis >&2
fi
DRIVERS=$("$VENV/bin/python" -c 'import pymysql, pg8000, redis, importlib.metadata as m, platform
print(f"Python {platform.python_version()}, " + ", ".join(f"{p} {m.version(p)}" for p in ("pymysql", "pg8000", "redis")))')

# ---------------------------------------------------------------- one engine
# run_engine ENGINE: appends one JSON line to $OUT/results.jsonl.
run_engine() {
    local e=$1 c port dir repo state log pw app_pw t0 t1 apply_rc=0 outcome req
    c=$(cluster_of "$e"); port=$(port_of "$e")
    dir=$OUT/$e; repo=$dir/repo; state=$dir/state; log=$dir/logs
    rm -rf "$dir"; mkdir -p "$repo/clusters" "$log"

    say "$e: resetting it on ${HOSTS[*]}"
    CURRENT=$e
    reset_engine "$e"

    git_in "$repo" init -q -b main
    cat >"$repo/fleet.toml" <<EOF
[ssh]
user = "root"
identity = "$LAB_KEY"
known_hosts = "$LAB_KNOWN_HOSTS"
connect_timeout = "5s"

[hosts]
service_manager = "direct"
EOF
    {
        printf 'name = "%s"\nengine = "%s"\nversion = "%s"\ntopology = "primary-replica"\n' "$c" "$e" "$(version_of "$e")"
        case $e in redis|valkey) printf 'port = %s\n' "$port" ;; esac
        printf 'allowed_ips = ["10.231.0.0/24"]\n'
        for h in "${HOSTS[@]}"; do printf '\n[[nodes]]\nhost = "%s"\n' "${IP[$h]}"; done
    } >"$repo/clusters/$c.toml"
    git_in "$repo" add fleet.toml clusters
    git_in "$repo" commit -q -m "$c: primary-replica on ${HOSTS[*]}"

    say "$e: dbfleet builds $c (not timed)"
    NO_COLOR=1 "$BIN" --state-dir "$state" apply --yes "$repo" >"$log/build.log" 2>&1 9>&- \
        || die "$e: the first apply failed: $log/build.log"$'\n'"$(tail -n 30 "$log/build.log")"
    pw=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$state/secrets/$c.json")
    for h in h2 h3; do wait_replica_of "$e" "$pw" "$h" "${IP[h1]}" || die "$e: $h does not follow h1"; done
    app_pw=$pw
    if [ "$e" = mariadb ]; then
        app_pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    fi
    prepare_writes "$e" "$pw" "$app_pw" || die "$e: preparing the writes failed"

    say "$e: writer at $RATE writes/s; promote request for ${c}3 in ${LEAD}s"
    SWITCHOVER_PASSWORD=$app_pw "$VENV/bin/python" "$WRITER" write --engine "$e" --hosts "$HOST_IPS" \
        --port "$port" --rate "$RATE" --out "$dir/writer.json" >"$log/writer.log" 2>&1 9>&- &
    WRITER_PID=$!
    sleep "$LEAD"
    kill -0 "$WRITER_PID" 2>/dev/null || die "$e: the writer died: $(cat "$log/writer.log")"
    req=$(date -u +%Y-%m-%d)-promote-${c}3
    mkdir -p "$repo/requests"
    printf 'action = "promote"\ncluster = "%s"\nnode = "%s3"\n' "$c" "$c" >"$repo/requests/$req.toml"
    git_in "$repo" add requests
    git_in "$repo" commit -q -m "promote ${c}3"
    t0=$(date +%s%N)
    NO_COLOR=1 "$BIN" --state-dir "$state" apply --yes "$repo" >"$log/apply.log" 2>&1 9>&- || apply_rc=$?
    t1=$(date +%s%N)
    say "$e: apply exited $apply_rc after $(secs "$t0" "$t1")s"
    sleep "$TRAIL"
    kill -TERM "$WRITER_PID"
    wait "$WRITER_PID" || die "$e: the writer failed: $(cat "$log/writer.log")"
    WRITER_PID=
    outcome=$(grep -o "request $req (promote): [a-z]*" "$log/apply.log" | awk '{print $NF}' | tail -n1 || true)

    say "$e: waiting for every node to hold everything, reading every id"
    SWITCHOVER_PASSWORD=$app_pw "$VENV/bin/python" "$WRITER" settle --engine "$e" --hosts "$HOST_IPS" \
        --port "$port" --acks "$dir/writer.json" >"$dir/settle.json" 2>"$log/settle.log" 9>&- \
        || die "$e: reading the nodes failed: $(cat "$log/settle.log")"
    local follow=yes plan_rc=0
    for h in h1 h2; do wait_replica_of "$e" "$pw" "$h" "${IP[h3]}" || follow=no; done
    # Converged afterwards: nothing left to do (0), as tests/e2e_promote.rs checks.
    NO_COLOR=1 "$BIN" --state-dir "$state" plan --detailed-exitcode "$repo" >"$log/plan-after.log" 2>&1 9>&- || plan_rc=$?

    python3 - "$e" "$dir/writer.json" "$dir/settle.json" "$t0" "$t1" "$apply_rc" "${outcome:-none}" "$follow" \
        "$plan_rc" "${IP[h1]}" "${IP[h2]}" "${IP[h3]}" >>"$OUT/results.jsonl" <<'PY'
import json, sys
e, wpath, spath, t0, t1, rc, outcome, follow, plan_rc = sys.argv[1:10]
ips = sys.argv[10:13]
w = json.load(open(wpath)); s = json.load(open(spath))
acked = w["acked"]
start = w["start_epoch"]
apply_from = int(t0) / 1e9 - start  # s since the writer started
apply_to = int(t1) / 1e9 - start
gap, gap_at = 0.0, None
for a, b in zip(acked, acked[1:]):
    if b[1] - a[1] > gap:
        gap, gap_at = b[1] - a[1], a[1]
names = {ip: f"h{i + 1}" for i, ip in enumerate(ips)}
lat = sorted(a[3] for a in acked)
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None
first_new = next((a[1] for a in acked if a[2] == ips[2]), None)
print(json.dumps({
    "engine": e,
    "attempted": w["attempted"],
    "acknowledged": len(acked),
    "missing": {names[ip]: s["nodes"][ip]["missing"] for ip in ips},
    "missing_ids": {names[ip]: s["nodes"][ip]["missing_ids"] for ip in ips if s["nodes"][ip]["missing"]},
    "max_gap_ms": round(gap * 1000, 1),
    "max_gap_from_apply_start_s": round(gap_at - apply_from, 3) if gap_at is not None else None,
    "apply_s": round(apply_to - apply_from, 3),
    "apply_exit": int(rc),
    "request": outcome,
    "writable_after": names.get(s["writable"], s["writable"]),
    "h1_h2_follow_h3": follow == "yes",
    "plan_after_exit": int(plan_rc),
    "h1_acks_after_first_h3_ack": sum(1 for a in acked if a[2] == ips[0] and first_new is not None and a[1] > first_new),
    "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": lat[-1] if lat else None},
    "writer_s": w["duration"],
    "rate_attempted": round(w["attempted"] / w["duration"], 1),
    "rate_acknowledged": round(len(acked) / w["duration"], 1),
    "skipped_ticks": w["skipped_ticks"],
    "unacknowledged": w["attempted"] - len(acked),
    "acked_by_node": {names[ip]: sum(1 for a in acked if a[2] == ip) for ip in ips},
    "errors": [{"from_apply_start_s": round(x[0] - apply_from, 3), "to_s": round(x[1] - apply_from, 3),
                "node": names.get(x[2], x[2]), "error": x[3], "count": x[4]} for x in w["errors"]][:20],
}))
PY
    say "$e: $(tail -n1 "$OUT/results.jsonl" | cut -c1-300)"

    say "$e: resetting it on ${HOSTS[*]}"
    reset_engine "$e"
    restore_conf "$e"
    CURRENT=
}

# ---------------------------------------------------------------- run
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
HEAD=$(git rev-parse --short HEAD)
DIRTY=$(git status --porcelain -- src templates Cargo.toml Cargo.lock | wc -l)
DBFLEET_VERSION=$("$BIN" --version)
: >"$OUT/results.jsonl"
for e in "${ENGINE_LIST[@]}"; do
    run_engine "$e"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ENGINE_VERSIONS=$(hssh h1 'echo "MariaDB $(mariadbd --version | sed -n "s/.*Ver \([^ ]*\).*/\1/p"), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk "{print \$3}"), Redis $(redis-server --version | sed -n "s/.*v=\([^ ]*\).*/\1/p"), Valkey $(valkey-server --version | sed -n "s/.*v=\([^ ]*\).*/\1/p")"')

# ---------------------------------------------------------------- report
report() {
    echo "### Switchover under load, $DATE"
    echo
    echo "- command: \`$CMDLINE\`"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); load average (1/5/15 min) before $LOAD_BEFORE, after $LOAD_AFTER"
    echo "- dbfleet: $DBFLEET_VERSION, release build \`$BIN\` of $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC'); checkout HEAD $HEAD$([ "$DIRTY" = 0 ] || echo " with $DIRTY uncommitted change(s) in src/templates")"
    echo "- engines: $ENGINE_VERSIONS; writer: $DRIVERS, from the root namespace ($BRIDGE_ADDR) to ${IP[h1]}..${IP[h3]}"
    echo "- writer: $RATE writes/s, ${LEAD}s before the request is committed, ${TRAIL}s after the apply"
    echo
    python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
target = {"redis": 1000, "valkey": 1000, "mariadb": 3000, "postgresql": 3000}
print("| engine | attempted | acknowledged | missing h1/h2/h3 | longest gap ms (target) | apply s | request | rate /s (acknowledged /s) | write latency p50/p99 ms |")
print("|---|---:|---:|---|---:|---:|---|---:|---:|")
for r in rows:
    m = r["missing"]
    t = target[r["engine"]]
    verdict = "met" if r["max_gap_ms"] <= t else "**missed**"
    miss = "/".join(str(m[h]) for h in ("h1", "h2", "h3"))
    if any(m.values()):
        miss = f"**{miss}**"
    print(f"| {r['engine']} | {r['attempted']} | {r['acknowledged']} | {miss} | {r['max_gap_ms']:.0f} (<= {t}: {verdict}) "
          f"| {r['apply_s']:.2f} | {r['request']}, then {r['writable_after']} writable | {r['rate_attempted']:.1f} ({r['rate_acknowledged']:.1f}) "
          f"| {r['latency_ms']['p50']:.1f} / {r['latency_ms']['p99']:.1f} |")
print()
print("Targets: longest gap between two acknowledged writes <= 1 s for Redis/Valkey, <= 3 s for MariaDB/PostgreSQL; "
      "acknowledged but missing: 0 on every node.")
print()
for r in rows:  # what the writer saw go wrong, relative to the apply's start
    print(f"- {r['engine']}: ticks skipped (a write still running when its whole period passed) {r['skipped_ticks']}; "
          f"afterwards h1 and h2 follow h3: {'yes' if r['h1_h2_follow_h3'] else '**no**'}, `plan --detailed-exitcode` exits {r['plan_after_exit']}; "
          f"writes acknowledged by h1 after h3's first: {r['h1_acks_after_first_h3_ack']}; longest gap began {r['max_gap_from_apply_start_s']} s into the apply. "
          "Write errors (s from the apply's start, node, count, error):")
    for x in r["errors"]:
        print(f"  - {x['from_apply_start_s']:+.3f}..{x['to_s']:+.3f} {x['node']} x{x['count']}: `{x['error']}`")
print()
print("```")
for r in rows:
    print(json.dumps({k: v for k, v in r.items() if k != "errors"}, separators=(",", ":")))
print("```")
PY
}
report | tee "$OUT/report.md"
close_masters
python3 - "$OUT/results.jsonl" <<'PY' || { say "FAILED: see $OUT/report.md"; exit 1; }
import json, sys
bad = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    if any(r["missing"].values()):
        bad.append(f"{r['engine']}: acknowledged writes missing {r['missing']}")
    if r["h1_acks_after_first_h3_ack"]:
        bad.append(f"{r['engine']}: h1 acknowledged writes after h3 did (two writable primaries)")
    if r["apply_exit"] != 0 or r["request"] != "succeeded":
        bad.append(f"{r['engine']}: apply exited {r['apply_exit']}, request {r['request']}")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
say "report: $OUT/report.md"

#!/usr/bin/env bash
# smoke.sh - prove the lab works on this machine, through SSH only (the way dbfleet connects):
#   destroy + up from nothing; each host runs sshd and sees only its own files; MariaDB,
#   PostgreSQL 15, redis-server and valkey-server start inside hosts and answer from another host;
#   `reset` stops them and restores the package defaults; poweroff/poweron; partition/heal;
#   down leaves nothing behind.
#
#   lab/smoke.sh             runs everything, then `lab.sh down`
#   LEAVE_UP=1 lab/smoke.sh  keeps the lab running at the end
#
# Prints PASS/FAIL per check, timings, and a closing "N passed, M failed" line; exit 1 on failure.
# Needs root and `lab.sh deps`. Destroys the lab's current state ($LAB_DIR); waits for tests that
# use the lab to finish first.
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")" || exit 1
LAB=./lab.sh
export LAB_HOSTS="h1 h2 h3 h4"
eval "$($LAB env | grep -E '^LAB_(DIR|KEY|KNOWN_HOSTS)=')"
# hold the lab's lock for the whole run: no test runs meanwhile, and lab.sh knows we hold it
mkdir -p "$LAB_DIR"
exec 9>>"$LAB_DIR/lock"
flock -n 9 || { echo "waiting for the lab: a test is using it"; flock 9; }
export LAB_LOCK_HELD=1
H1=10.231.0.11 H2=10.231.0.12 H3=10.231.0.13 H4=10.231.0.14
PASSED=0 FAILED=0
T0=$(date +%s.%N)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
say() { printf '\n=== [%6ss] %s\n' "$(since "$T0")" "$*"; }
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
not() { ! "$@" 2>/dev/null; }
expect_eq() { if [ "$3" = "$2" ]; then pass "$1 ($3)"; else fail "$1: want '$2' got '$3'"; fi; }
# ssh exactly as dbfleet will: explicit key, the lab's known_hosts, strict host key checking, by IP
R() { local ip=$1; shift; ssh -i "$LAB_KEY" -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR "root@$ip" "$@"; }
RS() { local ip=$1; shift; R "$ip" bash -s -- "$@"; }   # script on stdin
timed() { local t; t=$(now); "$@"; local rc=$?; echo "  ($* took $(since "$t") s)"; return $rc; }

# --------------------------------------------------------------------------------------------
say "fresh lab: destroy + up"
timed $LAB destroy >/dev/null 2>&1
t=$(now)
if $LAB up >/dev/null; then pass "lab up from nothing in $(since "$t") s"; else fail "lab up"; exit 1; fi
$LAB status

say "each host: sshd by IP with strict host keys, own hostname, own private dirs"
for n in 1 2 3 4; do
  expect_eq "hostname on 10.231.0.1$n" "h$n" "$(R 10.231.0.1$n hostname)"
  R 10.231.0.1$n 'touch /var/lib/mysql/marker-$(hostname)'
done
expect_eq "h1 sees only its own /var/lib/mysql" "marker-h1" "$(R $H1 ls /var/lib/mysql | tr -d '\n')"
expect_eq "h4 sees only its own /var/lib/mysql" "marker-h4" "$(R $H4 ls /var/lib/mysql | tr -d '\n')"
expect_eq "lab dir hidden inside a host" "" "$(R $H1 ls "$LAB_DIR")"
expect_eq "keydb paths exist" "/etc/keydb /run/keydb /var/lib/keydb" "$(R $H3 'ls -d /etc/keydb /run/keydb /var/lib/keydb' | tr '\n' ' ' | sed 's/ $//')"
check "h1 resolves h2 by name" R $H1 "ping -c1 -W2 h2 >/dev/null"
check "no route out of the lab" not ip netns exec dblab-h1 ip route get 192.0.2.1

# --------------------------------------------------------------------------------------------
say "MariaDB on h1 (mariadb-install-db + mysqld_safe, no systemd)"
start_mariadb() {  # ip
  R "$1" "cat > /etc/mysql/mariadb.conf.d/60-smoke.cnf" <<EOF
[mysqld]
bind_address = $1
skip_name_resolve = ON
log_error = /var/log/mysql/error.log
[mysqld_safe]
skip_syslog
log_error = /var/log/mysql/error.log
open_files_limit = 16384
EOF
  RS "$1" <<'EOF'
set -e
rm -f /var/lib/mysql/marker-*
mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/tmp/install-db.log 2>&1
setsid -f mysqld_safe </dev/null >/dev/null 2>&1
for i in $(seq 150); do mariadb-admin ping >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1
EOF
}
t=$(now)
if start_mariadb $H1; then pass "mariadb installed + started on h1 in $(since "$t") s"; else fail "mariadb on h1"; fi
R $H1 "mariadb -e \"CREATE USER smoke@'10.231.0.%' IDENTIFIED BY 'pw'\""
expect_eq "mariadb answers from h2" "10.11" "$(R $H2 "mariadb -N -B -h $H1 -u smoke -ppw -e 'select version()'" | cut -d. -f1,2)"
expect_eq "open_files_limit" "16384" "$(R $H1 "mariadb -N -B -e 'select @@open_files_limit'")"

say "PostgreSQL 15 on h2 (initdb + pg_ctl as postgres)"
t=$(now)
RS $H2 <<'EOF'
set -e
cd /tmp
PGBIN=/usr/lib/postgresql/15/bin D=/var/lib/postgresql/15/main
install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/15
runuser -u postgres -- $PGBIN/initdb -D $D --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/tmp/initdb.log
echo "listen_addresses = '10.231.0.12'" >> $D/postgresql.conf
echo 'host all all 10.231.0.0/24 scram-sha-256' >> $D/pg_hba.conf
runuser -u postgres -- $PGBIN/pg_ctl -D $D -l /var/log/postgresql/postgresql.log -w start >/dev/null
runuser -u postgres -- psql -X -q -c "CREATE ROLE smoke LOGIN PASSWORD 'pw'"
EOF
[ $? = 0 ] && pass "postgresql initdb + start on h2 in $(since "$t") s" || fail "postgresql on h2"
expect_eq "postgresql answers from h3" "15" "$(R $H3 "PGPASSWORD=pw psql -X -At -h $H2 -U smoke -d postgres -c 'show server_version'" | cut -d. -f1)"

say "redis-server on h3, valkey-server on h4"
t=$(now)
R $H3 "sed -i -e 's/^bind .*/bind $H3 127.0.0.1/' -e 's/^# requirepass .*/requirepass pw/' /etc/redis/redis.conf && runuser -u redis -- redis-server /etc/redis/redis.conf" \
  && pass "redis-server started on h3 in $(since "$t") s" || fail "redis-server on h3"
R $H4 'cat > /etc/valkey/valkey.conf; chown redis:redis /etc/valkey/valkey.conf' <<EOF
bind $H4 127.0.0.1
port 6379
daemonize yes
pidfile /run/valkey/valkey-server.pid
logfile /var/log/valkey/valkey-server.log
dir /var/lib/valkey
requirepass pw
EOF
t=$(now)
R $H4 'runuser -u redis -- valkey-server /etc/valkey/valkey.conf' && pass "valkey-server started on h4 in $(since "$t") s" || fail "valkey-server on h4"
for _ in $(seq 25); do R $H1 "REDISCLI_AUTH=pw redis-cli -h $H4 ping" 2>/dev/null | grep -q PONG && break; sleep 0.2; done
expect_eq "redis answers from h1" "PONG" "$(R $H1 "REDISCLI_AUTH=pw redis-cli -h $H3 ping")"
expect_eq "valkey answers from h1" "valkey" "$(R $H1 "REDISCLI_AUTH=pw redis-cli -h $H4 info server" | tr -d '\r' | sed -n 's/^server_name://p')"

# --------------------------------------------------------------------------------------------
say "reset: engines stopped, dirs back to package defaults"
R $H1 'mkdir -p /etc/nftables.d; nft add table inet smoke; echo x > /etc/nftables.d/x.nft'
engines() { R "$1" "ps -eo comm= | grep -cE '^(mysqld_safe|mariadbd|postgres|redis-server|valkey-server)\$'"; }
before=$(for ip in $H1 $H2 $H3 $H4; do engines $ip; done | tr '\n' ' ')
check "engine processes running before reset on h1..h4 ($before)" not grep -qw 0 <<<"$before"
t=$(now); timed $LAB reset h1 h2 h3 h4 2>/dev/null && pass "reset of 4 hosts in $(since "$t") s" || fail "reset"
for ip in $H1 $H2 $H3 $H4; do expect_eq "$ip: engine processes after reset" "0" "$(engines $ip)"; done
expect_eq "h1 /var/lib/mysql empty" "" "$(R $H1 ls -A /var/lib/mysql)"
expect_eq "h1 our mariadb conf gone, package conf back" "50-server.cnf" "$(R $H1 ls /etc/mysql/mariadb.conf.d | grep -E '50-server|60-smoke')"
expect_eq "h1 nftables.d empty, ruleset flushed" "" "$(R $H1 'ls -A /etc/nftables.d; nft list tables')"
expect_eq "h2 /var/lib/postgresql empty" "" "$(R $H2 ls -A /var/lib/postgresql)"
expect_eq "h3 redis.conf is the package default" "bind 127.0.0.1 -::1" "$(R $H3 "grep '^bind' /etc/redis/redis.conf")"
expect_eq "h4 /etc/valkey empty" "" "$(R $H4 ls -A /etc/valkey)"
expect_eq "h4 /run/valkey empty and owned by redis" "redis" "$(R $H4 "ls -A /run/valkey; stat -c %U /run/valkey")"
t=$(now)
start_mariadb $H1 && pass "mariadb starts again after reset in $(since "$t") s" || fail "mariadb after reset"

# --------------------------------------------------------------------------------------------
say "poweroff / poweron h2"
t=$(now); $LAB poweroff h2 2>/dev/null; echo "  poweroff took $(since "$t") s"
check "h2 unreachable while off" not nc -z -w 2 $H2 22
t=$(now); $LAB poweron h2 2>/dev/null && pass "poweron h2 in $(since "$t") s" || fail "poweron h2"
check "h1 -> h2:22 after poweron" R $H1 "nc -z -w 3 $H2 22"
expect_eq "hostname of h2 after poweron" "h2" "$(R $H2 hostname)"

say "partition h1 <-/-> h3, heal"
$LAB partition h1 h3 2>/dev/null
check "h1 -> h3:22 blocked" not R $H1 "nc -z -w 2 $H3 22"
check "h1 -> h2:22 still open" R $H1 "nc -z -w 2 $H2 22"
$LAB heal 2>/dev/null
check "h1 -> h3:22 open after heal" R $H1 "nc -z -w 5 $H3 22"

# --------------------------------------------------------------------------------------------
if [ -z "${LEAVE_UP:-}" ]; then
  say "down: nothing left behind"
  R $H1 'ps -eo comm= | grep -c mariadbd' | sed 's/^/  mariadbd processes on h1 before down: /'
  t=$(now); $LAB down 2>/dev/null; echo "  lab down (mariadb running on h1) took $(since "$t") s"
  sleep 0.5
  expect_eq "netns left" "0" "$(ip netns list | grep -c dblab)"
  check "bridge removed" not ip link show dblab0
  expect_eq "lab processes left" "0" "$(ps -eo args= | grep -E '_init h[0-9]|mariadbd|mysqld_safe|bin/postgres|postgres:|redis-server|valkey-server' | grep -vc grep)"
  expect_eq "status exit code when down" "3" "$($LAB status >/dev/null 2>&1; echo $?)"
fi
echo
echo "total $(since "$T0") s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]

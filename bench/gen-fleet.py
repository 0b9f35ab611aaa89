#!/usr/bin/env python3
"""Generate a large synthetic dbfleet repository for benchmarks.

    gen-fleet.py OUT_DIR --clusters 1000 --nodes 3000 [--seed-offset 0]
    gen-fleet.py OUT_DIR --change N        # edit a setting in N clusters

All eight engines, every topology each engine supports, realistic settings,
hosts unique across the repository (10.a.b.c). Deterministic: the same
arguments give the same files. No dependency beyond the standard library.
"""
import argparse
import os
import sys

ENGINES = ["mysql", "mariadb", "postgresql", "timescaledb", "hydra", "redis", "valkey", "keydb"]
MULTI_MASTER = {"mysql", "mariadb", "keydb"}
VERSIONS = {
    "mysql": ["8.0", "8.4"],
    "mariadb": ["10.6", "10.11", "11.4", "11.8"],
    "postgresql": ["13", "14", "15", "16", "17"],
    "timescaledb": ["15", "16", "17"],
    "hydra": ["14", "15", "16"],
    "redis": ["6.2", "7.0", "7.2", "7.4"],
    "valkey": ["7.2", "8.0", "8.1", "9.0", "9.1"],
    "keydb": ["6.3"],
}
EXTENSION = {"timescaledb": ["2.15", "2.17"], "hydra": ["1.1"]}
SCHEDULES = ["daily", "hourly", "30 2 * * *", "15 */6 * * *", "0 3 * * 0"]
GIB = [1, 2, 4, 8, 16, 32]


def settings(engine, i):
    """Realistic engine parameters, varied by cluster index."""
    mem = GIB[i % len(GIB)]
    conns = 100 + 50 * (i % 9)
    if engine in ("mysql", "mariadb"):
        s = [
            ("max_connections", conns),
            ("innodb_buffer_pool_size", f"{mem}G"),
            ("innodb_flush_log_at_trx_commit", 1 if i % 4 else 2),
            ("sync_binlog", 1),
            ("binlog_expire_logs_seconds", 86400 * (3 + i % 5)),
            ("max_allowed_packet", f"{16 * (1 + i % 4)}M"),
            ("character_set_server", "utf8mb4"),
            ("slow_query_log", i % 2 == 0),
            ("long_query_time", 0.5 + (i % 4) * 0.5),
        ]
        if engine == "mysql":
            s.append(("innodb_redo_log_capacity", f"{max(1, mem // 4)}G"))
        else:
            s.append(("innodb_log_file_size", f"{256 * (1 + i % 4)}M"))
        return s
    if engine in ("postgresql", "timescaledb", "hydra"):
        s = [
            ("max_connections", conns),
            ("shared_buffers", f"{max(1, mem // 4) * 1024}MB"),
            ("effective_cache_size", f"{max(1, mem * 3 // 4)}GB"),
            ("work_mem", f"{4 * (1 + i % 8)}MB"),
            ("maintenance_work_mem", f"{128 * (1 + i % 4)}MB"),
            ("max_wal_size", f"{1 + i % 8}GB"),
            ("random_page_cost", 1.1 if i % 3 else 4.0),
            ("checkpoint_completion_target", 0.9),
            ("log_min_duration_statement", 250 * (1 + i % 4)),
        ]
        if engine == "timescaledb":
            s += [("max_worker_processes", 16 + i % 16), ("timescaledb.max_background_workers", 8 + i % 8),
                  ("timescaledb.telemetry_level", "off")]
        if engine == "hydra":
            s += [("columnar.compression", ["zstd", "lz4", "pglz"][i % 3]), ("columnar.compression_level", 1 + i % 9)]
        return s
    # redis family
    s = [
        ("maxmemory", f"{mem}gb"),
        ("maxmemory-policy", ["allkeys-lru", "volatile-lru", "allkeys-lfu", "noeviction", "volatile-ttl"][i % 5]),
        ("appendonly", "yes" if i % 3 else "no"),
        ("appendfsync", "everysec"),
        ("timeout", 300 * (i % 3)),
        ("tcp-keepalive", 60),
    ]
    if engine == "valkey":
        s.append(("io-threads", 1 + i % 4))
    if engine == "keydb":
        s.append(("server-threads", 1 + i % 4))
    return s


def host(k):
    # 250 usable addresses per /24, 256 /24s per /16: 10.1.0.1 ... unique per k.
    return f"10.{1 + k // (250 * 256)}.{(k // 250) % 256}.{1 + k % 250}"


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + v + '"'


def key(k):
    return k if all(c.isalnum() or c in "_-" for c in k) else f'"{k}"'


def plan_fleet(n_clusters, n_nodes):
    """(engine, topology, node count) per cluster, summing to n_nodes."""
    shape = []
    for i in range(n_clusters):
        engine = ENGINES[i % len(ENGINES)]
        r = (i // len(ENGINES)) % 10
        if r < 2:
            shape.append([engine, "single", 1])
        elif r == 2 and engine in MULTI_MASTER:
            shape.append([engine, "multi-master", 2])
        else:
            shape.append([engine, "primary-replica", 0])
    fixed = sum(s[2] for s in shape)
    pr = [s for s in shape if s[1] == "primary-replica"]
    rest = n_nodes - fixed
    if not pr or rest < 2 * len(pr):
        sys.exit(f"cannot spread {n_nodes} nodes over {n_clusters} clusters")
    base, extra = divmod(rest, len(pr))
    for j, s in enumerate(pr):
        s[2] = base + (1 if j < extra else 0)
    return shape


def cluster_text(i, engine, topology, hosts, changed=False):
    name = f"{engine}-{i:05d}-db"  # ends in a letter: node names are <cluster><N>
    out = ["#:schema ../schema/cluster.schema.json\n",
           f'name = "{name}"\n', f'engine = "{engine}"\n',
           f'version = "{VERSIONS[engine][i % len(VERSIONS[engine])]}"\n']
    if engine in EXTENSION:
        out.append(f'extension_version = "{EXTENSION[engine][i % len(EXTENSION[engine])]}"\n')
    out += [f'topology = "{topology}"\n',
            f"protected = {value(i % 5 != 0)}\n",
            f"auto_failover = {value(topology == 'primary-replica')}\n",
            f'allowed_ips = ["10.0.0.0/8", "198.51.100.{i % 250}/32", "2001:db8:{i % 65536:x}::/48"]\n',
            "\n[settings]\n"]
    for k, v in settings(engine, i):
        if changed and k in ("max_connections", "maxmemory"):
            # max_connections + 25; maxmemory "Ngb" -> "N*1024+512mb"
            v = v + 25 if isinstance(v, int) else f"{int(v[:-2]) * 1024 + 512}mb"
        out.append(f"{key(k)} = {value(v)}\n")
    out += ["\n[backup]\n", f'schedule = "{SCHEDULES[i % len(SCHEDULES)]}"\n', f"retain = {3 + i % 28}\n"]
    if i % 3 == 0:
        out += ["\n[passwords]\n", f'admin = {{ env = "{name.upper().replace("-", "_")}_ADMIN" }}\n']
    for h in hosts:
        out.append(f'\n[[nodes]]\nhost = "{h}"\n')
    return name, "".join(out)


FLEET = """#:schema schema/fleet.schema.json
# Synthetic benchmark fleet.

[ssh]
user = "dbfleet"
identity = "/etc/dbfleet/ssh/id_ed25519"
known_hosts = "/etc/dbfleet/ssh/known_hosts"
parallel = 64
connect_timeout = "10s"

[hosts]
install_packages = false
service_manager = "systemd"

[backup]
dir = "/srv/dbfleet/backups"

[notify]
webhook = "https://hooks.example.internal/dbfleet"

[dns]
server = "10.0.0.53:53"
zone = "db.example.internal."
tsig_key = { file = "/etc/dbfleet/tsig.key" }
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=3000)
    ap.add_argument("--change", type=int, default=0,
                    help="rewrite the first N clusters (every other one) with a changed setting")
    a = ap.parse_args()
    shape = plan_fleet(a.clusters, a.nodes)
    os.makedirs(os.path.join(a.out, "clusters"), exist_ok=True)
    if not a.change:
        with open(os.path.join(a.out, "fleet.toml"), "w") as f:
            f.write(FLEET)
    # Every other cluster changes, so changes are spread over all engines.
    to_change = set(range(0, 2 * a.change, 2)) if a.change else None
    if to_change and max(to_change) >= a.clusters:
        sys.exit("--change larger than half the clusters")
    k = 0
    for i, (engine, topology, n) in enumerate(shape):
        hosts = [host(k + j) for j in range(n)]
        k += n
        if to_change is not None and i not in to_change:
            continue
        name, text = cluster_text(i, engine, topology, hosts, changed=to_change is not None)
        with open(os.path.join(a.out, "clusters", name + ".toml"), "w") as f:
            f.write(text)
    print(f"{a.out}: {a.clusters} clusters, {k} nodes" + (f", {a.change} changed" if a.change else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()

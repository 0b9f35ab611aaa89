#!/usr/bin/env python3
"""Write the Ansible inventory for bench/apply-vs-ansible.sh.

    inventory.py OUT --key KEY --known-hosts FILE --secrets SECRETS_JSON \
        h1=10.231.0.11 h2=10.231.0.12 h3=10.231.0.13

The hosts are the nodes of both clusters in dbfleet's order: the first is
the primary (node number 1), the others replicas, numbered as dbfleet
numbers them. SECRETS_JSON is the file dbfleet keeps for the Redis
cluster in its state directory (secrets/<cluster>.json); its admin
password is what the handler's redis-cli authenticates with (an Ansible
user would keep it in a vault). The file is JSON, which Ansible's YAML
inventory plugin reads; it is written with mode 0600.
"""
import argparse
import json
import os
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--key", required=True)
    p.add_argument("--known-hosts", required=True)
    p.add_argument("--secrets", required=True)
    p.add_argument("--redis-cluster", default="bench-redis")
    p.add_argument("--mariadb-cluster", default="bench-maria")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--mariadb-port", type=int, default=3306)
    p.add_argument("hosts", nargs="+", help="NAME=IP, primary first")
    a = p.parse_args()

    with open(a.secrets, encoding="utf-8") as f:
        password = json.load(f)["admin"]
    hosts = {}
    pairs = [h.split("=", 1) for h in a.hosts]
    if any(len(x) != 2 for x in pairs):
        print("hosts are NAME=IP", file=sys.stderr)
        return 64
    for number, (name, ip) in enumerate(pairs, start=1):
        hosts[name] = {
            "ansible_host": ip,
            "node_ip": ip,
            "node_number": number,
            "node_role": "primary" if number == 1 else "replica",
        }
    inventory = {
        "all": {
            "children": {
                "dbhosts": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_user": "root",
                        "ansible_ssh_private_key_file": a.key,
                        "ansible_ssh_common_args": (
                            f"-o UserKnownHostsFile={a.known_hosts} "
                            "-o StrictHostKeyChecking=yes -o BatchMode=yes"
                        ),
                        "primary_ip": pairs[0][1],
                        "redis_cluster": a.redis_cluster,
                        "redis_port": a.redis_port,
                        "redis_password": password,
                        "mariadb_cluster": a.mariadb_cluster,
                        "mariadb_port": a.mariadb_port,
                    },
                }
            }
        }
    }
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(inventory, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

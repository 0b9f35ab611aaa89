#!/usr/bin/env python3
"""The client side of bench/switchover.sh: a writer at a fixed rate that
follows the primary, and the check of what the nodes hold afterwards.

  switchover_writer.py write --engine E --hosts IP,IP,IP --port P [--rate N] --out FILE
      Writes until SIGTERM/SIGINT, then writes FILE (JSON): the number of
      attempts, every acknowledged id with the time it was acknowledged
      (s since the start), the node and the write's latency (ms), and each kind of error per node
      (first and last time, count).
  switchover_writer.py settle --engine E --hosts IP,IP,IP --port P --acks FILE [--timeout S]
      Writes a marker on the node that accepts writes, waits until every
      node holds it, reads every id from every node and prints one JSON
      object: the writable node, and per node the acknowledged ids it lacks.

The password comes from the environment (SWITCHOVER_PASSWORD), never argv.
MariaDB: user `app` (no SUPER, so read_only holds it back), database
`bench`, table `w`; PostgreSQL: user `dbfleet`, database `postgres`, table
`w`; Redis/Valkey: AUTH with the password, keys `w:<id>`.

The writer: one write per tick of 1/rate s, never faster: a write starts
at its tick, or later within its tick's period if the previous one ran
long; a tick whose whole period passed during a write is skipped (counted,
never caught up).
Each write is a new id, 1, 2, 3...: an INSERT (or SET w:id) on a persistent
connection to the node it takes for the primary (the first host at start).
Any error marks that write unacknowledged and drops the connection; the
following ticks try the next hosts in turn (a fresh connection each, short
timeouts) until one accepts a write, which is then kept.
"""

import argparse
import json
import os
import signal
import sys
import time

CONNECT_TIMEOUT = 0.5  # s: a host that is down answers with RST at once; this is for a silent one
IO_TIMEOUT = 1.0  # s: one write's round trip
MARKER = 2_000_000_000


class Node:
    """A connection to one host, opened on demand."""

    def __init__(self, engine, host, port, password):
        self.engine, self.host, self.port, self.password = engine, host, port, password
        self.conn = None

    def connect(self):
        if self.conn is not None:
            return
        if self.engine == "mariadb":
            import pymysql

            self.conn = pymysql.connect(
                host=self.host, port=self.port, user="app", password=self.password,
                database="bench", autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                read_timeout=IO_TIMEOUT, write_timeout=IO_TIMEOUT)
        elif self.engine == "postgresql":
            import pg8000.native

            self.conn = pg8000.native.Connection(
                user="dbfleet", password=self.password, host=self.host, port=self.port,
                database="postgres", timeout=IO_TIMEOUT)
        else:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self.conn = redis.Redis(
                host=self.host, port=self.port, password=self.password,
                socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=IO_TIMEOUT,
                retry=Retry(NoBackoff(), 0))
            self.conn.ping()  # connect now, so a refused AUTH counts as this attempt's error

    def close(self):
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.close()
        except Exception:
            pass

    def write(self, i):
        self.connect()
        if self.engine == "mariadb":
            with self.conn.cursor() as c:
                c.execute("INSERT INTO w (id) VALUES (%s)", (i,))
        elif self.engine == "postgresql":
            self.conn.run("INSERT INTO w (id) VALUES (:id)", id=i)
        else:
            self.conn.set(f"w:{i}", i)

    def ids(self):
        self.connect()
        if self.engine == "mariadb":
            with self.conn.cursor() as c:
                c.execute("SELECT id FROM w")
                return {r[0] for r in c.fetchall()}
        if self.engine == "postgresql":
            return {r[0] for r in self.conn.run("SELECT id FROM w")}
        out = set()
        for k in self.conn.scan_iter(match="w:*", count=1000):
            out.add(int(k.decode().split(":", 1)[1]))
        return out


def nodes(args):
    pw = os.environ.get("SWITCHOVER_PASSWORD")
    if pw is None:
        sys.exit("SWITCHOVER_PASSWORD is not set")
    return [Node(args.engine, h, args.port, pw) for h in args.hosts.split(",")]


def short(e):
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:160]


def write(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    ns = nodes(args)
    period = 1.0 / args.rate
    cur = 0  # the node taken for the primary
    i = 0
    acked = []  # [id, seconds since start, host]
    errors = {}  # (host, error) -> [first t, last t, count]
    skipped = 0
    wall0 = time.time()
    t0 = time.monotonic()
    k = 0  # the tick
    while not stop:
        due = t0 + k * period
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
            if stop:
                break
        i += 1
        n = ns[cur]
        try:
            started = time.monotonic()
            n.write(i)
            done = time.monotonic()
            acked.append([i, round(done - t0, 6), n.host, round((done - started) * 1000, 3)])
        except Exception as e:  # any failure: unacknowledged, try the next host next tick
            t = round(time.monotonic() - t0, 6)
            key = (n.host, short(e))
            if key in errors:
                errors[key][1] = t
                errors[key][2] += 1
            else:
                errors[key] = [t, t, 1]
            n.close()
            cur = (cur + 1) % len(ns)
        # The next tick, or the one whose period has begun if the write ran
        # late: at most one write per period, ticks whose whole period
        # passed are skipped (never caught up).
        k += 1
        now_tick = int((time.monotonic() - t0) / period)
        if now_tick > k:
            skipped += now_tick - k
            k = now_tick
    end = time.monotonic() - t0
    for n in ns:
        n.close()
    with open(args.out, "w") as f:
        json.dump({"engine": args.engine, "rate": args.rate, "start_epoch": wall0,
                   "duration": round(end, 6), "attempted": i, "skipped_ticks": skipped,
                   "acked": acked,
                   "errors": sorted([v[0], v[1], h, m, v[2]] for (h, m), v in errors.items())}, f)


def settle(args):
    with open(args.acks) as f:
        run = json.load(f)
    acked = {a[0] for a in run["acked"]}
    ns = nodes(args)
    deadline = time.monotonic() + args.timeout
    primary = None
    while primary is None:  # the node that accepts a write now
        for n in ns:
            try:
                n.write(MARKER)
                primary = n
                break
            except Exception:
                n.close()
        if primary is None:
            if time.monotonic() > deadline:
                sys.exit("no node accepts writes")
            time.sleep(0.2)
    out = {"writable": primary.host, "nodes": {}}
    for n in ns:
        held, err = set(), None
        while True:  # replication is in order: the marker means all before it
            try:
                held = n.ids()
                if MARKER in held:
                    break
            except Exception as e:
                err = short(e)
                n.close()
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        missing = sorted(acked - held)
        out["nodes"][n.host] = {"marker": MARKER in held, "rows": len(held - {MARKER}),
                                "missing": len(missing), "missing_ids": missing[:50],
                                "error": err if MARKER not in held else None}
        n.close()
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("write", "settle"):
        s = sub.add_parser(name)
        s.add_argument("--engine", required=True, choices=["mariadb", "postgresql", "redis", "valkey"])
        s.add_argument("--hosts", required=True)
        s.add_argument("--port", type=int, required=True)
    w = sub.choices["write"]
    w.add_argument("--rate", type=float, default=250)
    w.add_argument("--out", required=True)
    s = sub.choices["settle"]
    s.add_argument("--acks", required=True)
    s.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    if args.cmd == "write":
        if args.rate <= 0:
            sys.exit("--rate must be positive")
        write(args)
    else:
        settle(args)


if __name__ == "__main__":
    main()

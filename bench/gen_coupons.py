"""gen-coupons --count 1,000,000 on SQLite before issue #14 (one transaction) and now (short
transactions, sorted runs), in one run against the same ceiling: a raw executemany of a million
ready-made tokens in one transaction. While each gen-coupons runs, a probe takes SQLite's write
lock every 20 ms the way a scan does (BEGIN IMMEDIATE, ROLLBACK) and records how long it waited:
what a scan would have waited for the lock meanwhile.

    .venv/bin/python bench/gen_coupons.py          # figures on standard output

The load generator (the probe) shares the machine's 2 cores with gen-coupons; each figure is one
run, so read the ratios (measured minutes apart on the same machine), not the seconds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ceilings import raw_insert_seconds  # noqa: E402
from bench.harness import BIN, MILLION, OUT, sqlite_database  # noqa: E402

BEFORE = "6789bf0"  # the last commit before issue #14's gen-coupons
PROBE_EVERY = 0.02
# A scan gives up on the write lock after DATABASE_BUSY_TIMEOUT_MS (5 s by default) and answers 503.
BUSY_TIMEOUT = 5.0


def lock_waits(path: Path, running: threading.Event) -> list[float]:
    """How long each BEGIN IMMEDIATE waited (capped at the busy timeout, as a scan's would be)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
    waits = []
    while running.is_set():
        started = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # busy past the timeout: a 503
        waits.append(time.perf_counter() - started)
        time.sleep(PROBE_EVERY)
    conn.close()
    return waits


def gen_coupons(tree: Path, label: str) -> dict:
    database = OUT / f"gen-{label}.db"
    sqlite_database(database).close()
    command = [str(BIN / "flask"), "--app", "app", "gen-coupons", "--count", str(MILLION)]
    command += ["--output", str(OUT / f"gen-{label}.csv")]
    running = threading.Event()
    running.set()
    waits: list[float] = []
    probe = threading.Thread(target=lambda: waits.extend(lock_waits(database, running)))
    probe.start()
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "peak.py"), *command],
            cwd=tree,
            env={**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        running.clear()
        probe.join()
    figures = json.loads(result.stdout)
    if figures["exit"] != 0:
        raise SystemExit(f"gen-coupons ({label}) failed")
    stored = sqlite3.connect(database).execute("SELECT count(*) FROM coupons").fetchone()[0]
    if stored != MILLION:
        raise SystemExit(f"INVARIANT BROKEN: gen-coupons ({label}) stored {stored} of {MILLION}")
    figures["lock_p95"] = statistics.quantiles(waits, n=20)[-1]
    figures["lock_max"] = max(waits)
    figures["busy"] = sum(1 for w in waits if w >= BUSY_TIMEOUT)
    figures["probes"] = len(waits)
    return figures


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    before_tree = OUT / f"tree-{BEFORE}"
    if not before_tree.exists():
        archive = subprocess.run(["git", "archive", BEFORE], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(before_tree, filter="data")
    sqlite_database(OUT / "raw.db").close()
    raw = raw_insert_seconds(str(OUT / "raw.db"), MILLION)
    runs = {"before": gen_coupons(before_tree, "before"), "now": gen_coupons(ROOT, "now")}
    print(f"raw executemany of {MILLION:,} ready-made tokens, one transaction: {raw:.2f} s (1.00)")
    for label, figures in runs.items():
        print(
            f"gen-coupons {label}: {figures['seconds']:.2f} s ({figures['seconds'] / raw:.2f}x raw), "
            f"peak {figures['peak_mb']:.0f} MB; write lock waited p95 {figures['lock_p95'] * 1000:.0f} ms, "
            f"max {figures['lock_max'] * 1000:.0f} ms, {figures['busy']} of {figures['probes']} probes "
            f"past the {BUSY_TIMEOUT:.0f} s busy timeout"
        )


if __name__ == "__main__":
    main()

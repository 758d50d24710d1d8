"""PostgreSQL's scan rows of `make bench` alone, for the code before a commit and for this
checkout, one after the other in one run (issue #17): the bare redemption transaction (ceiling
c, in-process, through each tree's own redeem_coupon) and POST /scan of distinct coupons by 200
users under wrk, on one gunicorn instance and on two sharing the database, each against its
own tree's ceiling c. The invariants are checked after every wrk run, as `make bench` does.

    .venv/bin/python bench/pg_scan.py [--before COMMIT]

wrk and gunicorn share the machine's cores with the server (and, while these were measured,
with other work): read the ratios measured in the same run, not the requests per second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.harness import CONNECTIONS, OUT, PORT, SECONDS, SERVER, Server, check_invariants, measure  # noqa: E402
from bench.postgres import BenchPostgres  # noqa: E402
from rewards.db import Database  # noqa: E402
from rewards.db.postgresql import PostgresBackend  # noqa: E402

# Run in each tree: its own schema, its own seed and its own redeem_coupon for ceiling c.
_PREPARE = """
import json, sys
from pathlib import Path
sys.path.insert(0, ".")
from bench.ceilings import redemption_rate
from bench.seed import add_users, new_coupons, write_lines
from rewards.db import Database
from rewards.db.migrate import init_db
from rewards.db.postgresql import PostgresBackend

bare_url, url, folder, seconds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])


def database(url):
    backend = PostgresBackend(url, 5000)
    init_db(backend)
    return Database(backend)


bare = redemption_rate(lambda: database(bare_url), seconds)
db = database(url)
write_lines(folder / "users.txt", [t for _, t in add_users(db, 200, prefix=400)])
for hosts in (1, 2):
    write_lines(folder / f"coupons-{hosts}.txt", new_coupons(db, 80_000))
db.close()
print(json.dumps(bare))
"""


def tree_of(commit: str) -> Path:
    tree = OUT / f"tree-{commit}"
    shutil.rmtree(tree, ignore_errors=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def empty_database(postgres: BenchPostgres, name: str) -> str:
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(postgres.admin_url)._replace(path=f"/{name}"))


def measure_tree(postgres: BenchPostgres, label: str, tree: Path, port: int) -> dict:
    folder = OUT / f"pg-scan-{port}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    bare_url = empty_database(postgres, f"pg_scan_bare_{port}")
    url = empty_database(postgres, f"pg_scan_{port}")
    print(f"{label}: ceiling (c) and the seed", file=sys.stderr)
    prepared = subprocess.run(
        [sys.executable, "-c", _PREPARE, bare_url, url, str(folder), str(SECONDS)],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    result = {"bare": json.loads(prepared.stdout.strip().splitlines()[-1])}
    db = Database(PostgresBackend(url, 5000))
    scans = [0]

    def checked(figures: dict, name: str) -> None:
        scans[0] = check_invariants(db, name, figures["statuses"].get("200", 0), scans[0], CONNECTIONS)

    try:
        for hosts in (1, 2):
            # As make bench: two instances on one box each get half the workers.
            extra = {} if hosts == 1 else {"WEB_CONCURRENCY": str((os.cpu_count() or 2) // hosts + 1)}
            servers = [Server(url, postgres.shown(url), port + i, tree=tree, **extra) for i in range(hosts)]
            SERVER[:] = servers
            name = f"{label}, {hosts} instance{'s' * (hosts > 1)}"
            try:
                result[hosts] = measure(
                    "scan.lua",
                    ports=[s.port for s in servers],
                    after=lambda f, name=name: checked(f, name),
                    distinct=True,
                    BENCH_COUPONS=str(folder / f"coupons-{hosts}.txt"),
                    BENCH_USERS=str(folder / "users.txt"),
                )
            finally:
                for server in servers:
                    server.stop()
                SERVER.clear()
            print(f"  {name}: {result[hosts]['rps']:.0f}/s (runs {result[hosts]['runs']})", file=sys.stderr)
    finally:
        db.close()
    return result


def table(results: dict[str, dict]) -> str:
    lines = [
        "| code | ceiling c: bare redemption txn/s | /scan req/s, 1 instance (runs) | ratio to c | p99 ms "
        "| gunicorn CPU µs/req | /scan req/s, 2 instances (runs) | ratio to c | p99 ms | gunicorn CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, result in results.items():
        bare = result["bare"]["rate"]
        cells = [label, f"{bare:,.0f}"]
        for hosts in (1, 2):
            figures = result[hosts]
            runs = ", ".join(f"{r:,}" for r in figures["runs"])
            cells += [
                f"{figures['rps']:,.0f} ({runs})",
                f"{figures['rps'] / bare:.2f}",
                f"{figures['p99_us'] / 1000:.1f}",
                f"{figures['cpu_us']:,.0f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    (_, before), (_, after) = results.items()
    lines.append("")
    lines.append(
        "After / before, in this run: ceiling c "
        f"{after['bare']['rate'] / before['bare']['rate']:.2f}×, /scan on one instance "
        f"{after[1]['rps'] / before[1]['rps']:.2f}×, on two {after[2]['rps'] / before[2]['rps']:.2f}×."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="c0952f5", help="the commit to compare with (default c0952f5)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    postgres = BenchPostgres()
    try:
        results = {
            f"before ({args.before})": measure_tree(
                postgres, f"before ({args.before})", tree_of(args.before), PORT + 40
            ),
            "this checkout": measure_tree(postgres, "this checkout", ROOT, PORT + 50),
        }
    finally:
        postgres.stop()
    print(table(results))


if __name__ == "__main__":
    main()

"""The server's CPU per request for the console's pages against GET /stats (issue #16), at a
million coupons and 100,000 customers: one gunicorn worker (sync, as shipped, never restarted
mid-run), sequential keep-alive requests from this script, the worker's user + system time
read from /proc before and after each run of requests.

wrk's p99 in `make bench` is the target's measure, but on 2 cores it moves with whatever else the
machine does (a worker restarted after max_requests, other processes): run for run, the p99 of
the same code moved by 2x. This measure has no load generator competing for the cores and no
queue, so it is what a change to the page's own cost moves. Each figure is the least of
--rounds runs of --requests requests; ratios are to GET /stats measured in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import operators  # noqa: E402
from bench.harness import OUT, PORT, Server, sqlite_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests a run (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per page; the least is shown (default 5)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "server-cpu.db"
    print("seeding 1,000,000 coupons and 100,000 customers", file=sys.stderr)
    batch = operators.seed_programme(sqlite_database(path))
    server = Server(
        f"sqlite:///{path}",
        str(path),
        WEB_CONCURRENCY="1",
        GUNICORN_CMD_ARGS="--max-requests 0 --access-logfile /dev/null",
    )
    try:
        cookie = operators.console_cookie(PORT)
        pages = {
            "GET /version": ("/version", {}),
            "GET /stats (the baseline)": ("/stats", {"X-API-Key": operators.ADMIN_KEY}),
            "GET /console (the dashboard)": ("/console", {"Cookie": cookie}),
            f"GET /console/batches/{batch} (a batch's page)": (f"/console/batches/{batch}", {"Cookie": cookie}),
        }
        print(table(least_cpu(server, pages, args.requests, args.rounds), args))
    finally:
        server.stop()


def least_cpu(server: Server, pages: dict, requests: int, rounds: int) -> dict[str, float]:
    """Each page's least µs of server CPU per request over `rounds` runs, the pages taken in turn."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT)

    def run(path: str, headers: dict, count: int) -> None:
        for _ in range(count):
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise SystemExit(f"{path} answered {answer.status}")

    for path, headers in pages.values():
        run(path, headers, 200)  # the worker's caches and templates warm
    least: dict[str, float] = {}
    for _ in range(rounds):
        for name, (path, headers) in pages.items():
            before = server.cpu_seconds()
            run(path, headers, requests)
            spent = (server.cpu_seconds() - before) / requests * 1e6
            least[name] = min(least.get(name, spent), spent)
    return least


def table(least: dict[str, float], args: argparse.Namespace) -> str:
    baseline = least["GET /stats (the baseline)"]
    lines = [
        f"Server CPU per request, one gunicorn worker, {args.requests} sequential requests a run, "
        f"the least of {args.rounds} runs (this script is the only client; it shares the 2 cores):",
        "",
        "| page | µs of CPU a request | × GET /stats |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {cpu:,.0f} | {cpu / baseline:.2f} |" for name, cpu in least.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

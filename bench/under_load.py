"""Where a SQLite scan's CPU goes under load (issue #17), beside `make profile`'s one process.

gunicorn as shipped serves a seeded SQLite file; wrk (which shares the 2 cores with it) runs
`GET /version` and `POST /scan` (distinct coupons, 200 users) in turn, ROUNDS times: requests
per second, the ratio, and the server's CPU µs per request. With `--floors`, two more loads a
round of the same requests sent to bench/floor_app.py's routes: the scan's request without its
write, and with a one-row write in its place (what a scan could cost at best here). With
`--spy`, py-spy samples every worker during one more scan load, only while a worker holds the
GIL: the Python the scan costs (SQLite's own work and the waits for the disk and the lock run
without the GIL, and are not in it). It prints the frames that hold the largest shares of those
samples.

Run alone: .venv/bin/python bench/under_load.py [--floors] [--spy] (py-spy from requirements-dev.txt;
py-spy reads the workers' memory, which needs root or ptrace permission)."""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import OUT, SECONDS, SERVER, Server, sqlite_database, wrk  # noqa: E402
from bench.seed import add_users, new_coupons, write_lines  # noqa: E402

ROUNDS = 2
PARTS = ROUNDS + 1  # each scan load, the spied one included, walks its own share of coupons
OUTER = 0.9


FLOORS = ("/bench/scan-read", "/bench/scan-committed")


def load(coupons: Path, users: Path, part: int, path: str = "/scan") -> dict:
    return answered(
        wrk(
            "scan.lua",
            BENCH_COUPONS=str(coupons),
            BENCH_USERS=str(users),
            BENCH_RUNS=str(PARTS),
            BENCH_RUN=str(part),
            BENCH_SCAN_PATH=path,
        )
    )


def answered(figures: dict) -> dict:
    """The figures of a load whose every request was answered 200, or the run stops: a rate
    of refusals (a wrapped coupon file, a rate limit, a token refused) measures nothing here."""
    if set(figures["statuses"]) != {"200"} or figures["socket_errors"]:
        raise SystemExit(f"not every request was answered 200: {figures['statuses']}, {figures['socket_errors']}")
    return figures


def workers(server: Server) -> list[str]:
    pid = server.process.pid
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def spied(server: Server, coupons: Path, users: Path, folder: Path) -> tuple[dict, collections.Counter, int]:
    """A scan load with py-spy on every worker: the figures, and samples per frame (inclusive)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--spy needs py-spy: .venv/bin/pip install -r requirements-dev.txt")
    outputs = [folder / f"worker-{pid}.txt" for pid in workers(server)]
    spies = [
        subprocess.Popen(
            [spy, "record", "--gil", "--nonblocking", "-r", "500", "-d", str(SECONDS + 1), "-f", "raw"]
            + ["-o", str(output), "-p", output.stem.removeprefix("worker-")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for output in outputs
    ]
    time.sleep(0.5)  # py-spy attaches before the load starts
    figures = load(coupons, users, ROUNDS)
    for process in spies:
        _, error = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"py-spy failed: {error.decode(errors='replace')[-300:]}")
    frames: collections.Counter = collections.Counter()
    total = 0
    for output in outputs:
        for line in output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            # A frame counts once per sample however deep it recurs; its line number is dropped.
            for frame in {_frame_name(frame) for frame in stack.split(";")}:
                frames[frame] += int(count)
    return figures, frames, total


def _frame_name(frame: str) -> str:
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rsplit(':', 1)[0]})" if where else function


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spy", action="store_true", help="py-spy on the workers during one more scan load")
    parser.add_argument("--top", type=int, default=40, help="frames shown with --spy (default 40)")
    parser.add_argument("--floors", action="store_true", help="the scan's request without its write, and with one row")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rewards-under-load-") as tmp:
        folder = Path(tmp)
        db = sqlite_database(folder / "load.db")
        users = write_lines(folder / "users.txt", [token for _, token in add_users(db, 200, prefix=200)])
        coupons = write_lines(folder / "coupons.txt", new_coupons(db, 40_000 * PARTS))
        db.close()
        # Workers are never recycled mid-run (max_requests): py-spy follows the ones it found.
        wsgi = "bench.floor_app:app" if args.floors else "app:app"
        server = Server(
            f"sqlite:///{folder / 'load.db'}", "sqlite:///load.db", wsgi=wsgi, GUNICORN_CMD_ARGS="--max-requests 0"
        )
        SERVER.append(server)
        try:
            loads = ["POST /scan"] + ([f"POST {path}" for path in FLOORS] if args.floors else [])
            print(
                "| round | GET /version req/s, server CPU µs | "
                + " | ".join(f"{name} req/s, CPU µs, ratio" for name in loads)
                + " |"
            )
            print("|---|---:|" + "---:|" * len(loads))
            for round_ in range(ROUNDS):
                version = answered(wrk("get.lua", "/version"))
                scans = [load(coupons, users, round_)]
                if args.floors:
                    # The floors look no coupon up: any share of the file will do.
                    scans += [load(coupons, users, round_, path) for path in FLOORS]
                cells = [f"{version['rps']:,.0f}, {version['cpu_us']:,.0f}"]
                cells += [f"{s['rps']:,.0f}, {s['cpu_us']:,.0f}, {s['rps'] / version['rps']:.2f}×" for s in scans]
                print(f"| {round_ + 1} | " + " | ".join(cells) + " |", flush=True)
            if args.spy:
                figures, frames, total = spied(server, coupons, users, folder)
                print(f"\npy-spy --gil, {total:,} samples of the workers during a scan load at {figures['rps']:,.0f}/s")
                print("(py-spy's own sampling slows the load)\n")
                print("| share of the Python samples | frame |")
                print("|---:|---|")
                # The worker's own loop, down to the request's handling, is in every sample.
                inner = [(frame, count) for frame, count in frames.most_common() if count < OUTER * total]
                for frame, count in inner[: args.top]:
                    print(f"| {count / total:.1%} | `{frame}` |")
        finally:
            server.stop()
            SERVER.remove(server)


if __name__ == "__main__":
    main()

"""Racing real processes: threads released at one instant, and load kept up while something
is done to the servers."""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .client import Api, fresh_phone


def race(send: Callable[[Any], Any], arguments: Sequence[Any]) -> Counter:
    """Call `send(argument)` for every argument from threads released at one instant; count
    the statuses."""
    start = threading.Barrier(len(arguments))

    def at_the_gun(argument: Any) -> int:
        start.wait()
        return send(argument).status

    with ThreadPoolExecutor(len(arguments)) as pool:
        return Counter(pool.map(at_the_gun, arguments))


def spread(apis: Sequence[Api]) -> Callable[[], Api]:
    """Round-robin over several hosts' clients, as a load balancer would."""
    turn = itertools.cycle(apis)
    lock = threading.Lock()

    def next_api() -> Api:
        with lock:
            return next(turn)

    return next_api


def login_many(api: Api, n: int) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return [login.access_token for login in pool.map(lambda _: api.login(fresh_phone()), range(n))]


def answered_under_fire(
    api: Callable[[], Api], access_tokens: list[str], coupons: list[str], strike: Callable[[], None], seconds: float
) -> tuple[list[tuple[float, str]], Counter]:
    """Scan distinct coupons from one thread per access token while `strike()` runs: (when,
    coupon) of every 200, `when` taken as the answer arrived (time.monotonic), and how the
    others failed."""
    pending = iter(coupons)
    lock = threading.Lock()
    won: list[tuple[float, str]] = []
    failures: Counter = Counter()
    deadline = time.monotonic() + seconds

    def load(access_token: str) -> None:
        while time.monotonic() < deadline:
            with lock:
                coupon = next(pending)
            try:
                reply = api().scan(access_token, coupon, timeout=10)
            except (OSError, http.client.HTTPException, ValueError):
                # The server died under this request (a reset, a cut status line or body): it
                # was never answered 200.
                failures["dropped"] += 1
                time.sleep(0.01)
                continue
            if reply.status == 200:
                with lock:
                    won.append((time.monotonic(), coupon))
            else:
                failures[reply.status] += 1
                if reply.status >= 500:
                    time.sleep(0.01)

    threads = [threading.Thread(target=load, args=(t,)) for t in access_tokens]
    for thread in threads:
        thread.start()
    strike()
    for thread in threads:
        thread.join()
    return won, failures

"""Run a command and print its wall time and peak memory (max RSS) as JSON.

A separate small process, because a child forked straight from the bench would count the
bench's own memory, copied at fork, as its peak."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(
    json.dumps(
        {
            "seconds": time.perf_counter() - started,
            "peak_mb": usage.ru_maxrss / 1024,
            "exit": os.waitstatus_to_exitcode(status),
        }
    )
)

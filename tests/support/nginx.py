"""Debian's nginx in front of a live gunicorn, configured by the repository's template as the
README's "Production" section renders it (envsubst), with everything it writes in a folder of
the test's own."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .client import Api, HttpTransport
from .servers import ROOT, free_port
from .tools import debian_tool

TEMPLATE = ROOT / "deploy" / "nginx" / "rewards.conf.template"

# The http block conf.d/ files live in, as Debian's and the official image's nginx.conf give
# it, with every path the test's own.
MAIN_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    default_type application/octet-stream;
    include {folder}/conf.d/*.conf;
}}
"""


@dataclass
class Nginx:
    url: str
    port: int
    process: subprocess.Popen
    folder: Path

    @property
    def api(self) -> Api:
        return Api(HttpTransport(self.url))

    def error_log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)  # nginx's fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def render_template(listen: str, upstream: str) -> str:
    """The template through envsubst, given the two names as the README says."""
    result = subprocess.run(
        [debian_tool("envsubst"), "${NGINX_LISTEN} ${REWARDS_UPSTREAM}"],
        input=TEMPLATE.read_text(),
        env={"PATH": os.environ.get("PATH", ""), "NGINX_LISTEN": listen, "REWARDS_UPSTREAM": upstream},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def start_nginx(upstream: str, folder: Path) -> Nginx:
    """nginx on a free loopback port, proxying to `upstream` (host:port)."""
    nginx = debian_tool("nginx")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.d").mkdir()
    port = free_port()
    (folder / "conf.d" / "rewards.conf").write_text(render_template(f"127.0.0.1:{port}", upstream))
    # As root, nginx's workers would switch to a user that cannot enter the test's folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(MAIN_CONF.format(folder=folder, user=user))
    log = (folder / "stderr.log").open("wb")
    with log:
        process = subprocess.Popen(
            [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Nginx(f"http://127.0.0.1:{port}", port, process, folder)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{(folder / 'stderr.log').read_text()}")
        try:
            server.api.call("GET", "/version", timeout=2)
            return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"nginx did not answer within 15 s:\n{server.error_log()}")

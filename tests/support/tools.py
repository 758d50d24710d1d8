"""The Debian tools some tests need (a browser, nginx, envsubst, curl, pdffonts).

Where one is missing the test skips, saying which package installs it; under CI (the `CI`
variable set, as .ci/run and every CI service set it) it fails instead, so a run that proved
less than it should can never pass. .ci/run installs every package named here.
"""

from __future__ import annotations

import os
import shutil

import pytest

# command -> the Debian package that has it
PACKAGES = {
    "chromium": "chromium",
    "nginx": "nginx",
    "envsubst": "gettext-base",
    "curl": "curl",
    "pdffonts": "poppler-utils",
}
# nginx lives in /usr/sbin, which is not on every user's PATH.
_SEARCHED = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def debian_tool(command: str) -> str:
    """The path of `command`; skips the test (fails it under CI) when it is not installed."""
    path = shutil.which(command, path=_SEARCHED)
    if path is not None:
        return path
    message = f"{command} is not installed (apt-get install {PACKAGES[command]})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, and .ci/run installs it", pytrace=False)
    pytest.skip(message)

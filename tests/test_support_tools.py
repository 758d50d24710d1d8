"""The helper for Debian tools a test needs (tests/support/tools.py): a skip that names the
package on a developer's machine, a failure under CI, and .ci/run installing every one."""

from __future__ import annotations

import pytest

from .support import tools
from .support.servers import ROOT

MISSING = "rewards-no-such-tool"


def test_a_missing_tool_skips_naming_its_package(monkeypatch):
    monkeypatch.setitem(tools.PACKAGES, MISSING, "rewards-package")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install rewards-package"):
        tools.debian_tool(MISSING)


def test_a_missing_tool_fails_under_ci(monkeypatch):
    monkeypatch.setitem(tools.PACKAGES, MISSING, "rewards-package")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install rewards-package"):
        tools.debian_tool(MISSING)


def test_ci_installs_every_package_the_tests_name():
    script = (ROOT / ".ci" / "run").read_text()
    for command, package in tools.PACKAGES.items():
        assert f"{command}:{package}" in script, command

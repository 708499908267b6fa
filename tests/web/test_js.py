"""The page's JavaScript unit tests (``tests/web/*.test.mjs``), run by Node's own test
runner, so that the one test command (``.venv/bin/python -m pytest``) covers them too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: install it (`bash .ci/setup`)", pytrace=False)
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", "tests/web/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`node --test tests/web/` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )

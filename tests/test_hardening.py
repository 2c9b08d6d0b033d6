"""Issue 15 (hardening): each finding's crafted input, which failed before its fix.

No model is involved: these drive the engine, the CLI and the pages with hostile
or careless input (huge numbers, look-alike characters, wrong JSON types, busy
databases) and check for a clear message and nothing lost or counted twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copy_engine.errors import CopyLabError, InputError

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    """`python -m copy_engine ARGS` in a fresh process (the way a user runs it)."""
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "COPYLAB_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "copy_engine", *args], cwd=ROOT, capture_output=True, text=True, env=env)


def one_line_error(r: subprocess.CompletedProcess, needle: str) -> None:
    """Exit status 2 and exactly one stderr line containing `needle`, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr, r.stderr


# ---------------------------------------------------------------- 7. adapter names


@pytest.mark.parametrize("name", ["brand\n", "brand\r", "brand\n\n", "a" * 40 + "\n"])
def test_adapter_name_with_a_trailing_newline_is_refused(name):
    from copy_engine.adapters.registry import check_name

    with pytest.raises(InputError, match="adapter name"):
        check_name(name)
    assert check_name("brand-voice_2") == "brand-voice_2"

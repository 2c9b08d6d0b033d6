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

The copywriter pipeline has its own slider adapters, trained on top of the
copywriter fine-tune and named with the `copywriter-` prefix (`copywriter-tone`,
…): when the request's copywriter weight is on, the slider weights go to
them, and the few-shot ones (trained on the base model) stay off.

An adapter whose metadata says `"always_on": true` (or one named `copywriter`,
the house fine-tune) is not mixed: it is applied at 1.0 on every request. The
transformers backend merges it into the weights at load; the llama.cpp
backends load it and send scale 1.0 with every request.
"""

from __future__ import annotations

import logging
from pathlib import Path

from copy_engine.controls import AdapterWeights
from copy_engine.errors import InputError, ModelLoadError

log = logging.getLogger(__name__)

SLIDER_ADAPTERS = ("tone", "creative", "cta")  # AdapterWeights fields, in order
ON_COPYWRITER = "copywriter-"  # name prefix of the slider adapters trained on top of the copywriter fine-tune
CALM = "calm"  # adapter that a negative tone weight switches on (at the weight's magnitude)
USER_SLOT = "user"  # adapter name of the user's default adapter inside the model
COPYWRITER = "copywriter"  # the copywriter fine-tune: per request, 1 in the copywriter pipeline and 0 in the few-shot one
BEST_OF = "best-of"  # the copywriter continued on its own publishable copy: in its place on AdapterWeights.best_of
PREFERENCE = "preference"  # best-of, preference-tuned (copy_engine/preference.py): in its place on .preference
PREFERENCE_2 = "preference-2"  # its second preference round: in its place on .preference_2
# The copywriter's line of whole-adapter successors, in order: (adapter name, AdapterWeights field of its share)
CHAIN = ((BEST_OF, "best_of"), (PREFERENCE, "preference"), (PREFERENCE_2, "preference_2"))
PREFERENCE_SOCIAL = "preference-social"  # the first round's own round on social posts: a branch off it (BRANCHES)
PREFERENCE_AD = "preference-ad"  # the first round's own round on ad descriptions: a branch off it (BRANCHES)
PREFERENCE_HEADLINE = "preference-headline"  # the second round's own round on product headlines (BRANCHES)
PREFERENCE_AD_HEADLINE = "preference-ad-headline"  # the best-of continuation's own round on ad headlines (BRANCHES)
# Adapters trained from a link of CHAIN for one channel: (adapter name, AdapterWeights field of its share, the link
# whose place it takes on that share). Without its file the link it branches from writes, as before.
BRANCHES = ((PREFERENCE_SOCIAL, "preference_social", PREFERENCE), (PREFERENCE_AD, "preference_ad", PREFERENCE),
            (PREFERENCE_HEADLINE, "preference_headline", PREFERENCE_2),
            (PREFERENCE_AD_HEADLINE, "preference_ad_headline", BEST_OF))
# Adapters applied at 1.0 on every request even without the metadata flag. Not the copywriter: the few-shot
# pipeline (kept for comparison) runs in the same process with it off, so it is mixed per request.
ALWAYS_ON_NAMES: tuple[str, ...] = ()


def is_always_on(meta: dict) -> bool:
    """True for an adapter applied at full strength on every request (metadata flag or house name)."""
    return bool(meta.get("always_on")) or meta.get("name") in ALWAYS_ON_NAMES


def slider_scales(names, weights: AdapterWeights | None) -> dict[str, float]:
    """Adapter name -> scale for these slider weights, for every name in `names` (zeros included).

    tone/creative/cta take their slider weight; a negative tone switches the
    calm adapter on at that magnitude (when one is loaded); the user's default
    adapter rides at 1 when anything is on. On a copywriter request the same
    goes to the `copywriter-` named ones. All zero (or None) = base model.
    """
    scales = {n: 0.0 for n in names}
    if weights is None or weights.is_zero():
        return scales
    # Slider adapters learn on top of what runs beneath them: on the copywriter, its own set (when loaded).
    prefix = ON_COPYWRITER if weights.copywriter else ""
    for field in SLIDER_ADAPTERS:
        if prefix + field in scales:
            scales[prefix + field] = float(getattr(weights, field))
    if weights.tone < 0 and prefix + CALM in scales:
        # A trained calm adapter beats negating the tone adapter (measured:
        # task arithmetic at -1 gave degenerate copy); without one, fall
        # back to the negative tone weight.
        scales[prefix + CALM] = -float(weights.tone)
        if prefix + "tone" in scales:
            scales[prefix + "tone"] = 0.0
    if prefix + USER_SLOT in scales:  # the user's default adapter, in the pipeline it was trained for
        scales[prefix + USER_SLOT] = 1.0
    # The best-of continuation replaces the copywriter (a whole copywriter adapter, not a difference from it);
    # the slider adapters above ride on either. Each later link of CHAIN replaces the one before it in turn, on the
    # share its AdapterWeights field gives it; a link that is not loaded ends the chain there.
    carried, shares = 1.0, []
    for name, field in CHAIN:
        carried = carried * float(getattr(weights, field)) if name in scales else 0.0
        shares.append(carried)
    if COPYWRITER in scales:
        scales[COPYWRITER] = float(weights.copywriter) * (1.0 - shares[0])
    for (name, _), share, after in zip(CHAIN, shares, shares[1:] + [0.0]):
        if name in scales:
            scales[name] = float(weights.copywriter) * (share - after)
    for name, field, parent in BRANCHES:
        if name in scales and parent in scales:
            moved = scales[parent] * float(getattr(weights, field))
            scales[parent], scales[name] = scales[parent] - moved, moved
    return scales


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
        """Adapter name -> weight for these slider weights (see `slider_scales`)."""
        return slider_scales(self.names, weights)

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


def adapter_files(settings=None, model=None) -> tuple[dict[str, Path], dict[str, Path]]:
    """(mixed, always_on): adapter name -> .safetensors file for the shipped adapters and the user default.

    With `model` (transformers) every file is validated against it and one
    that does not fit is skipped with a log message, so the app still runs
    without it. Without a model (llama.cpp) only the metadata's base model
    is compared with the embedded model's sizes.
    """
    from copy_engine.adapters.registry import (
        SHIPPED_DIR,
        SHIPPED_NAMES,
        default_adapter,
        get_adapter,
        load_validated,
        read_metadata,
        trained_on,
    )
    from copy_engine.settings import get_settings

    settings = settings or get_settings()

    def usable(f: Path) -> bool:
        try:
            if model is not None:
                load_validated(f, model)
            else:
                _check_embedded_base(f)
        except (ModelLoadError, InputError) as exc:
            log.warning("adapter %s not used: %s", f.name, exc)
            return False
        return True

    mixed: dict[str, Path] = {}
    always: dict[str, Path] = {}
    for f in sorted(SHIPPED_DIR.glob("*.safetensors")):
        try:
            meta = read_metadata(f)
        except ModelLoadError:
            continue
        if is_always_on(meta):
            if usable(f):
                always[str(meta["name"])] = f
        elif f.stem in SHIPPED_NAMES and usable(f):
            mixed[f.stem] = f
    mixed = {n: mixed[n] for n in SHIPPED_NAMES if n in mixed}  # stable order: ids on a llama.cpp server follow it
    user = default_adapter(settings)
    if user:
        try:
            info = get_adapter(user, settings)
            if usable(Path(info.file)):
                # Trained on the copywriter: used on copywriter requests only, as its slider adapters are.
                slot = ON_COPYWRITER + USER_SLOT if trained_on(info.meta) == "copywriter" else USER_SLOT
                mixed[slot] = Path(info.file)
        except Exception as exc:  # noqa: BLE001 - a broken user file must not stop the app
            log.warning("default adapter %s not used: %s", user, exc)
    return mixed, always


def _check_embedded_base(f: Path) -> None:
    """ModelLoadError unless the adapter was trained for the embedded Gemma 3 270M (the only GGUF llama.cpp runs)."""
    from copy_engine.adapters.registry import read_metadata

    base = read_metadata(f)["base"]
    want = {"hidden_size": 640, "num_hidden_layers": 18, "vocab_size": 262144}
    for key, value in want.items():
        if int(base.get(key, -1)) != value:
            raise ModelLoadError(f"adapter {f.name} was made for another base model ({key} {base.get(key)} != {value})")


def merge_adapter(model, path: str | Path, scale: float = 1.0) -> None:
    """Add an adapter's update (scale * alpha / r * B @ A) into the Linear weights of `model`, in place."""
    import torch

    from copy_engine.adapters.registry import _KEY, _module_path, load_validated

    tensors, meta = load_validated(path, model)
    factor = scale * float(meta["lora"]["alpha"]) / int(meta["lora"]["r"])
    modules = dict(model.named_modules())
    with torch.no_grad():
        for key, a in tensors.items():
            m = _KEY.match(key)
            if m.group("ab") != "A":
                continue
            b = tensors[key.replace(".lora_A.", ".lora_B.")]
            lin = modules[_module_path(m.group("module"), modules)]
            lin = getattr(lin, "base_layer", lin)
            delta = factor * (b.float() @ a.float())
            lin.weight.add_(delta.to(device=lin.weight.device, dtype=lin.weight.dtype))


def make_mixer(loaded, settings=None) -> AdapterMixer | None:
    """A mixer with the shipped adapters (+ the user's default adapter) on `loaded.model`, or None.

    Always-on adapters are merged into `loaded.model` first. None when no
    mixed adapter files are present. A shipped adapter that does not fit the
    configured model (e.g. COPYLAB_MODEL is another model) is skipped with a
    log message, so the app still runs without it.
    """
    import torch

    files, always = adapter_files(settings, loaded.model)
    for name, f in always.items():
        if name in loaded.always_on:
            continue  # this model object already carries it
        merge_adapter(loaded.model, f)
        loaded.always_on = (*loaded.always_on, name)
        log.info("adapter %s merged into the weights (always on)", name)
    if not files:
        return None
    dtype = getattr(loaded.model, "dtype", None)
    with torch.no_grad():
        model, info = attach_adapters(loaded.model, files, dtype=dtype)
    model.to(loaded.device)
    return AdapterMixer(model, info)

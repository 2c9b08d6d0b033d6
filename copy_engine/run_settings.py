"""One generation request (`GenerateOptions`) and the typed record of a run (`RunSettings`): what
`generate()` records and what regenerating reads back.

Runs, favourites and bulk rows store these as a JSON object (`to_dict()`); that format is the
database's, so `to_dict()` keeps its keys and order, and `from_dict()` reads rows written by every
earlier version (missing keys take the values those versions used).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass

from copy_engine.controls import AdapterWeights, Controls, DecodingParams
from copy_engine.prompts import PROMPT_VERSION

NO_ADAPTERS = AdapterWeights(0.0, 0.0, 0.0)
ADAPTER_KEYS = tuple(f.name for f in fields(AdapterWeights))  # a run recorded before a field was added lacks it: 0
# Keys of the stored JSON, in the order every recorded run has them ("lambda" is the field `lam`).
STORED_KEYS = ("model", "device", "dtype", "backend", "channel", "controls", "decoding", "adapters", "adapters_loaded",
               "adapters_always_on", "lambda", "seed", "n", "overgenerate", "rerank", "postprocess", "audience",
               "brand_voice", "pipeline", "prompt_version")  # fmt: skip
# Request options recorded as they were asked for (GenerateOptions and RunSettings share these names).
REQUEST_KEYS = ("seed", "n", "overgenerate", "rerank", "postprocess", "audience", "brand_voice")


@dataclass(frozen=True)
class GenerateOptions:
    """Knobs of one request beyond the sliders (the evaluation harness switches them)."""

    n: int = 4  # variants to return (1-8)
    seed: int = 0  # sampling seed; same seed + settings = same output on one machine
    audience: str = ""  # who the copy speaks to, e.g. "busy parents"
    brand_voice: str = ""  # e.g. "warm, witty, no exclamation marks"
    overgenerate: int = 3  # K = overgenerate * n candidates are sampled and reranked
    rerank: bool = True  # False: keep the first N clean candidates (baseline)
    use_adapters: bool = True  # False: adapters off whatever the sliders say
    postprocess: bool = True  # False: raw first line of each sample, no cleanup, repairs, composition or de-duplication (baseline)
    decoding: DecodingParams | None = None  # overrides the sliders' decoding (e.g. library defaults for a baseline)
    # "copywriter": the fine-tuned copywriter with its short prompt; "fewshot": the base model with four
    # examples (the earlier pipeline, kept for comparison); "auto": copywriter when its adapter is loaded.
    pipeline: str = "auto"


@dataclass(frozen=True)
class RunSettings:
    """Everything that produced a generation result, enough to regenerate it."""

    channel: str = "headline"  # channel name (copy_engine.channels)
    controls: Controls = field(default_factory=Controls)  # the three sliders
    seed: int = 0  # sampling seed of the request
    n: int = 4  # variants asked for
    overgenerate: int = 3  # candidates sampled per variant before reranking
    rerank: bool = True  # MMR reranking on (False: first N clean candidates)
    postprocess: bool = True  # cleanup, repairs, composition (compose.py) and de-duplication on
    audience: str = ""  # who the copy speaks to
    brand_voice: str = ""  # the voice asked for
    pipeline: str = "auto"  # "copywriter" or "fewshot" once resolved; "auto" only for unknown old rows
    prompt_version: str = ""  # prompt template version (prompts.PROMPT_VERSION / COPYWRITER_PROMPT_VERSION)
    model: str = ""  # generator name, e.g. the GGUF or Hugging Face model
    device: str = ""  # where it ran (cpu, cuda, ...)
    dtype: str = ""  # numeric precision of the weights
    backend: str = ""  # llamacpp, transformers or http
    decoding: DecodingParams | None = None  # sampling settings used (None in rows that did not record them)
    adapters: AdapterWeights = NO_ADAPTERS  # adapter weights used (all 0 when adapters were off)
    adapters_loaded: tuple[str, ...] = ()  # adapters the generator had loaded
    adapters_always_on: tuple[str, ...] = ()  # adapters merged into every request
    lam: float = 0.5  # λ, the creativity share of the overall score (stored as "lambda")

    def to_dict(self) -> dict:
        """The stored JSON form: the same keys, in the same order, as every run recorded so far."""
        return {key: _plain(getattr(self, "lam" if key == "lambda" else key)) for key in STORED_KEYS}

    @classmethod
    def of(cls, generator, options: GenerateOptions, **chosen) -> "RunSettings":
        """Settings of a run: the generator that wrote it, the request's options, and what generate() chose
        (channel, controls, decoding, adapters, lam, pipeline, prompt_version)."""
        loaded, always_on = tuple(generator.adapter_names), tuple(generator.always_on)
        requested = {key: getattr(options, key) for key in REQUEST_KEYS}
        return cls(
            model=generator.name, device=generator.device, dtype=generator.dtype, backend=generator.backend,
            adapters_loaded=loaded, adapters_always_on=always_on, **requested, **chosen,
        )

    def favourite_dict(self, product_id: int, *, edited: bool, **extra) -> dict:
        """The settings JSON saved with a favourite: the run's settings plus the sliders at top level
        (the Favourites table and the favourites CSV read them there), the product, and whether it was edited."""
        return {**self.to_dict(), **asdict(self.controls), "product_id": product_id, **extra, "edited": edited}

    @classmethod
    def from_dict(cls, d: dict) -> "RunSettings":
        """Settings read back from a stored row; extra keys (favourites add a few) are ignored.

        Raises InputError when a recorded slider is out of range (Controls validates).
        """
        c = d.get("controls") or {}
        controls = Controls(float(c.get("sentiment", 0.0)), float(c.get("creativity", 0.5)), float(c.get("cta", 0.5)))
        decoding = d.get("decoding")
        if not (isinstance(decoding, dict) and set(decoding) == {f.name for f in fields(DecodingParams)}):
            decoding = None  # not recorded, or by a version with other sampling settings: shown, never reused
        return cls(
            channel=d.get("channel", "headline"),
            controls=controls,
            seed=int(d.get("seed", 0)),
            n=int(d.get("n", 4)),
            overgenerate=int(d.get("overgenerate", 3)),
            rerank=bool(d.get("rerank", True)),
            postprocess=bool(d.get("postprocess", True)),
            audience=d.get("audience", ""),
            brand_voice=d.get("brand_voice", ""),
            # Runs saved before the copywriter existed were few-shot: regenerate them the same way.
            pipeline=str(d.get("pipeline") or ("fewshot" if d.get("prompt_version") == PROMPT_VERSION else "auto")),
            prompt_version=str(d.get("prompt_version") or ""),
            model=str(d.get("model") or ""),
            device=str(d.get("device") or ""),
            dtype=str(d.get("dtype") or ""),
            backend=str(d.get("backend") or ""),
            decoding=DecodingParams(**decoding) if decoding else None,
            adapters=_adapters(d.get("adapters")),
            adapters_loaded=tuple(d.get("adapters_loaded") or ()),
            adapters_always_on=tuple(d.get("adapters_always_on") or ()),
            lam=float(d["lambda"] if d.get("lambda") is not None else controls.creativity),
        )

    def request(self) -> tuple[str, Controls, GenerateOptions]:
        """(channel, controls, options) that regenerate this run; decoding comes from the sliders again."""
        options = GenerateOptions(**{key: getattr(self, key) for key in REQUEST_KEYS}, pipeline=self.pipeline)
        return self.channel, self.controls, options


def _adapters(value) -> AdapterWeights:
    """Recorded adapter weights; anything unreadable counts as adapters off (only shown, never reused)."""
    merged = {**NO_ADAPTERS.to_dict(), **(value if isinstance(value, dict) else {})}
    try:
        return AdapterWeights(**{k: float(merged[k]) for k in ADAPTER_KEYS})
    except (TypeError, ValueError):
        return NO_ADAPTERS


def _plain(value):
    """A field as a JSON value: dataclasses as dicts, tuples as lists."""
    if is_dataclass(value):
        return asdict(value)
    return list(value) if isinstance(value, tuple) else value

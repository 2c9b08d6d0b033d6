"""The pipeline configurations compared by the evaluation.

Every configuration uses the same prompt (built from the sliders), the same
products and the same seeds; they differ only in the switches below.

- baseline: prompt only. Library-default decoding (temperature 1.0, top-p 1.0,
  top-k 50, repetition penalty 1.0, no n-gram blocking), the first N samples
  kept as they come (first line of each, no cleanup), no reranking, no adapters.
- rerank: baseline + the sliders' decoding + over-generation (3N candidates)
  and reward-based MMR reranking. Adapters off, no post-processing.
- adapters: baseline + the sliders' decoding + LoRA adapters mixed at the
  slider values. No reranking, no post-processing. With no adapters installed
  this measures the sliders' decoding alone (summary.json says which adapters
  were loaded).
- full: everything: sliders' decoding, adapters, post-processing (cleanup,
  de-duplication, resampling until N clean variants) and reranking; what the
  app does (the copywriter pipeline when its adapter is installed).
- fewshot: full on the base model with the four-example prompt (the pipeline
  before the copywriter fine-tune).
- copywriter: full on the copywriter fine-tune with its short prompt.

baseline, rerank and adapters use the few-shot prompt, as they always have.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from copy_engine.channels import get_channel
from copy_engine.controls import DecodingParams
from copy_engine.errors import InputError

# transformers' generate() defaults: what "no tuning" means for the baseline.
LIBRARY_DECODING = {"temperature": 1.0, "top_p": 1.0, "top_k": 50, "repetition_penalty": 1.0, "no_repeat_ngram_size": 0}


@dataclass(frozen=True)
class EvalConfig:
    """Switches of one pipeline configuration."""

    name: str
    description: str
    rerank: bool
    use_adapters: bool
    postprocess: bool
    library_decoding: bool  # True: LIBRARY_DECODING instead of the sliders' mapping
    pipeline: str = "fewshot"  # GenerateOptions.pipeline: fewshot, copywriter or auto (what the app runs)

    def to_dict(self) -> dict:
        return asdict(self)

    def options(self, channel: str, n: int, seed: int):
        """GenerateOptions for one product under this configuration."""
        from copy_engine.generate import GenerateOptions

        decoding = None
        if self.library_decoding:
            decoding = DecodingParams(**LIBRARY_DECODING, max_new_tokens=get_channel(channel).max_new_tokens)
        return GenerateOptions(
            n=n,
            seed=seed,
            rerank=self.rerank,
            use_adapters=self.use_adapters,
            postprocess=self.postprocess,
            decoding=decoding,
            pipeline=self.pipeline,
        )


CONFIGS: dict[str, EvalConfig] = {
    c.name: c
    for c in (
        EvalConfig(
            "baseline",
            "prompt only, library-default decoding, no rerank/adapters/post-processing",
            False,
            False,
            False,
            True,
        ),
        EvalConfig("rerank", "+ slider decoding, over-generation and reward reranking", True, False, False, False),
        EvalConfig("adapters", "+ slider decoding and LoRA adapters at the slider values", False, True, False, False),
        EvalConfig(
            "full", "slider decoding + adapters + post-processing + reranking (the app)", True, True, True, False, "auto"
        ),
        EvalConfig("fewshot", "the full pipeline on the base model with four examples", True, True, True, False),
        EvalConfig(
            "copywriter", "the full pipeline on the copywriter fine-tune", True, True, True, False, "copywriter"
        ),
    )
}


# Run when none are named: the ablation of the app's pipeline. fewshot and copywriter compare the two pipelines.
DEFAULT_CONFIGS = ("baseline", "rerank", "adapters", "full")


def parse_configs(text: str) -> list[str]:
    """Configuration names from 'baseline,rerank,...' (order kept, baseline always first); InputError if unknown."""
    names = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not names:
        raise InputError(f"no configurations given; choose from: {', '.join(CONFIGS)}")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise InputError(f"unknown configuration(s): {', '.join(unknown)}; choose from: {', '.join(CONFIGS)}")
    names = list(dict.fromkeys(names))
    # Differences are reported against the baseline, so it is always run.
    return ["baseline"] + [n for n in names if n != "baseline"]

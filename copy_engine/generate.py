"""The public `generate()`: product + channel + sliders -> N scored, distinct variants.

Flow: controls mapping -> prompt -> K candidates sampled in one batch (more
rounds if cleaning leaves too few) -> post-processing and repairs (descriptions
also composed from the batch's clean sentences; headlines and email subjects the
reader doubts also cut back before the doubtful clause) -> scorers -> MMR
reranking -> N variants, each with scores, explanations and flags.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Sequence

from copy_engine.channels import get_channel
from copy_engine.compose import COMPOSED_CHANNELS, compose
from copy_engine.controls import AdapterWeights, Controls, map_controls
from copy_engine.errors import InputError
from copy_engine.postprocess import clean_one, dedupe, ends_sentence, first_line
from copy_engine.product import Product
from copy_engine.repair import repair
from copy_engine.prompts import (
    COPYWRITER_PROMPT_VERSION,
    PROMPT_VERSION,
    build_copywriter_prompt,
    build_prompt,
    cta_label,
)
from copy_engine.run_settings import NO_ADAPTERS, GenerateOptions, RunSettings

if TYPE_CHECKING:  # scoring pulls in numpy; Variant only names these types
    from copy_engine.scoring import ScoreCard
    from copy_engine.scoring.flags import Flag

PIPELINES = ("auto", "copywriter", "fewshot")

MAX_VARIANTS = 8
# New tokens the first round may ask for: 24 ad headlines (288) or 14 headlines (448) fit; 4 descriptions get 13
# drafts of 48 tokens, whose clean sentences compose them (channels.py), 4 social posts 12 of 50, 4 ad descriptions
# 13 of 40. Was 480 (10, 9 and 12): read 47c (20 unseen products, every candidate labelled blind by two readers)
# counted shown social posts usable in 23 and 25 of 80 against 16 and 19, descriptions 15 and 17 against 13 and
# 16; a request of either takes about a fifth longer (descriptions on 20 products: 5.0 -> 6.2 s each). Descriptions,
# social posts and ad descriptions now draw 24 in their first round all the same (Channel.first_drafts: reads 73F-86).
TOKEN_BUDGET = 624
MAX_ROUNDS = 4  # sampling rounds before giving up on filling N
# Channels whose near-duplicate drafts stay in the pool for the reranker to choose the best of, instead of the
# first sampled (one of each group is shown: rerank.mmr_select's `near`). Descriptions: a draft and its twin differ
# in a word or two, and that is often where one garbles ("are a 2 piece bundle" / "are 2 piece bundles"). Blind
# reads 75 and 76 (the shown sets of 40 unseen products, two new readers each): 37, 39 -> 37, 40 and 31, 36 ->
# 38, 41 usable of 80; 9 products better, 4 worse; top pick 43 -> 46 of 80 labels (README "Short descriptions").
# Social posts: read 80 (20 more, two new readers; 6 sets changed): 26, 28 -> 29, 31 of 80, 3 better, none worse.
# Ad descriptions: read 81 (20 more; 13 sets changed): 43, 42 -> 45, 44 of 80, 3 better, 1 worse; top pick 21 -> 27
# of 40 labels.
TWIN_CHANNELS = frozenset({"description", "social", "ad_description"})
BEST_OF_ROUNDS = 2  # sampling rounds of the best-of continuation before the copywriter writes the rest
MAX_BATCH = 24  # samples per batched call: below the server's 32 slots (at 32 a seed stopped reproducing across products)


@dataclass
class Variant:
    """One piece of copy ready to show."""

    text: str
    channel: str
    scores: dict = field(default_factory=dict)  # name -> value in [0, 1]
    explanations: dict = field(default_factory=dict)  # name -> one sentence
    flags: list[Flag] = field(default_factory=list)  # flagged spans the copywriter must check

    def to_dict(self) -> dict:
        """JSON form (flags as dicts: start, end, text, kind, reason)."""
        return asdict(self)

    @classmethod
    def scored(cls, text: str, channel: str, card: ScoreCard) -> "Variant":
        """A variant from its text and its scoring.ScoreCard."""
        d = card.to_dict()  # plain floats for the scores (numpy values do not serialise)
        return cls(text, channel, d["scores"], d["explanations"], list(card.flags))

    def run_row(self, rank: int) -> dict:
        """The row `store.runs.record_run` keeps for this variant (rank 1 = shown first)."""
        return {"text": self.text, "scores": self.scores, "flags": [f.to_dict() for f in self.flags], "rank": rank}

    @classmethod
    def from_dict(cls, d: dict) -> "Variant":
        """A variant from its JSON form or a stored row (favourites, bulk results); missing parts are empty."""
        from copy_engine.scoring.flags import Flag

        flags = [Flag.from_dict(f) for f in d.get("flags") or [] if isinstance(f, dict)]
        scores, explanations = dict(d.get("scores") or {}), dict(d.get("explanations") or {})
        return cls(d.get("text") or "", d.get("channel") or "", scores, explanations, flags)


@dataclass
class GenerationResult:
    """Variants plus the full settings that produced them (enough to regenerate)."""

    variants: list[Variant]
    settings: RunSettings
    candidates: int  # cleaned candidates considered by the reranker
    seconds: float  # wall time of the whole request
    sampled: int = 0  # raw samples drawn from the model
    clean_unflagged: int = 0  # cleaned candidates with no invented or banned detail (raw yield = this / sampled)
    pool: list = field(default_factory=list)  # every scored candidate as (text, ScoreCard), in sampling order

    def to_dict(self) -> dict:
        return {
            "variants": [v.to_dict() for v in self.variants],
            "settings": self.settings.to_dict(),
            "candidates": self.candidates,
            "seconds": round(self.seconds, 3),
        }


def generate(
    product: Product,
    channel: str,
    controls: Controls,
    options: GenerateOptions = GenerateOptions(),
    *,
    generator=None,
    embedder=None,
    ctr_predictor=None,
    judge=None,
    reader=None,
    existing: Sequence[str] = (),
    banned_words: Sequence[str] | None = None,
    progress=None,
) -> GenerationResult:
    """Generate `options.n` scored variants for one product and channel.

    generator/embedder/ctr_predictor/judge (the usable-copy judge) default to
    the process-wide real ones; tests pass fakes. reader None: the copywriter model's reader when the generator
    is a real model (copy_engine.scoring.reader.reader_for). `existing` is copy already saved for this product
    (novelty is judged against it). `progress(fraction, message)` is called
    as work advances (the UI shows it).
    """
    t0 = time.perf_counter()
    get_channel(channel)
    if not 1 <= options.n <= MAX_VARIANTS:
        raise InputError(f"number of variants must be between 1 and {MAX_VARIANTS}, got {options.n}")
    report = progress or (lambda f, m: None)
    mapping = map_controls(controls, channel)
    if generator is None:
        from copy_engine.generator import get_default_generator

        report(0.02, "Loading the model (first time only)…")
        generator = get_default_generator()
    pipeline = resolve_pipeline(options.pipeline, generator)
    adapters = mapping.adapters if options.use_adapters else None
    if pipeline == "copywriter":
        # The sliders act through the prompt's tone/CTA wishes (learned from the deck), decoding and the
        # copywriter's own slider adapters (map_controls: copywriter_adapters; the few-shot ones stay off).
        mixed = mapping.copywriter_adapters
        plain = replace(mixed, tone=0.0, creative=0.0, cta=0.0)  # the same writer, no slider adapters
        adapters = mapping.copywriter_adapters if options.use_adapters else plain
        prompt = build_copywriter_prompt(product, channel, controls, options.audience, options.brand_voice)
    else:
        prompt = build_prompt(product, channel, controls, options.audience, options.brand_voice)
    decoding = options.decoding or mapping.decoding_for(pipeline == "copywriter")
    k = options.n * max(1, options.overgenerate) if options.rerank else options.n

    candidates: list[str] = []
    confidence: dict[str, float | None] = {}  # candidate -> the sampler's confidence in the sample it came from
    sampled = 0
    ask = cta_label(controls.cta) != "none"
    pooled: list[str] | None = None  # the candidates as the reranker gets them (composed long copy included)
    # near-duplicates of the drafts, kept for the reranker to choose among (None: dropped, as on most channels)
    twins: dict[str, float | None] | None = {} if options.postprocess and channel in TWIN_CHANNELS else None
    for round_ in range(MAX_ROUNDS):
        # The first round is sized to bring k candidates at the channel's usual yield; later rounds (another
        # prompt pass and another batch tail each) only fill what is still missing of the n shown: drafts, and the
        # pool after composition too, as composed variants retire the drafts they nearly repeat (fewer than n left).
        if round_ == 0:
            batch = first_batch(k, options.n, channel, wide=options.rerank)
        else:
            missing = options.n - len(candidates)
            if missing <= 0:  # enough drafts: count what composition leaves (kept for after the loop)
                pooled = with_composed(candidates, product, channel, options, banned_words, ask)
                missing = options.n - len(pooled)
            batch = retry_batch(missing, channel)
        if batch <= 0:
            break
        pooled = None
        report(0.1 + 0.6 * round_ / MAX_ROUNDS, f"Writing {batch} candidates…")
        samples = generator.complete_scored(
            prompt, batch, decoding, seed=options.seed * 1000 + round_, adapter_weights=round_adapters(adapters, round_)
        )
        sampled += len(samples)
        if options.postprocess:
            # all of them (more choice for the reranker at no extra sampling), prices quoted exactly and
            # invented sentences of long copy removed (copy_engine/repair.py)
            new = list(clean_samples(samples, product, channel, already=candidates, twins=twins).items())
        else:  # every first line as sampled, repeats included
            new = [(t, s.confidence) for s in samples if (t := first_line(s.text))][: k - len(candidates)]
        for text, conf in new:
            confidence.setdefault(text, conf)
            candidates.append(text)
    candidates = pooled if pooled is not None else with_composed(candidates, product, channel, options, banned_words, ask)
    if twins:
        for text in [t for t in twins if t not in candidates and ends_sentence(t)]:
            confidence.setdefault(text, twins[text])
            candidates.append(text)
    if not candidates:
        raise InputError(
            "the model produced no usable copy for this product; add features or a description and try again"
        )

    from copy_engine.scoring import HARD_KINDS, score_variants

    if reader is None:
        from copy_engine.scoring.reader import reader_for

        reader = reader_for(generator)
    if options.postprocess and reader is not None:
        # short copy also cut back before the clause the reader doubts (copy_engine/cuts.py); a cut keeps the
        # confidence of the sample it came from
        for cut, parent in cuts_for(candidates, product, channel, reader).items():
            confidence.setdefault(cut, confidence.get(parent))
            candidates.append(cut)
    report(0.75, f"Scoring {len(candidates)} candidates…")
    kw = dict(existing=existing, embedder=embedder, ctr_predictor=ctr_predictor, banned_words=banned_words, judge=judge,
              reader=reader)
    cards = score_variants(candidates, product, channel, controls, confidence=[confidence.get(t) for t in candidates], **kw)
    unflagged = sum(1 for c in cards if not any(f.kind in HARD_KINDS for f in c.flags))
    if options.rerank:
        from copy_engine.rerank import diversity_weight_for, mmr_select

        picked = mmr_select(
            candidates, cards, None, options.n, diversity_weight_for(mapping.lam), near=twins is not None
        )
    else:
        picked = list(range(min(options.n, len(candidates))))
    texts = [candidates[i] for i in picked]
    # Re-score the chosen set: diversity is a property of what is shown together.
    if options.rerank:
        final = score_variants(texts, product, channel, controls, confidence=[confidence.get(t) for t in texts], **kw)
    else:
        final = [cards[i] for i in picked]
    variants = [Variant.scored(text, channel, card) for text, card in zip(texts, final)]
    report(1.0, "Done")
    version = COPYWRITER_PROMPT_VERSION if pipeline == "copywriter" else PROMPT_VERSION
    settings = RunSettings.of(
        generator, options, channel=channel, controls=controls, decoding=decoding, adapters=adapters or NO_ADAPTERS,
        lam=mapping.lam, pipeline=pipeline, prompt_version=version,
    )
    seconds, pool = time.perf_counter() - t0, list(zip(candidates, cards))
    return GenerationResult(variants, settings, len(candidates), seconds, sampled, unflagged, pool)


def with_composed(drafts: list[str], product: Product, channel: str, options: GenerateOptions, banned_words, ask):
    """The drafts plus, for long copy, their clean sentences put together (copy_engine/compose.py); composed first:
    a draft that a composed variant nearly repeats goes, not the variant, which is clean."""
    if not (options.postprocess and channel in COMPOSED_CHANNELS):
        return list(drafts)
    composed = compose(drafts, product, channel, 2 * options.n, banned_words or (), ask=ask)
    # Long copy is whole sentences: a candidate left open is cut off ("… It has a no-assembly finish and weighs",
    # once shown in docs/samples.md). None of the 3,154 deck descriptions ends so; the reads' 2 did, both unusable.
    return [t for t in composed + dedupe(drafts, against=composed) if ends_sentence(t)]


def round_adapters(adapters: AdapterWeights | None, round_: int) -> AdapterWeights | None:
    """The adapters of one sampling round: from the third round on, the copywriter instead of its best-of
    continuation, which writes fewer different drafts (README, read 64): on a product with few facts it can
    repeat itself until the rounds run out, and the copywriter's drafts fill the set instead."""
    if adapters is None or not adapters.best_of or round_ < BEST_OF_ROUNDS:
        return adapters
    return replace(adapters, best_of=0.0)


def cuts_for(candidates: Sequence[str], product: Product, channel: str, reader) -> dict[str, str]:
    """Clause cuts of the candidates the reader doubts (copy_engine/cuts.py) -> the candidate each was cut from;
    none on channels without cuts or when the reader fails (its readings are kept: scoring reads them again free)."""
    from copy_engine.cuts import CUT_CHANNELS, clause_cuts
    from copy_engine.errors import ModelLoadError
    from copy_engine.scoring.reader import reading_prompt

    if channel not in CUT_CHANNELS or not candidates:
        return {}
    try:
        readings, weakest = reader.read_with_weakest(reading_prompt(product, channel), candidates)
    except ModelLoadError:
        return {}
    return clause_cuts(candidates, readings, weakest, channel)


def clean_samples(
    samples: Sequence, product: Product, channel: str, already: Sequence[str] = (), twins: dict | None = None
) -> dict:
    """Cleaned, repaired and new candidates of one round's samples -> the confidence of the sample each came from.

    A text that several samples led to keeps its first sample's confidence; near-duplicates of `already` and of
    each other go (postprocess.dedupe keeps the first). With `twins`, those near-duplicates are kept there
    instead (repaired, text -> confidence): the reranker then shows the best of each group (TWIN_CHANNELS).
    """
    cleaned: dict[str, float | None] = {}
    for s in samples:
        c = clean_one(s.text, channel, product.name, product.features)
        if c is not None:
            cleaned.setdefault(c.text, s.confidence)
    firsts = dedupe(list(cleaned), against=list(already))
    repaired: dict[str, float | None] = {}
    for text in firsts:
        repaired.setdefault(repair(text, product, channel), cleaned[text])
    kept = {t: repaired[t] for t in dedupe(list(repaired), against=list(already))}
    if twins is not None:  # every repaired draft that dedupe dropped, in sample order
        first = set(firsts)
        for text in cleaned:
            if text not in first:
                repaired.setdefault(repair(text, product, channel), cleaned[text])
        for t, conf in repaired.items():
            if t not in kept and t not in already:
                twins.setdefault(t, conf)
    return kept


def first_batch(k: int, n: int, channel: str, wide: bool = True) -> int:
    """Samples drawn in the first round for k candidates (n shown): k over the channel's expected yield, within
    MAX_BATCH and, for long copy, within TOKEN_BUDGET new tokens (never fewer than n, nor, when `wide`, than the
    channel's first_drafts, within MAX_BATCH). Not wide without a reranker: it shows the first n that pass, so
    more drafts would only cost time."""
    ch = get_channel(channel)
    want = min(MAX_BATCH, max(k, math.ceil(k / ch.expected_yield)))
    drafts = min(MAX_BATCH, ch.first_drafts) if wide else 0
    return max(n, drafts, min(want, TOKEN_BUDGET // ch.max_new_tokens))


def retry_batch(missing: int, channel: str) -> int:
    """Samples drawn in a later round for `missing` shown variants (0 when none is missing)."""
    if missing <= 0:
        return 0
    return min(MAX_BATCH, math.ceil(2 * missing / get_channel(channel).expected_yield))


def resolve_pipeline(pipeline: str, generator) -> str:
    """The pipeline a request runs: "auto" is the copywriter when the generator has it loaded, else few-shot."""
    if pipeline not in PIPELINES:
        raise InputError(f"unknown pipeline {pipeline!r}; choose one of: {', '.join(PIPELINES)}")
    has = "copywriter" in generator.adapter_names
    if pipeline == "copywriter" and not has:
        raise InputError("the copywriter pipeline needs the copywriter adapter (copy_engine/adapters/shipped/)")
    if pipeline == "auto":
        return "copywriter" if has else "fewshot"
    return pipeline

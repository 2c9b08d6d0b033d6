"""Scores for generated copy, each in [0, 1] with a one-sentence explanation, plus flagged spans.

One module per scorer (sentiment, readability, cta, novelty, diversity,
faithfulness, banned, channel_fit, predicted_ctr); this module combines them:

    conversion = weighted mean of predicted CTR, faithfulness, CTA, readability,
                 channel fit and tone match              (weights: weights.ConversionWeights)
    creativity = weighted mean of novelty and diversity   (weights: weights.CreativityWeights)
    overall    = ((1 - λ) * conversion + λ * creativity) * penalties for flags
                 * quality * (x0.2 when the usable-copy judge rejects it: quality < 0.5)
                 * reading ** 2 (the copywriter model's own reading of it: scoring/reader.py)
                 * (x0.5 for a headline or email subject that never says what the product is: scoring/product_kind.py)
                 * min(1, confidence / 0.7) on short channels, squared on headlines (the sampler's confidence)
                 * (x0.5 for an ad description that says a content word twice: scoring/repetition.py)
                 * (1 - length / limit) ** brevity on long copy (channels.Channel.brevity: descriptions and social
                   posts, where every sentence more is a chance of a garbled fact)

λ follows the creativity slider (copy_engine.controls.map_controls(...).lam). `quality` is the usable-copy
judge's (copy_engine/scoring/judge.py) probability that a copywriter would publish the variant as it stands;
a rejected variant sinks whatever its predicted CTR, and its explanation gives the judge's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from copy_engine.channels import get_channel
from copy_engine.controls import Controls, map_controls
from copy_engine.errors import InputError, ModelLoadError
from copy_engine.product import Product
from copy_engine.scoring.banned import find_banned
from copy_engine.scoring.channel_fit import score_channel_fit
from copy_engine.scoring.cta import find_false_urgency, score_cta
from copy_engine.scoring.diversity import distinctness, explain_distinctness, set_diversity
from copy_engine.scoring.faithfulness import find_unsupported, score_faithfulness
from copy_engine.scoring.flags import FLAG_KINDS, HARD_KINDS, Flag, resolve_overlaps
from copy_engine.scoring.judge import THRESHOLD as JUDGE_THRESHOLD
from copy_engine.scoring.judge import facts_lines
from copy_engine.scoring.novelty import product_line, references, score_novelty
from copy_engine.scoring.predicted_ctr import explain_ctr, predict_percentiles
from copy_engine.scoring.product_kind import KIND_CHANNELS, says_what_it_is
from copy_engine.scoring.readability import score_readability
from copy_engine.scoring.repetition import repeated_word
from copy_engine.scoring.sentiment import score_sentiment
from copy_engine.scoring.weights import (
    CONVERSION,
    CREATIVITY,
    PENALTIES,
    ConversionWeights,
    CreativityWeights,
    Penalties,
)

__all__ = [
    "FLAG_KINDS",
    "SCORE_KEYS",
    "ConversionWeights",
    "CreativityWeights",
    "Flag",
    "Penalties",
    "ScoreCard",
    "score_one",
    "score_variants",
    "set_diversity",
]

log = logging.getLogger(__name__)
READING_POWER = 2  # overall is multiplied by the reader's probability to this power
# A reading under this flags the reader's weakest word ("doubtful"). On read 61's 1,033 labelled candidates, 85 % of
# those under 0.3 were unusable and 16 % of the usable ones fell under it (under 0.5: 78 % and 30 %); the flagged
# word overlapped the readers' own "bad" words in 75 % of the unusable ones.
DOUBT_BELOW = 0.3

SCORE_KEYS = (
    "sentiment",
    "tone_match",
    "readability",
    "cta",
    "novelty",
    "diversity",
    "faithfulness",
    "channel_fit",
    "predicted_ctr",
    "quality",
    "reading",
    "confidence",
    "conversion",
    "creativity",
    "overall",
)

# Labels used when explaining the combined scores.
_LABELS = {
    "predicted_ctr": "predicted clicks",
    "faithfulness": "sticking to the facts",
    "cta": "call to action",
    "readability": "readability",
    "channel_fit": "length",
    "tone_match": "tone",
    "novelty": "fresh wording",
    "diversity": "difference from the other variants",
}
# Reason shown in the overall explanation of a variant the judge rejects.
_REJECTED = {
    "off-product": "it seems to be about a different kind of product",
    "invented fact": "it states something the facts don't say",
    "nonsense": "it doesn't make sense as copy",
    "fragment": "it stops mid-thought",
    "filler": "it is generic filler",
    "wrong channel": "it doesn't fit the channel",
}


@dataclass
class ScoreCard:
    """All scores of one variant, their explanations and its flagged spans."""

    scores: dict[str, float]
    explanations: dict[str, str]
    flags: list[Flag]
    # The variant's embedding, kept so reranking needs no second encode; not serialised.
    embedding: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def overall(self) -> float:
        return self.scores["overall"]

    def to_dict(self) -> dict:
        """JSON-serialisable form: {"scores": ..., "explanations": ..., "flags": [...]}."""
        return {
            "scores": {k: float(v) for k, v in self.scores.items()},
            "explanations": dict(self.explanations),
            "flags": [f.to_dict() for f in self.flags],
        }


def _read(reader, product, channel, texts):
    """The reader's (probabilities, weakest words) (copy_engine/scoring/reader.py), or None without a reader or
    when it fails."""
    if reader is None:
        return None
    from copy_engine.scoring.reader import reading_prompt

    try:
        return reader.read_with_weakest(reading_prompt(product, channel), texts)
    except ModelLoadError as exc:
        log.warning("variants scored without the reader: %s", exc)
        return None


def _doubtful(text: str, reading: float, span) -> Flag | None:
    """A flag on the reader's weakest word of copy it reads as likely unusable (under DOUBT_BELOW; else None)."""
    if span is None or reading >= DOUBT_BELOW:
        return None
    start, end = span
    why = f"The copywriter model reads this word as the weakest part of the copy (usable as it stands: {reading:.0%})."
    return Flag(start, end, text[start:end], "doubtful", why + " Check how it is used.")


def _judge(judge, product, channel, texts, text_emb, line_emb, feats_emb):
    """(verdicts, None) from the usable-copy judge, or (None, why) when its weights cannot be loaded."""
    from copy_engine.errors import CopyLabError

    try:
        if judge is None:
            from copy_engine.scoring.judge import get_default_judge

            judge = get_default_judge()
        return judge.judge(product, channel, texts, text_emb=text_emb, line_emb=line_emb, feats_emb=feats_emb), None
    except CopyLabError as exc:
        return None, str(exc)


# Channels whose overall follows the sampler's confidence: the short ones, where blind reads found it picks
# better copy (reads 22 and 24, README "Sampler confidence"); on descriptions it told usable from unusable no
# better than chance, and social posts were not measured.
CONFIDENCE_CHANNELS = ("ad_headline", "headline", "email_subject", "ad_description")
# Channels whose overall is halved for a content word said twice (scoring/repetition.py): ad descriptions, where
# it ranked more usable copy into the top four; headlines and email subjects did not gain.
REPEAT_CHANNELS = ("ad_description",)
# Power of confidence / confident per channel (1 where not named). Product headlines follow it more strongly:
# among shown headlines confidence still told usable from not (read 30: 17 of 27 usable at 0.6 or more, 16 of
# 52 below), squared it ranked the third label round better (0.700 -> 0.725 of pairs), and blind read 31 found
# it slightly better (usable 38 and 37 of 80 against 36 and 36; preferred 5 and 5 against 3 and 3).
CONFIDENCE_POWER: dict[str, float] = {"headline": 2.0}


def _confidence(value: float | None) -> tuple[float, str]:
    """(score, explanation) for the sampler's confidence in a candidate; 1.0 when it was not sampled here."""
    if value is None:
        return 1.0, "Not sampled in this run (edited, saved or composed copy): no sampler confidence; not counted."
    return float(value), (
        f"The model gave the words it chose {value:.0%} probability on average (geometric mean per token); "
        "garbled or misread lines are usually the ones it guessed."
    )


def _weighted(parts: dict[str, float], weights: dict[str, float], what: str) -> tuple[float, str]:
    """(weighted mean over the parts with positive weight, a sentence naming its strongest and weakest part)."""
    used = {k: w for k, w in weights.items() if w > 0}
    value = sum(parts[k] * w for k, w in used.items()) / sum(used.values())
    best = max(used, key=lambda k: parts[k])
    worst = min(used, key=lambda k: parts[k])
    if parts[best] - parts[worst] < 0.05:
        return value, f"{what}: {', '.join(_LABELS[k] for k in used)} all score about the same."
    return value, f"{what}: strongest on {_LABELS[best]}, weakest on {_LABELS[worst]}."


def _score(
    texts: Sequence[str],
    product: Product,
    channel: str,
    controls: Controls,
    *,
    context_texts: Sequence[str],
    existing: Sequence[str],
    embedder,
    ctr_predictor,
    banned_words: Sequence[str] | None,
    judge=None,
    reader=None,
    conversion_weights: ConversionWeights = CONVERSION,
    creativity_weights: CreativityWeights = CREATIVITY,
    penalties: Penalties = PENALTIES,
    confidence: Sequence[float | None] | None = None,
) -> list[ScoreCard]:
    ch = get_channel(channel)
    if isinstance(texts, str) or any(not isinstance(t, str) for t in texts):
        raise InputError("variants to score must be a list of strings")
    texts = list(texts)
    if not texts:
        return []
    confidence = list(confidence) if confidence is not None else [None] * len(texts)
    if len(confidence) != len(texts):
        raise ValueError(f"{len(texts)} variants but {len(confidence)} confidences")
    context = [t for t in context_texts if isinstance(t, str) and t.strip()]
    lam = map_controls(controls, channel).lam
    if banned_words is None:
        from copy_engine.settings import Settings

        banned_words = Settings.from_env().banned_words
    if embedder is None:
        from copy_engine.embeddings import get_embedder

        embedder = get_embedder()

    refs = references(product, existing)
    about = [product_line(product)] + [r for label, r in refs if label != "copy already saved"]
    _, judge_feats = facts_lines(product)
    # One encode call for variants, context, references, the product itself and
    # its features (for the judge): this runs on every Generate click.
    emb = np.asarray(embedder.encode(texts + context + [r for _, r in refs] + about + [judge_feats]), dtype=np.float32)
    n, m = len(texts), len(context)
    shown = emb[: n + m]
    ref_emb, ref_labels = emb[n + m : n + m + len(refs)], [label for label, _ in refs]
    about_emb = emb[n + m + len(refs) : -1]
    relevance = (emb[:n] @ about_emb.T).max(axis=1)
    verdicts, judge_missing = _judge(judge, product, channel, texts, emb[:n], about_emb[0], emb[-1])
    reading, weakest = _read(reader, product, channel, texts) or (None, None)
    distinct = distinctness(shown)[:n]
    set_div = set_diversity(shown)
    ctr, ctr_missing = predict_percentiles(texts, ctr_predictor)
    facts = product.facts_text()

    cw = dict(vars(conversion_weights))
    cw["cta"] *= 2.0 * float(controls.cta)  # the CTA slider decides how much a call to action counts
    if ctr_missing:
        cw["predicted_ctr"] = 0.0
    crw = dict(vars(creativity_weights))

    cards = []
    for i, text in enumerate(texts):
        s: dict[str, float] = {}
        e: dict[str, str] = {}
        s["sentiment"], e["sentiment"], s["tone_match"], e["tone_match"] = score_sentiment(text, controls.sentiment)
        s["readability"], e["readability"] = score_readability(text, ch.name, ch.label)
        s["cta"], e["cta"] = score_cta(text)
        flags = resolve_overlaps(
            find_unsupported(text, facts) + find_banned(text, banned_words) + find_false_urgency(text, facts)
        )
        s["faithfulness"], e["faithfulness"] = score_faithfulness(flags)
        s["channel_fit"], e["channel_fit"] = score_channel_fit(text, ch)
        s["novelty"], e["novelty"] = score_novelty(emb[i], ref_emb, ref_labels)
        s["diversity"] = float(distinct[i])
        e["diversity"] = explain_distinctness(s["diversity"], n + m - 1, set_div)
        s["predicted_ctr"] = float(ctr[i])
        e["predicted_ctr"] = explain_ctr(s["predicted_ctr"], ctr_missing)
        if verdicts is None:
            s["quality"], e["quality"] = 1.0, f"No usable-copy judgement ({judge_missing}); not counted."
        else:
            s["quality"], e["quality"] = verdicts[i].quality, verdicts[i].explanation
        rejected = verdicts is not None and verdicts[i].quality < JUDGE_THRESHOLD
        if reading is None:
            s["reading"], e["reading"] = 1.0, "Not read by the copywriter model here (no reader); not counted."
        else:
            s["reading"] = float(reading[i])
            e["reading"] = f"The copywriter model reads it as usable as it stands with {reading[i]:.0%} probability."
            doubt = _doubtful(text, reading[i], weakest[i])
            if doubt is not None:
                e["reading"] += f' The word it doubts most: "{doubt.text}".'
                flags = resolve_overlaps(flags + [doubt])  # a checked problem on the same words says more
        s["confidence"], e["confidence"] = _confidence(confidence[i])

        s["conversion"], e["conversion"] = _weighted(s, cw, "How likely it is to convert")
        s["creativity"], e["creativity"] = _weighted(s, crw, "How fresh it is")

        hard = sum(1 for f in flags if f.kind in HARD_KINDS)
        soft = sum(1 for f in flags if f.kind == "false_urgency")
        base = (1.0 - lam) * s["conversion"] + lam * s["creativity"]
        off_topic = bool(relevance[i] < penalties.min_relevance)
        s["overall"] = base * penalties.hard**hard * penalties.soft**soft * (penalties.off_topic if off_topic else 1.0)
        # Weighted by the judge's probability that a copywriter would use it as it stands: on 20 unseen products'
        # reader-labelled candidates, predicted CTR and novelty rank unusable copy first (within a product their
        # ROC AUC against "usable" is 0.37-0.47), and this product ranks usable copy first (see README).
        s["overall"] *= s["quality"] * (penalties.rejected if rejected else 1.0)
        # Squared: on reads 47-50's labelled candidates, replayed through the reranker, the square kept 1-3 % more
        # usable copy in the shown four than the probability itself on 5 of 6 channels, tied on the sixth; with the
        # token-detector reader the 4th power kept about as much as the square (README "The reader").
        s["overall"] *= s["reading"] ** READING_POWER
        no_kind = ch.name in KIND_CHANNELS and not says_what_it_is(text, product)
        s["overall"] *= penalties.no_kind if no_kind else 1.0
        unsure = ch.name in CONFIDENCE_CHANNELS and confidence[i] is not None and confidence[i] < penalties.confident
        if unsure:
            s["overall"] *= (confidence[i] / penalties.confident) ** CONFIDENCE_POWER.get(ch.name, 1.0)
        repeated = repeated_word(text) if ch.name in REPEAT_CHANNELS else None
        s["overall"] *= penalties.repeated if repeated else 1.0
        brevity = max(0.0, 1.0 - len(text) / ch.limit) ** ch.brevity if ch.brevity else 1.0
        s["overall"] *= brevity
        e["overall"] = f"{1 - lam:.0%} conversion and {lam:.0%} creativity (from the creativity slider)"
        if verdicts is not None and not rejected:
            e["overall"] += f", weighted by the usable-copy judge's {s['quality']:.0%}"
        if reading is not None:
            e["overall"] += f", weighted by how the copywriter model reads it ({s['reading']:.0%}, squared)"
        if rejected:
            why = _REJECTED.get(verdicts[i].reason, "a copywriter would not publish it as it stands")
            e["overall"] += f", sunk because the usable-copy judge rejects it ({why}) whatever its predicted clicks"
        if off_topic:
            e["overall"] += f", halved because it barely relates to the product ({relevance[i]:.0%} similar)"
        if no_kind:
            e["overall"] += ", halved because it never says what the product is"
        if hard:
            e["overall"] += f", cut sharply for {hard} invented or banned detail{'s' if hard > 1 else ''}"
        if soft:
            e["overall"] += f", lowered for {soft} pressure or promise phrase{'s' if soft > 1 else ''}"
        if unsure:
            e["overall"] += f", lowered because the model was unsure of its wording ({confidence[i]:.0%})"
        if repeated:
            e["overall"] += f", halved because it says \"{repeated}\" twice"
        if brevity < 1.0:
            e["overall"] += (
                f", ×{brevity:.2f} for its length ({len(text)} of {ch.limit} characters: "
                "every sentence more is one more chance of a garbled fact)"
            )
        e["overall"] += "."

        s = {k: float(min(1.0, max(0.0, s[k]))) for k in SCORE_KEYS}
        cards.append(
            ScoreCard(scores=s, explanations={k: e[k] for k in SCORE_KEYS}, flags=flags, embedding=emb[i].copy())
        )
    return cards


def score_variants(
    texts: list[str],
    product: Product,
    channel: str,
    controls: Controls,
    *,
    existing: Sequence[str] = (),
    embedder=None,
    ctr_predictor=None,
    banned_words: Sequence[str] | None = None,
    judge=None,
    reader=None,
    confidence: Sequence[float | None] | None = None,
) -> list[ScoreCard]:
    """Score variants shown together (diversity is measured within `texts`).

    existing: copy already saved for the product (novelty is measured against it
    and the product's description and features). embedder None: the MiniLM
    embedder; ctr_predictor None: copy_engine.ctr's default predictor;
    banned_words None: Settings.from_env().banned_words; judge None: the shipped
    usable-copy judge (copy_engine.scoring.judge.get_default_judge); reader None: no reading (scored 1.0 and
    not counted; generate() passes the real generators' reader, copy_engine.scoring.reader);
    confidence: the sampler's confidence in each text (generator.Sample.confidence; None for one not sampled).
    """
    return _score(
        texts,
        product,
        channel,
        controls,
        context_texts=(),
        existing=existing,
        embedder=embedder,
        ctr_predictor=ctr_predictor,
        banned_words=banned_words,
        judge=judge,
        reader=reader,
        confidence=confidence,
    )


def score_one(
    text: str,
    product: Product,
    channel: str,
    controls: Controls,
    *,
    context_texts: Sequence[str] = (),
    existing: Sequence[str] = (),
    embedder=None,
    ctr_predictor=None,
    banned_words: Sequence[str] | None = None,
    judge=None,
    reader=None,
) -> ScoreCard:
    """Re-score one (edited) variant; its diversity is measured against `context_texts`, the others shown."""
    if not isinstance(text, str):
        raise InputError("the variant to score must be text")
    return _score(
        [text],
        product,
        channel,
        controls,
        context_texts=context_texts,
        existing=existing,
        embedder=embedder,
        ctr_predictor=ctr_predictor,
        banned_words=banned_words,
        judge=judge,
        reader=reader,
    )[0]

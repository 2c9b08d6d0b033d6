"""How the individual scores are combined into conversion, creativity and overall."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConversionWeights:
    """Weights inside the conversion part (normalised by their sum at use).

    Predicted CTR is the only learned signal of clicks, so it leads; faithfulness
    is next because invented facts cost trust and can break advertising rules.
    The CTA weight is scaled by the CTA slider (x0 at 0, x1 at 0.5, x2 at 1):
    a copywriter who asked for no call to action should not see it rewarded.
    Channel fit and tone match are not in the issue's list but decide whether a
    variant can be used as is, so they carry a small weight.
    """

    predicted_ctr: float = 0.30
    faithfulness: float = 0.20
    cta: float = 0.15
    readability: float = 0.15
    channel_fit: float = 0.10
    tone_match: float = 0.10


@dataclass(frozen=True)
class CreativityWeights:
    """Weights inside the creativity part: new wording vs being different from its neighbours."""

    novelty: float = 0.5
    diversity: float = 0.5


@dataclass(frozen=True)
class Penalties:
    """Multipliers on the overall score per flag.

    Invented facts and banned words are meant to lose: each one multiplies the
    overall score by `hard` (0.3), so one flag turns a 0.9 into 0.27, below any
    plausible clean variant. Pressure wording is a risk, not an error: x0.8 each.
    """

    hard: float = 0.3  # unsupported_number / _name / _claim, banned
    soft: float = 0.8  # false_urgency
    # Novelty rewards distance from the product's text, so copy about something
    # else entirely would win the creativity part; below this cosine similarity
    # to the product (MiniLM) a variant is off topic and its overall is halved.
    min_relevance: float = 0.3
    off_topic: float = 0.5
    # A variant the usable-copy judge rejects (quality < 0.5) is multiplied by this, so it sinks below
    # every accepted clean variant whatever its predicted CTR: at most 0.2 overall.
    rejected: float = 0.2
    # A headline that never says what the product is (scoring/product_kind.py): readers call it filler.
    no_kind: float = 0.5
    # The sampler's confidence in a fresh candidate (generator.Sample.confidence: geometric mean of its tokens'
    # probabilities) below this scales its overall by confidence / confident: a line the model guessed its
    # way through is the garbled or misread one ("Team Wrestling Bit", "made of pillowcases"). On labelled
    # headline candidates of held-out products it ranked usable copy above unusable in 85 % of pairs where
    # the overall score alone did in 74 % (README, "Sampler confidence").
    confident: float = 0.7
    # An ad description that says a content word twice ("… ready stance, half drawn sword ready for action"):
    # scoring/repetition.py; read 51 (README).
    repeated: float = 0.5


CONVERSION = ConversionWeights()
CREATIVITY = CreativityWeights()
PENALTIES = Penalties()

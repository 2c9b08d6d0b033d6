"""Sentiment (VADER compound) and how well it matches the sentiment slider."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER compound polarity of `text` in [-1, 1]."""
    if not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


def _describe(value: float) -> str:
    if value >= 0.6:
        return "enthusiastic"
    if value >= 0.2:
        return "positive"
    if value > -0.2:
        return "neutral"
    if value > -0.6:
        return "serious"
    return "negative"


def score_sentiment(text: str, target: float) -> tuple[float, str, float, str]:
    """(sentiment, explanation, tone_match, explanation) for one text.

    sentiment is VADER's compound rescaled to [0, 1]; tone_match is
    1 - |compound - target| / 2, where target is Controls.sentiment in [-1, 1].
    """
    c = compound(text)
    sentiment = (c + 1.0) / 2.0
    tone = 1.0 - abs(c - float(target)) / 2.0
    s_expl = f"Reads {_describe(c)} (VADER {c:+.2f} on a -1 to +1 scale)."
    if tone >= 0.9:
        t_expl = f"Tone matches the slider: you asked for {_describe(target)}, it reads {_describe(c)}."
    elif c < target:
        t_expl = f"Calmer than the slider asks: you asked for {_describe(target)}, it reads {_describe(c)}."
    else:
        t_expl = f"More upbeat than the slider asks: you asked for {_describe(target)}, it reads {_describe(c)}."
    return sentiment, s_expl, min(1.0, max(0.0, tone)), t_expl

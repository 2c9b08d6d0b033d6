"""Hand-crafted headline features: general wording cues that move click-through.

Kept general on purpose (the app scores e-commerce headlines, the model learns on
news headlines): length, numbers, questions, direct address, superlatives,
sentiment (VADER), capitals, quotes, demonstratives and curiosity-gap wording.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9']+|[^\sA-Za-z0-9']")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z']*|\d[\d,.]*")

_YOU = {"you", "your", "you're", "yours", "yourself", "you'll", "you've", "you'd"}
_FIRST = {"i", "me", "my", "i'm", "i've", "we", "our", "us", "we're"}
_DEMONSTR = {"this", "these", "that", "those", "here's", "here"}
_WH = {"why", "how", "what", "who", "when", "where", "which"}
_SUPERL = {"best", "most", "ever", "greatest", "worst", "perfect", "ultimate", "amazing", "incredible", "awesome",
           "absolutely", "totally", "completely", "every", "all", "never", "always", "only", "everything", "nothing"}
_NEG = {"not", "no", "never", "don't", "doesn't", "can't", "won't", "isn't", "aren't", "didn't", "nobody", "nothing"}
_CURIOSITY = [r"\bwhat happens\b", r"\byou won'?t believe\b", r"\bthe reason\b", r"\bhere'?s (why|how|what)\b",
              r"\bturns out\b", r"\bthe truth\b", r"\bsecret\b", r"\bfind out\b", r"\bwait (for|until|till)\b",
              r"\bwhy\b", r"\bhow\b", r"\bthis is\b", r"\bwhat (he|she|they|it) (said|did)\b", r"\bthen\b"]
_CURIOSITY_RE = re.compile("|".join(_CURIOSITY))
_ACTION = {"watch", "see", "look", "meet", "learn", "discover", "try", "get", "find", "read", "listen", "shop", "save"}
_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "hundred", "thousand",
                 "million", "billion"}

FEATURE_NAMES = (
    "log_chars", "log_words", "mean_word_len", "n_sentences", "has_digit", "starts_with_number", "number_words",
    "question", "exclamation", "ends_period", "ellipsis", "colon", "dash", "quote", "asterisk_or_caps_emphasis",
    "you", "first_person", "demonstrative", "wh_word", "superlative", "est_words", "negation", "curiosity",
    "action_verb", "vader_compound", "vader_abs", "vader_pos", "vader_neg", "all_caps_words", "title_case_ratio",
    "long_words_ratio", "first_word_you_or_this",
)


@functools.lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def headline_features(text: str) -> np.ndarray:
    """The FEATURE_NAMES vector of one headline (float64)."""
    t = (text or "").strip()
    low = t.lower().replace("\u2019", "'").replace("\u2018", "'")
    toks = _TOKEN.findall(low)
    raw_toks = _TOKEN.findall(t.replace("\u2019", "'"))
    words = [w for w in toks if w[0].isalpha()]
    nw = max(len(words), 1)
    sents = [s for s in re.split(r"(?<=[.!?])\s+", t) if s.strip()]
    vs = _vader().polarity_scores(t) if t else {"compound": 0.0, "pos": 0.0, "neg": 0.0}
    caps = [w for w in raw_toks if len(w) >= 2 and w.isupper() and w.isalpha()]
    titled = [w for w in raw_toks if w[0].isupper()]
    f = [
        math.log1p(len(t)),
        math.log1p(len(toks)),
        sum(map(len, words)) / nw,
        float(len(sents)),
        float(bool(re.search(r"\d", t))),
        float(bool(re.match(r"\d", t))),
        float(sum(w in _NUMBER_WORDS for w in words) > 0),
        float("?" in t),
        float("!" in t),
        float(t.endswith(".")),
        float("..." in t or "\u2026" in t),
        float(":" in t),
        float(bool(re.search(r"\s[-\u2013\u2014]+\s|\u2014", t))),
        float(bool(re.search(r"[\"\u201c\u201d]|(^|\s)'\w", t))),
        float("*" in t or bool(caps)),
        float(sum(w in _YOU for w in words) > 0),
        float(sum(w in _FIRST for w in words) > 0),
        float(sum(w in _DEMONSTR for w in words) > 0),
        float(sum(w in _WH for w in words) > 0),
        float(sum(w in _SUPERL for w in words)) / nw,
        float(sum(len(w) > 5 and w.endswith("est") for w in words) > 0),
        float(sum(w in _NEG for w in words) > 0),
        float(len(_CURIOSITY_RE.findall(low))),
        float(sum(w in _ACTION for w in words) > 0),
        vs["compound"],
        abs(vs["compound"]),
        vs["pos"],
        vs["neg"],
        float(len(caps)),
        len(titled) / max(len(raw_toks), 1),
        sum(len(w) >= 8 for w in words) / nw,
        float(bool(words) and words[0] in (_YOU | _DEMONSTR)),
    ]
    return np.asarray(f, dtype=np.float64)


def feature_matrix(texts: Sequence[str]) -> np.ndarray:
    """Stack headline_features for many texts: shape (n, len(FEATURE_NAMES))."""
    if len(texts) == 0:
        return np.zeros((0, len(FEATURE_NAMES)))
    return np.vstack([headline_features(t) for t in texts])

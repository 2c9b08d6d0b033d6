"""Turning raw model continuations into clean, in-limit, distinct copy.

The base model echoes field labels, wraps copy in quotes, shouts in capitals
and stops mid-sentence at the token budget; this module fixes what can be
fixed and drops what cannot (generate() then samples more).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from copy_engine.channels import get_channel

_LABEL = re.compile(
    r"^\s*(?:(?:product|ad|search ad|email|social|post|copy|headline|description|subject(?: line)?|"
    r"tagline|title|caption|tweet|text|answer|output)\s*(?:headline|description|copy|line)?\s*[:\-–—]\s*)+",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•·>]+|\d+[.)])\s+")
_QUOTES = "\"'“”‘’«»`"
_SPACE = re.compile(r"\s+")
_SENT_END = re.compile(r"[.!?…](?=\s|$)")
# A phrase cut at a word boundary is only kept when it does not end on a word
# that needs a continuation ("Shop the", "made with", "and").
_DANGLING = set(
    "a an the and or but with for to of in on at by from your our their its this that these those "
    "is are was were be will can as so than then into onto over under about while when which who "
    "whose where how what more most very just also plus &".split()
)
_JUNK = re.compile(r"(?i)(https?://|www\.|<[^>]+>|\{|\}|\[|\]|@\w{3,}|\.com\b)")


@dataclass
class Cleaned:
    """One cleaned candidate, with what was done to it."""

    text: str
    trimmed: bool  # cut to fit the channel (at a sentence end or a complete phrase)


def _sentence_case_if_shouting(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        text = text.lower()
        text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text


def _complete_phrase(text: str) -> bool:
    words = re.findall(r"[\w&'’-]+", text.lower())
    return bool(words) and words[-1] not in _DANGLING and not text.rstrip().endswith((",", ":", ";", "-", "–"))


def fit_to_limit(text: str, limit: int, min_chars: int, ended: bool) -> tuple[str | None, bool]:
    """Return (text within limit, trimmed?) or (None, False) when no complete phrase fits.

    `ended` says whether the model finished the piece itself; if not, the tail
    is an unfinished sentence and is cut back to the last sentence end.
    """
    if ended and len(text) <= limit:
        return text, False
    window = text[: limit + 1]
    ends = [m.end() for m in _SENT_END.finditer(window) if m.end() <= limit]
    if ends and ends[-1] >= min_chars:
        return window[: ends[-1]].strip(), True
    if ended or len(text) <= limit:
        # One unfinished sentence: keep it only if it already reads as a phrase.
        cut = text[:limit]
        if len(text) > limit:
            cut = cut.rsplit(" ", 1)[0]
        cut = cut.rstrip(" ,;:-–")
        if len(cut) >= min_chars and _complete_phrase(cut) and (ended or len(text) > limit):
            return cut, cut != text
    return None, False


def clean_one(raw: str, channel: str) -> Cleaned | None:
    """Clean one raw continuation for `channel`; None when nothing usable is left."""
    ch = get_channel(channel)
    ended = "\n" in raw or "###" in raw
    text = raw.split("###")[0].strip().split("\n")[0]
    text = _LABEL.sub("", text)
    text = _BULLET.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    text = text.strip(_QUOTES + " ")
    if not text or _JUNK.search(text):
        return None
    text = _sentence_case_if_shouting(text)
    text = text[0].upper() + text[1:]
    fitted, trimmed = fit_to_limit(text, ch.limit, ch.min_chars, ended)
    if fitted is None or len(fitted) < ch.min_chars:
        return None
    return Cleaned(fitted, trimmed)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def near_duplicate(a: str, b: str, threshold: float = 0.85) -> bool:
    """True when two texts are the same copy up to punctuation, case or a word or two."""
    na, nb = _norm(a), _norm(b)
    if na == nb:
        return True
    return difflib.SequenceMatcher(None, na, nb).ratio() >= threshold


def dedupe(texts: list[str], against: list[str] = (), threshold: float = 0.85) -> list[str]:
    """Drop exact and near-duplicate texts (also those matching `against`), keeping first occurrences."""
    kept: list[str] = []
    for t in texts:
        if any(near_duplicate(t, k, threshold) for k in [*against, *kept]):
            continue
        kept.append(t)
    return kept


def clean_batch(raws: list[str], channel: str, already: list[str] = ()) -> list[str]:
    """Clean raw continuations and return the new distinct texts (not near-duplicates of `already`)."""
    cleaned = [c.text for c in (clean_one(r, channel) for r in raws) if c is not None]
    return dedupe(cleaned, against=list(already))

"""Readability: Flesch reading ease and Flesch-Kincaid grade, judged against the channel.

Why not call textstat.flesch_reading_ease directly: textstat 0.7.13 looks up
syllables in NLTK's cmudict and calls nltk.download() when it is missing,
which fails (or hangs) offline; and its sentence counter ignores sentences of
one or two words ("Shop now."), which are most of ad copy. So the same
formulas (the constants textstat uses for English) are applied here to our
own word, sentence and syllable counts.

Short text is unstable: one long word swings a 3-word headline from "very easy"
to "very hard". Below SHORT_WORDS words the syllables per word are shrunk
toward a typical value (PRIOR_SYLLABLES) as if PRIOR_WEIGHT ordinary words
had been read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHORT_WORDS = 12
PRIOR_SYLLABLES = 1.45  # syllables per word of plain English copy
PRIOR_WEIGHT = 4.0

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)|\n+")
_VOWELS = re.compile(r"[aeiouy]+")


@dataclass(frozen=True)
class Target:
    """What 'easy enough' means for a channel."""

    min_ease: float  # Flesch reading ease at or above this scores full marks
    max_grade: float  # grade level at or below this scores full marks


# Ads, subjects and headlines are read in a second: aim for grade 7 or lower.
SHORT_TARGET = Target(min_ease=65.0, max_grade=7.0)
# Product descriptions are read by someone already interested.
LONG_TARGET = Target(min_ease=50.0, max_grade=10.0)
TARGETS = {"description": LONG_TARGET}


def syllables(word: str) -> int:
    """Syllables of one word by vowel groups (silent final 'e' dropped); numbers count as one."""
    w = word.lower()
    if not w.isalpha():
        return 1 if w[:1].isdigit() else max(1, len(_VOWELS.findall(w)))
    count = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    if w.endswith(("ed",)) and not w.endswith(("ted", "ded")) and count > 1:
        count -= 1  # "crafted" keeps it, "designed" doesn't
    return max(1, count)


def counts(text: str) -> tuple[int, int, int]:
    """(words, sentences, syllables) of `text`."""
    words = _WORD.findall(text)
    if not words:
        return 0, 0, 0
    pieces = [p for p in _SENTENCE_END.split(text) if _WORD.search(p)]
    return len(words), max(1, len(pieces)), sum(syllables(w) for w in words)


def flesch(text: str) -> tuple[float, float]:
    """(reading ease clamped to 0..100, grade level clamped to 0..18); stable on very short text."""
    n_words, n_sent, n_syll = counts(text)
    if n_words == 0:
        return 0.0, 18.0
    if n_words < SHORT_WORDS:
        spw = (n_syll + PRIOR_SYLLABLES * PRIOR_WEIGHT) / (n_words + PRIOR_WEIGHT)
    else:
        spw = n_syll / n_words
    wps = n_words / n_sent
    ease = 206.835 - 1.015 * wps - 84.6 * spw
    grade = 0.39 * wps + 11.8 * spw - 15.59
    return min(100.0, max(0.0, ease)), min(18.0, max(0.0, grade))


def _label(ease: float) -> str:
    if ease >= 80:
        return "Very easy to read"
    if ease >= 60:
        return "Easy to read"
    if ease >= 50:
        return "Fairly hard to read"
    return "Hard to read"


def score_readability(text: str, channel: str, channel_label: str) -> tuple[float, str]:
    """Score in [0, 1]: full marks at the channel's target, 0 about 45 ease points / 6 grades past it."""
    ease, grade = flesch(text)
    if not _WORD.search(text):
        return 0.0, "No words to read."
    t = TARGETS.get(channel, SHORT_TARGET)
    ease_part = min(1.0, max(0.0, (ease - (t.min_ease - 45.0)) / 45.0))
    grade_part = min(1.0, max(0.0, 1.0 - (grade - t.max_grade) / 6.0))
    score = 0.5 * (ease_part + grade_part)
    where = f"about grade {grade:.0f}, Flesch {ease:.0f}"
    if score >= 0.85:
        return score, f"{_label(ease)} ({where}), right for a {channel_label.lower()}."
    return score, f"{_label(ease)} for a {channel_label.lower()} ({where}); shorter words and sentences would help."

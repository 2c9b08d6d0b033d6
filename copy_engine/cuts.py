"""Short copy cut back before the clause the reader doubts: more candidates without sampling more.

Most product headlines and email subjects that readers reject fail on one trailing phrase ("Explore the Disney
Ariel PVC keyring with an attached keyring", "Explore a Jumbo Foil Star Cutout that costs $15.39"): on read 61,
the words readers named as wrong ended the line in two thirds of the rejected ones, and the reader's weakest
word (scoring/reader.py) lies in them in 84-87 %. Cut before the clause that holds it, the rest often stands:
"Explore the Disney Ariel PVC keyring". Each cut joins the candidates and is scored and ranked like them.

Read 63's headline and email pools replayed with the cuts added (cuts labelled blind by two more readers, the
rest by read 63's): shown usable headlines 49, 50 -> 53, 54 of 80, email subjects 61, 54 -> 64, 56 (README).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from copy_engine.channels import get_channel
from copy_engine.postprocess import dedupe

CUT_CHANNELS = frozenset({"headline", "email_subject"})  # measured there; ad headlines fail on the name itself
CUT_BELOW = 0.5  # only copy the reader reads as more likely unusable than not is cut
MIN_WORDS = 3  # a shorter cut ("See Ariel") says too little

# Last words that leave a cut hanging: what they begin was in the clause cut off ("See a keychain made", "See
# Ariel in PVC, ready", "Explore Mini Hornit helmets that adjust"; all rejected by read 63's readers), as does a
# participle after the noun ("Explore a life ring painted").
_DANGLING = frozenset(
    """made ready designed built perfect ideal great easy able used available suitable sized fit adjust adjusts
    comes come is are a an the of your its that which who so just up out all""".split()
)
# Where a clause starts: a comma or colon, a dash between spaces, or a joining word.
_BOUNDARY = re.compile(r",\s|:\s|\s[-–—]\s|\s(?:with|for|that|in|and|featuring|from|to)\s")


def clause_cut(text: str, weakest: tuple[int, int] | None, min_chars: int) -> str | None:
    """`text` up to the last clause start before its weakest word, or None when there is none or too little stays."""
    if weakest is None:
        return None
    starts = [m.start() for m in _BOUNDARY.finditer(text) if m.start() < weakest[0]]
    if not starts:
        return None
    cut = text[: starts[-1]].rstrip(" ,;:-–—")
    last = cut.split()[-1].lower() if cut.split() else ""
    if last in _DANGLING or (last.endswith("ed") and len(last) > 4):
        return None
    return cut if len(cut) >= min_chars and len(cut.split()) >= MIN_WORDS else None


def clause_cuts(texts: Sequence[str], readings: Sequence[float], weakest: Sequence, channel: str) -> dict[str, str]:
    """New candidates cut from `texts` read under CUT_BELOW -> the text each was cut from (none that repeats a
    candidate or another cut)."""
    if channel not in CUT_CHANNELS:
        return {}
    min_chars = get_channel(channel).min_chars
    parents: dict[str, str] = {}
    for text, reading, span in zip(texts, readings, weakest):
        cut = clause_cut(text, span, min_chars) if reading < CUT_BELOW else None
        if cut and cut not in texts:
            parents.setdefault(cut, text)
    return {c: parents[c] for c in dedupe(list(parents), against=list(texts))}

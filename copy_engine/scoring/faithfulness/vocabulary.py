"""Words of copy that neither the product's facts nor ordinary copywriting account for.

A 270M model invents details in plain words as often as in numbers and names: "a sturdy steel frame" for a
plastic bed, "a speaker of your voice" for a toy crate, "the 3-Piece Camel Bed Set" for a blue comforter. The
number, name and claim checks only see their own kinds; this one sees every word. A word is backed when the
facts hold it (any singular form, or the same stem: "colorful" by "colors") or when it is one of the
free words (free_words.txt): the words our own copywriters added to the copy deck without the facts saying
them, in at least three products ("see", "ready", "keeps", "fans"), and English function words. Everything else
is flagged as `unsupported_word`, for the copywriter to check. Capitalised words that look like names are left
to names.py, which explains them better.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from copy_engine.scoring.faithfulness.facts import FactIndex
from copy_engine.scoring.faithfulness.words import singular_forms
from copy_engine.scoring.flags import Flag

FREE_WORDS_PATH = Path(__file__).with_name("free_words.txt")
FUNCTION_WORDS = frozenset(
    """a an the and or nor but yet so if than then of for with without from in into onto on off over under up down
    out about above below between through across along around by to at as per via your you yours it its this that
    these those is are was were be been being am has have had do does did can could will would may might must shall
    should not no all any each every both either neither some such same other another only own just also too very
    more most much many few less least they them their theirs he him his she her hers we our ours us who whom whose
    what which when where while how why there here one two three four five six seven eight nine ten
    it's that's there's here's what's you're you'll you've they're they'll don't doesn't won't can't isn't aren't""".split()
)
# Whole tokens, so "LOSB3130" is not read as the word "LOSB"; tokens with digits are left to quantities.py and
# names.py.
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
# Words the facts may give as a symbol: "100 percent polyester" is backed by "100% Polyester".
_SYMBOL_WORDS = {"percent": "%", "degrees": "°", "inches": '"'}
MIN_LETTERS = 3  # shorter words ("go", "up", "x") say nothing a reader could check
MIN_PREFIX = 4  # a stem backs a longer one it begins ("easi" backs "easili")...
MAX_EXTRA = 3  # ...when that one has at most this many more letters ("accur" backs "accuraci", not "accurately")


@functools.lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.snowball import EnglishStemmer  # nltk is loaded by textstat (readability) anyway

    return EnglishStemmer()


@functools.lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """The Snowball stem of a lower-case word: "colorful" and "colors" -> "color"."""
    return _stemmer().stem(word)



def _stem_backed(word_stem: str, stems: frozenset[str], ordered: tuple[str, ...]) -> bool:
    """True when a fact stem is `word_stem`, begins it or is begun by it (MIN_PREFIX, MAX_EXTRA), without a scan of
    every fact stem: a catalog description can hold thousands of words."""
    if word_stem in stems:
        return True
    if any(word_stem[:k] in stems for k in range(max(MIN_PREFIX, len(word_stem) - MAX_EXTRA), len(word_stem))):
        return True  # "easi" in the facts backs "easili"
    if len(word_stem) >= MIN_PREFIX:
        i = bisect.bisect_left(ordered, word_stem)  # fact stems that begin with `word_stem` sort right after it
        while i < len(ordered) and ordered[i].startswith(word_stem):
            if len(ordered[i]) - len(word_stem) <= MAX_EXTRA:
                return True  # "accur" in the copy is backed by "accuraci"
            i += 1
    return False


@functools.lru_cache(maxsize=1)
def free_words() -> frozenset[str]:
    """The words copy may use without the facts saying them (loaded once from free_words.txt)."""
    lines = FREE_WORDS_PATH.read_text(encoding="utf-8").splitlines() if FREE_WORDS_PATH.is_file() else []
    return frozenset(w for w in (line.strip() for line in lines) if w and not w.startswith("#")) | FUNCTION_WORDS


@functools.lru_cache(maxsize=64)
def _fact_stems(index: FactIndex) -> tuple[frozenset[str], tuple[str, ...]]:
    stems = frozenset(stem(w) for w in index.name_words if len(w) >= MIN_LETTERS)
    return stems, tuple(sorted(stems))


@dataclass(frozen=True)
class CopyWord:
    """One word of copy: where it is and its lower-case base (without a possessive 's)."""

    start: int
    end: int
    text: str
    base: str

    def backed_by(self, index: FactIndex) -> bool:
        """True when the facts hold this word (a singular form of it, or its stem)."""
        if singular_forms(self.base) & index.name_words:
            return True
        return _stem_backed(stem(self.base), *_fact_stems(index))


def copy_words(text: str) -> list[CopyWord]:
    """The words of `text` worth checking: tokens of letters only, at least MIN_LETTERS of them."""
    out = []
    for m in _TOKEN.finditer(text):
        if any(c.isdigit() for c in m.group(0)):
            continue
        base = re.sub(r"['’]s$", "", m.group(0).lower().replace("’", "'"))
        if len(base) >= MIN_LETTERS:
            out.append(CopyWord(m.start(), m.end(), m.group(0), base))
    return out


def find_unbacked_words(text: str, facts: FactIndex) -> list[Flag]:
    """Words of `text` that are neither free words nor backed by the facts, one flag each."""
    free = free_words()
    flags = []
    for w in copy_words(text):
        if w.base in free or w.backed_by(facts) or _SYMBOL_WORDS.get(w.base, "\0") in facts.text:
            continue
        reason = f'"{w.text}" is not in the product facts; check that it is true of this product.'
        flags.append(Flag(w.start, w.end, w.text, "unsupported_word", reason))
    return flags

"""Claims in copy (certifications, health, materials, origins, awards, warranties, shipping, superlatives) that the
product facts don't back up; the claim table is lexicon.CLAIM_FAMILIES."""

from __future__ import annotations

import re

from copy_engine.scoring.faithfulness.facts import FactIndex
from copy_engine.scoring.faithfulness.words import singular, words_norm
from copy_engine.scoring.flags import Flag
from copy_engine.scoring.lexicon import CLAIM_FAMILIES, CLAIM_FAMILY_REASONS, ORIGIN_VERBS

# (copy regex, facts phrases that back it up, family)
_CLAIM_RES = [
    (re.compile(r"(?<![\w#])(?:" + pat + r")(?![\w])", re.IGNORECASE), support, family)
    for family, entries in CLAIM_FAMILIES.items()
    for pat, support in entries
]
# "No batteries required": backed by "no batteries", "batteries not required", "without batteries"...
_NO_X_REQUIRED = re.compile(
    r"(?<!\w)no\s+(?P<thing>[a-z]+(?:[\s-][a-z]+)?)\s+(?:required|needed|necessary)(?!\w)", re.IGNORECASE
)
_NO_X_BACKED_BY = (
    "no {}",
    "{} not required",
    "{} not needed",
    "without {}",
    "{} required no",
    "{} required? no",
    "{} free",
)
# "made in Italy", "grown in Hawaii", "imported from Japan": the place must be in the facts.
_ORIGIN = re.compile(
    r"(?<!\w)(?i:(?:" + "|".join(ORIGIN_VERBS) + r")\s+(?:in|from))\s+(?:(?i:the)\s+)?"
    r"(?P<place>[A-Z][A-Za-z.]*(?:\s+[A-Z][A-Za-z.]*)*)"
)
# Superlatives: any -est word except these, which only look like one.
_NOT_SUPERLATIVE_WORDS = """
interest test rest guest forest honest modest harvest invest request nest chest quest west suggest protest digest
manifest contest pest zest vest crest arrest attest earnest conquest behest midwest priest latest newest lest jest
best-before biggest-ever everest tempest infest detest protest unrest inquest bequest
"""
_NOT_SUPERLATIVE = frozenset(_NOT_SUPERLATIVE_WORDS.split())
_SUPERLATIVE = re.compile(r"(?<![\w-])(?:best|[a-z]{2,}est)(?![\w-])", re.IGNORECASE)
_BEST_OK_BEFORE = re.compile(r"(?:your|you|my|our|its|their|his|her|at|look|feel|the\s+very)\s+$", re.IGNORECASE)


def _backed(phrase: str, facts: FactIndex) -> bool:
    """True when `phrase` starts a word of the normalised facts (so "recycl" backs "recyclable")."""
    p = words_norm(phrase).strip()
    return bool(p) and (" " + p) in facts.claims_norm


def _claim(m: re.Match, reason: str, end: int | None = None) -> Flag:
    end = m.end() if end is None else end
    return Flag(m.start(), end, m.string[m.start() : end], "unsupported_claim", reason)


def _table_claims(text: str, facts: FactIndex) -> list[Flag]:
    """Claims of lexicon.CLAIM_FAMILIES that neither the same phrase nor a support phrase backs up."""
    flags = []
    for regex, support, family in _CLAIM_RES:
        for m in regex.finditer(text):
            if _backed(m.group(0), facts) or any(_backed(s, facts) for s in support):
                continue
            reason = f'"{m.group(0)}" is {CLAIM_FAMILY_REASONS[family]} the product facts don\'t back up.'
            flags.append(_claim(m, reason))
    return flags


def _no_x_required(text: str, facts: FactIndex) -> list[Flag]:
    """"No batteries required" and the like, unless the facts say so in one of the usual ways."""
    flags = []
    for m in _NO_X_REQUIRED.finditer(text):
        thing = singular(m.group("thing").lower())
        if not any(_backed(b.format(thing), facts) for b in _NO_X_BACKED_BY):
            flags.append(_claim(m, f'"{m.group(0)}" is a promise the product facts don\'t back up.'))
    return flags


def _origins(text: str, facts: FactIndex) -> list[Flag]:
    """"Made in Italy" and the like, unless the facts name the place."""
    flags = []
    for m in _ORIGIN.finditer(text):
        place = m.group("place").rstrip(".")
        if not _backed(place, facts):
            reason = f"The product facts don't say where it comes from ({place})."
            flags.append(_claim(m, reason, end=m.start("place") + len(place)))
    return flags


def _superlatives(text: str, facts: FactIndex) -> list[Flag]:
    """"Best", "finest", "softest"... unless the facts use the word or it is a compliment ("look your best")."""
    flags = []
    for m in _SUPERLATIVE.finditer(text):
        word = m.group(0).lower()
        if (
            word in _NOT_SUPERLATIVE
            or f" {singular(word)} " in facts.claims_norm
            or (word == "best" and _BEST_OK_BEFORE.search(text[: m.start()]))
        ):
            continue
        if word != "best" and len(word) < 6:  # "lest", "zest": real superlatives are "finest"+
            continue
        flags.append(_claim(m, f'"{m.group(0)}" claims to beat every other product; the facts don\'t back that up.'))
    return flags


def find_claims(text: str, facts: FactIndex) -> list[Flag]:
    """Claims (certifications, health, materials, origins, awards, warranties, shipping, superlatives)
    not backed by the facts."""
    return _table_claims(text, facts) + _no_x_required(text, facts) + _origins(text, facts) + _superlatives(text, facts)

"""Names in copy (brands, products, places) that the product facts never mention."""

from __future__ import annotations

import re

from copy_engine.scoring.faithfulness.facts import FactIndex
from copy_engine.scoring.faithfulness.words import singular_forms
from copy_engine.scoring.flags import Flag
from copy_engine.scoring.lexicon import ALWAYS_CAPITALISED, is_common

_TOKEN = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")
_BOUNDARY = set(".!?:;\n…|•–—")
_USED_AS_NAME = re.compile(r"(?:\s+(?:is|are|was|has|have|makes|brings|offers)\b|['’]s\b|\s+[-–&:]\s)")


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“”‘’([*")
    return not before or before[-1] in _BOUNDARY or (before[-1] == "-" and before[-2:-1] in (" ", ""))


def _in_facts(m: re.Match, facts: FactIndex) -> bool:
    """The token matched by `m` (or its joined form: "Wi-Fi" = "WiFi", "Nike's" = "Nike") is in the facts."""
    tok, text = m.group(0), m.string
    joined = re.match(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*", text[m.start() :]).group(0).lower()
    joined = re.sub(r"['’]s$", "", joined).replace("-", "").replace("'", "").replace("’", "")
    low = tok.lower()
    return bool(singular_forms(low) & facts.name_words or singular_forms(joined) & facts.name_words)


def _looks_like_name(m: re.Match) -> bool:
    """A capitalised token that is a name, not a capitalised ordinary word (Title Case, a sentence's start)."""
    tok, text = m.group(0), m.string
    inner_capital = any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok)
    if inner_capital or any(c.isdigit() for c in tok):
        return True
    if len(tok) == 1:
        return False
    if _is_sentence_start(text, m.start()):
        # a sentence's first word is a name only when used as one: "Neocarn is...", "Zorbix - the...",
        # "Olaf & Elsa"; "Unleash the..." and "Organize Paper..." (Title Case) are not
        return not is_common(tok) and len(tok) > 3 and bool(_USED_AS_NAME.match(text, m.end()))
    return not is_common(tok)


def _merge(text: str, hits: list[tuple[int, int]], facts: FactIndex) -> list[list[int]]:
    """Neighbouring hits ("Sony Bravia", "Aqua-Pure") as one span, extended over a capitalised sentence-start
    word just before a flagged one ("Sony Bravia" at the start of a sentence)."""
    spans: list[list[int]] = []
    for start, end in hits:
        if spans and re.fullmatch(r"[\s-]", text[spans[-1][1] : start]):
            spans[-1][1] = end
            continue
        prev = re.search(r"([A-Z][A-Za-z0-9]*)[\s-]$", text[:start])
        if (
            prev
            and _is_sentence_start(text, prev.start(1))
            and not is_common(prev.group(1))
            and not (singular_forms(prev.group(1).lower()) & facts.name_words)
        ):
            start = prev.start(1)
        spans.append([start, end])
    return spans


def find_names(text: str, facts: FactIndex) -> list[Flag]:
    """Capitalised words that look like names (brands, products, places) and are not in the facts.

    A capitalised ordinary word ("Shop Now", Title Case headlines, a sentence's
    first word) is not a name; a word with an inner capital ("iPhone") or one
    that is not an ordinary word ("Sony") is, unless it opens a sentence: the
    first word of a sentence is only flagged when it has an inner capital or
    digits, or is used as a name ("Zorbix is...", "Zorbix - the..."), because
    without a dictionary of names "Unleash" and "Sony" look alike.
    """
    hits = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if not any(c.isupper() for c in tok) or tok[0].isdigit():
            continue
        if _in_facts(m, facts) or tok.lower() in ALWAYS_CAPITALISED:
            continue
        if _looks_like_name(m):
            hits.append((m.start(), m.end()))
    return [
        Flag(
            s,
            e,
            text[s:e],
            "unsupported_name",
            f'"{text[s:e]}" is not named in the product facts; is it an invented brand or product?',
        )
        for s, e in _merge(text, hits, facts)
    ]

"""Numbers in copy (with units, currency, ages, counts; digits or spelled out) that the product facts don't back up.

Matching is lenient in format and strict in content: "1,000" = "1000", "50ml" = "50 ml", "$19.99" = "19.99";
but "50%" needs a 50% in the facts, not just any 50, "3-month" needs a 3 that counts months (a bare 3 or
"3 pieces" is not enough), an age ("ages 3+") needs an age or years, and a number counting something
("2 different sounds") needs the same number near the same word in the facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from copy_engine.scoring.faithfulness.words import singular
from copy_engine.scoring.flags import Flag

if TYPE_CHECKING:
    from copy_engine.scoring.faithfulness.facts import FactIndex

# canonical unit -> regex of its spellings (matched case-insensitively, whole word)
UNITS = {
    "%": r"%|percent|per\s?cent|pct",
    "ml": r"ml|millilit(?:er|re)s?",
    "cl": r"cl|centilit(?:er|re)s?",
    "l": r"l|lit(?:er|re)s?",
    "mg": r"mg|milligrams?",
    "kg": r"kg|kilos?|kilograms?",
    "g": r"g|gr|grams?",
    "oz": r"fl\.?\s?oz|oz|ounces?",
    "lb": r"lbs?|pounds?",
    "mm": r"mm|millimet(?:er|re)s?",
    "cm": r"cm|centimet(?:er|re)s?",
    "m": r"m|met(?:er|re)s?",
    "in": r"inch(?:es)?|\"|”",
    "ft": r"ft|feet|foot",
    "h": r"h|hrs?|hours?",
    "min": r"mins?|minutes?",
    "sec": r"secs?|seconds?",
    "day": r"days?",
    "week": r"weeks?|wks?",
    "month": r"months?|mos?",
    "year": r"years?|yrs?",
    "pack": r"packs?|pk|pcs|pieces?|pc|count|ct|piece\s?set|set|items?",
    "x": r"x",
    "mah": r"mah",
    "w": r"w|watts?",
    "v": r"v|volts?",
    "gb": r"gb",
    "tb": r"tb",
    "mb": r"mb",
    "mp": r"mp|megapixels?",
    "hz": r"hz",
    "db": r"db",
    "kcal": r"kcal|cal|calories",
    "star": r"stars?",
    "spf": r"spf",
}
_UNIT_RES = [
    (name, re.compile(r"^(?:\s?-?\s?)(?:" + alt + r")(?![A-Za-z0-9])", re.IGNORECASE)) for name, alt in UNITS.items()
]
_NUMBER = re.compile(r"(?<![\w.,#/])(?P<cur>[$€£¥]\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
_FRACTION = re.compile(r"^/\d+")
_ORDINAL = re.compile(r"^(?:st|nd|rd|th)(?![A-Za-z])", re.IGNORECASE)
_SUFFIX = re.compile(r"^[A-Za-z]+")
# Ages: "ages 3+", "aged 8", "3 and up", "for kids 3 years and older", "8-year-old"
_AGE_BEFORE = re.compile(
    r"(?:\bages?|\baged|\bfor\s+(?:kids|children|boys|girls|toddlers))\s*(?:of\s+)?$", re.IGNORECASE
)
_AGE_AFTER = re.compile(r"^\s*(?:\+|(?:and|&)\s+(?:up|older|over|above)\b|[-\s]?years?[-\s]old\b)", re.IGNORECASE)
# "set of 3", "pack of 12": a count of the product itself
_PACK_BEFORE = re.compile(r"\b(?:set|pack|box|bundle|case|kit|bag|pair)s?\s+of\s*$", re.IGNORECASE)
# Units that only count things: a bare number in the facts ("pack of 2", "Set of 5") backs them up.
COUNT_UNITS = frozenset({"pack", "x"})
# Units that back each other up ("3 years and up" = "ages 3+").
_COMPATIBLE = {"age": {"age", "year"}, "year": {"year", "age"}}
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "dozen": 12,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
    "single": 1,
    "double": 2,
    "twin": 2,
    "triple": 3,
    "pair": 2,
}
_FACTS_NUMBER_WORDS = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
# Number words checked in copy ("a set of three", "four sounds"); "one", "single", "double" and "pair" read as
# ordinary words too often ("one of a kind", "double the fun") to be counted.
_COPY_NUMBER_WORDS = re.compile(
    r"(?<![\w-])(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|twenty|thirty|fifty)(?![\w-])",
    re.IGNORECASE,
)
# "14.7 x 11.1 x 10.2 inches": a chain of numbers sharing the final unit
_DIMENSIONS = re.compile(r"(?P<nums>\d+(?:\.\d+)?(?:\s*[x×]\s*\d+(?:\.\d+)?)+)\s*(?P<unit>[A-Za-z\"”]+)", re.IGNORECASE)
# Words that say nothing about what a number counts ("2 different sounds" counts sounds).
_STOP = frozenset(
    """
    a an the and or of in on at by for to with from per each your our its their this that all new different unique
    separate individual great fun amazing cute beautiful colorful colourful bright cool mini small little big large
    extra more
    """.split()
)


@dataclass(frozen=True)
class Quantity:
    """One number found in text, with its span."""

    start: int
    end: int
    value: float | None
    unit: str | None  # canonical unit, or None for a bare number
    currency: str | None
    literal: str  # normalised token for odd forms ("24/7", "4k", "5g") matched as text


def literal(s: str) -> str:
    """`s` lower case without spaces, commas or hyphens: how odd number forms ("24/7", "4K") are compared."""
    return re.sub(r"[\s,-]", "", s.lower())


def _unit_after(text: str, m: re.Match) -> tuple[int, str | None, str]:
    """(end, unit, literal) of the number matched by `m`: a fraction, ordinal, unit or glued suffix after it."""
    rest = text[m.end() :]
    end, unit, lit = m.end(), None, ""
    if frac := _FRACTION.match(rest):
        end += frac.end()
        lit = literal(text[m.start("num") : end])
    elif ordinal := _ORDINAL.match(rest):
        end += ordinal.end()
    else:
        for name, pattern in _UNIT_RES:
            if u := pattern.match(rest):
                return end + u.end(), name, lit
        if suffix := _SUFFIX.match(rest):  # "4K", "5G", "3D", "10k": compare as written
            end += suffix.end()
            lit = literal(text[m.start("num") : end])
    return end, unit, lit


def find_quantities(text: str) -> list[Quantity]:
    """Numbers in `text` with their currency and unit; numbers glued to letters ("X200", "B12") are skipped."""
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group("num").replace(",", ""))
        currency = m.group("cur").strip() if m.group("cur") else None
        end, unit, lit = _unit_after(text, m)
        if not currency and not lit and unit in (None, "year"):
            # "ages 3+", "3 and up", "8-year-old": an age, which only an age (or years) in the facts backs up
            if age := _AGE_AFTER.match(text[end:]):
                unit, end = "age", end + age.end()
            elif unit is None and _AGE_BEFORE.search(text[: m.start()]):
                unit = "age"
            elif unit is None and _PACK_BEFORE.search(text[: m.start()]):
                unit = "pack"
        out.append(Quantity(m.start(), end, value, unit, currency, lit))
    return out


def facts_for_numbers(facts: str) -> str:
    """Facts with number words written as digits ("two-pack" -> "2-pack") and each number of a dimension chain
    ("14.7 x 11.1 x 10.2 inches") repeated with the chain's unit on lines of its own."""
    facts = _FACTS_NUMBER_WORDS.sub(lambda m: str(NUMBER_WORDS[m.group(0).lower()]), facts)
    chains = [
        " ".join(f"{n} {m.group('unit')}" for n in re.findall(r"\d+(?:\.\d+)?", m.group("nums")))
        for m in _DIMENSIONS.finditer(facts)
    ]
    return facts + ("\n" + "\n".join(chains) if chains else "")


def copy_quantities(text: str) -> list[Quantity]:
    """find_quantities plus spelled-out counts ("three sounds"), with spans on the original text."""
    if not _COPY_NUMBER_WORDS.search(text):
        return find_quantities(text)
    # number words become digits padded with NULs to keep offsets; read the quantities on a copy where the
    # padding is gone, then map their spans back
    digits = _COPY_NUMBER_WORDS.sub(lambda m: str(NUMBER_WORDS[m.group(0).lower()]).ljust(len(m.group(0)), "\0"), text)
    keep = [i for i, c in enumerate(digits) if c != "\0"]
    compact = "".join(digits[i] for i in keep)
    out = []
    for q in find_quantities(compact):
        start, end = keep[q.start], keep[q.end - 1] + 1
        while end < len(digits) and digits[end] == "\0":  # extend over the rest of the spelled word
            end += 1
        out.append(Quantity(start, end, q.value, q.unit, q.currency, q.literal))
    return out


def _following_words(text: str, end: int, n: int = 3) -> list[str]:
    """Up to n content words right after a number (stopping at punctuation), lower case."""
    m = re.match(r"[\s-]*([A-Za-z][A-Za-z' -]*)", text[end:])
    if not m:
        return []
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", m.group(1))[: n + 2]]
    return [w for w in words if w not in _STOP and len(w) > 2][:n]


def _bare_number_supported(q: Quantity, text: str, facts: FactIndex) -> bool:
    """A number without a unit, whose value the facts hold: is it the same thing there?"""
    # "Frozen 2", "Series 7": a title or model the facts spell the same way
    prev = re.search(r"([A-Za-z]+)[\s-]*$", text[: q.start])
    if prev and f" {singular(prev.group(1).lower())} {text[q.start : q.end].lower()} " in facts.numbers_norm:
        return True
    # A bare number that counts something ("2 different sounds") needs that thing near the number in the facts.
    counted = _following_words(text, q.end, 1)
    if not counted:
        return True
    near = facts.segments_with(q.value)
    return any(f" {singular(w)} " in near for w in counted)


def quantity_supported(q: Quantity, text: str, facts: FactIndex) -> bool:
    """True when the facts back up quantity `q` of `text`."""
    if q.literal:
        if q.literal in facts.literal:
            return True
        if q.literal.endswith("k") and q.value is not None:  # "10k" = 10,000
            return any(f.value == q.value * 1000 for f in facts.quantities)
        return False
    same = [f for f in facts.quantities if f.value is not None and abs(f.value - q.value) <= 1e-9]
    same = [f for f in same if not (q.currency and f.currency and q.currency != f.currency)]
    if q.unit is not None:
        ok_units = _COMPATIBLE.get(q.unit, {q.unit})
        if any(f.unit in ok_units for f in same):
            return True
        # a bare number in the facts ("pack of 2") backs a count ("2-pack"), never a measure:
        # "3-month" needs months, and "50%" is a discount or share claim, never just "50"
        return q.unit in COUNT_UNITS and any(f.unit is None for f in same)
    if q.currency and any(f.currency for f in same):
        return True  # the facts' price: "a $5.14 Ball" prices the ball, it doesn't count balls
    if q.currency and same and all(f.unit for f in same):
        return False  # a measure quoted as money: "See it for $12." of a bike without a price, from "12 inch" (read 65)
    if not same:
        return False
    return _bare_number_supported(q, text, facts)


def find_numbers(text: str, facts: FactIndex) -> list[Flag]:
    """Numbers (with units, currency, percentages; digits or spelled-out counts) not found in the facts."""
    flags = []
    for q in copy_quantities(text):
        if quantity_supported(q, text, facts):
            continue
        span = text[q.start : q.end]
        hint = " (an invented discount?)" if q.unit == "%" else ""
        flags.append(
            Flag(
                q.start,
                q.end,
                span,
                "unsupported_number",
                f'"{span}" is not in the product facts{hint}; check it before publishing.',
            )
        )
    return flags

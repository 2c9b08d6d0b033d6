"""Faithfulness: numbers, names and claims in a variant that the product's facts don't support.

Small models invent facts ("now 50% off", "by Sony", "clinically proven"); each
such span is returned as a Flag so the UI can highlight it. Matching is
lenient in format and strict in content: "1,000" = "1000", "50ml" = "50 ml",
"$19.99" = "19.99", case and plurals are ignored; but "50%" needs a 50% in the
facts, not just any 50.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copy_engine.scoring.flags import Flag, resolve_overlaps
from copy_engine.scoring.lexicon import ALWAYS_CAPITALISED, is_common

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
    "pack": r"packs?|pk|pcs|pieces?|pc|count|ct|piece\s?set|set",
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
_NUMBER_WORDS = {
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


@dataclass(frozen=True)
class Quantity:
    start: int
    end: int
    value: float | None
    unit: str | None  # canonical unit, or None for a bare number
    currency: str | None
    literal: str  # normalised token for odd forms ("24/7", "4k", "5g") matched as text


def _literal(s: str) -> str:
    return re.sub(r"[\s,-]", "", s.lower())


def find_quantities(text: str) -> list[Quantity]:
    """Numbers in `text` with their currency and unit; numbers glued to letters ("X200", "B12") are skipped."""
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group("num").replace(",", ""))
        currency = m.group("cur").strip() if m.group("cur") else None
        rest = text[m.end() :]
        end, unit, literal = m.end(), None, ""
        if frac := _FRACTION.match(rest):
            end += frac.end()
            literal = _literal(text[m.start("num") : end])
        elif ordinal := _ORDINAL.match(rest):
            end += ordinal.end()
        else:
            for name, pattern in _UNIT_RES:
                if u := pattern.match(rest):
                    unit, end = name, end + u.end()
                    break
            else:
                if suffix := _SUFFIX.match(rest):  # "4K", "5G", "3D", "10k": compare as written
                    end += suffix.end()
                    literal = _literal(text[m.start("num") : end])
        out.append(Quantity(m.start(), end, value, unit, currency, literal))
    return out


def _facts_for_numbers(facts: str) -> str:
    """Facts with number words written as digits ("two-pack" -> "2-pack")."""

    def repl(m: re.Match) -> str:
        return str(_NUMBER_WORDS[m.group(0).lower()])

    return re.sub(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", repl, facts, flags=re.IGNORECASE)


def _quantity_supported(q: Quantity, facts_q: list[Quantity], facts_literal: str) -> bool:
    if q.literal:
        if q.literal in facts_literal:
            return True
        if q.literal.endswith("k") and q.value is not None:  # "10k" = 10,000
            return any(f.value == q.value * 1000 for f in facts_q)
        return False
    for f in facts_q:
        if f.value is None or abs(f.value - q.value) > 1e-9:
            continue
        if q.currency and f.currency and q.currency != f.currency:
            continue
        if q.unit is None or q.unit == f.unit:
            return True
        # a bare number in the facts ("pack of 2") supports a unit in the copy ("2-pack"),
        # except percentages: "50%" is a discount or share claim, never just "50"
        if f.unit is None and q.unit != "%":
            return True
    return False


# (copy pattern, facts phrases that support it); phrases are compared after lower-casing and
# turning hyphens into spaces.
CLAIMS: list[tuple[str, tuple[str, ...]]] = [
    (r"clinically[\s-]+(?:proven|tested|shown)", ("clinically",)),
    (r"dermatologist[\s-]+(?:tested|recommended|approved)", ("dermatologist",)),
    (r"award[\s-]+winning", ("award",)),
    (r"best[\s-]?sell(?:ing|er|ers)", ("best selling", "bestselling", "best seller", "bestseller")),
    (r"top[\s-]+rated", ("top rated",)),
    (r"#\s?1|no\.\s?1|number[\s-]+(?:one|1)", ("#1", "no. 1", "number one", "number 1")),
    (r"water[\s-]?proof", ("waterproof", "water proof")),
    (r"water[\s-]+resistant", ("water resistant", "waterproof", "water proof", "water repellent")),
    (r"(?:100%\s+)?organic", ("organic",)),
    (r"vegan", ("vegan", "plant based")),
    (r"cruelty[\s-]+free", ("cruelty free",)),
    (r"eco[\s-]+friendly", ("eco friendly", "eco")),
    (r"sustainabl[ey]", ("sustainab",)),
    (r"biodegradable", ("biodegradable",)),
    (r"recycl(?:ed|able)", ("recycl",)),
    (r"(?:gluten|sugar|bpa|paraben|sulfate|sulphate|plastic)[\s-]+free", ()),  # needs the same phrase
    (r"non[\s-]?toxic", ("non toxic", "nontoxic")),
    (r"hypoallergenic", ("hypoallergenic",)),
    (r"(?:100%|all)[\s-]+natural", ("natural",)),
    (r"free[\s-]+(?:shipping|delivery)", ("free shipping", "free delivery", "ships free", "delivered free")),
    (r"free[\s-]+returns?", ("free return",)),
    (r"money[\s-]+back", ("money back", "refund")),
    (r"(?:lifetime|\d+[\s-]+years?)[\s-]+warranty", ()),
    (r"patent(?:ed)?", ("patent",)),
    (r"fda[\s-]+(?:approved|cleared)", ("fda",)),
    (r"lab[\s-]+tested", ("lab tested", "laboratory tested")),
    (r"hand[\s-]?(?:made|crafted)", ("handmade", "hand made", "handcrafted", "hand crafted")),
    (r"certified", ("certified",)),
    (r"(?:most|least)[\s-]+(?:advanced|powerful|comfortable|popular|trusted|loved|reliable|effective)", ()),
    (r"lowest[\s-]+prices?", ()),
    (r"unbeatable|unmatched|unrivall?ed|unparall?eled|world[’']s[\s-]+(?:first|best|only)", ()),
]
_CLAIM_RES = [(re.compile(r"(?<![\w#])(?:" + pat + r")(?![\w])", re.IGNORECASE), support) for pat, support in CLAIMS]
# "made in Italy": the place must be in the facts.
_MADE_IN = re.compile(r"(?<!\w)(?i:made\s+in)\s+(?:(?i:the)\s+)?(?P<place>[A-Z][A-Za-z.]*(?:\s+[A-Z][A-Za-z.]*)*)")
# Superlatives: any -est word except these, which only look like one.
_NOT_SUPERLATIVE_WORDS = """
interest test rest guest forest honest modest harvest invest request nest chest quest west suggest protest digest
manifest contest pest zest vest crest arrest attest earnest conquest behest midwest priest latest newest lest jest
best-before biggest-ever everest tempest infest detest protest unrest inquest bequest
"""
_NOT_SUPERLATIVE = frozenset(_NOT_SUPERLATIVE_WORDS.split())
_SUPERLATIVE = re.compile(r"(?<![\w-])(?:best|[a-z]{2,}est)(?![\w-])", re.IGNORECASE)
_BEST_OK_BEFORE = re.compile(r"(?:your|you|my|our|its|their|his|her|at|look|feel|the\s+very)\s+$", re.IGNORECASE)


def _facts_norm(facts: str) -> str:
    return " " + re.sub(r"[\s-]+", " ", facts.lower().replace("’", "'")) + " "


def find_claims(text: str, facts: str) -> list[Flag]:
    """Claims (certifications, awards, superlatives, shipping, origin) not backed by the facts."""
    fn = _facts_norm(facts)
    flags = []
    for regex, support in _CLAIM_RES:
        for m in regex.finditer(text):
            said = re.sub(r"[\s-]+", " ", m.group(0).lower())
            if said in fn or any(s in fn for s in support):
                continue
            flags.append(
                Flag(
                    m.start(),
                    m.end(),
                    m.group(0),
                    "unsupported_claim",
                    f'"{m.group(0)}" is a claim the product facts don\'t back up.',
                )
            )
    for m in _MADE_IN.finditer(text):
        place = m.group("place").rstrip(".")
        if place.lower() not in fn:
            end = m.start("place") + len(place)
            flags.append(
                Flag(
                    m.start(),
                    end,
                    text[m.start() : end],
                    "unsupported_claim",
                    f"The product facts don't say where it is made ({place}).",
                )
            )
    for m in _SUPERLATIVE.finditer(text):
        word = m.group(0).lower()
        if (
            word in _NOT_SUPERLATIVE
            or f" {word} " in fn
            or (word == "best" and _BEST_OK_BEFORE.search(text[: m.start()]))
        ):
            continue
        if word != "best" and len(word) < 6:  # "lest", "zest": real superlatives are "finest"+
            continue
        flags.append(
            Flag(
                m.start(),
                m.end(),
                m.group(0),
                "unsupported_claim",
                f'"{m.group(0)}" claims to beat every other product; the facts don\'t back that up.',
            )
        )
    return flags


def find_numbers(text: str, facts: str) -> list[Flag]:
    """Numbers (with units, currency, percentages) not found in the facts."""
    facts_digits = _facts_for_numbers(facts)
    facts_q = find_quantities(facts_digits)
    facts_literal = _literal(facts_digits)
    flags = []
    for q in find_quantities(text):
        if _quantity_supported(q, facts_q, facts_literal):
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


_TOKEN = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")
_BOUNDARY = set(".!?:;\n…|•–—")


def _singular(w: str) -> set[str]:
    out = {w}
    if w.endswith("ies") and len(w) > 4:
        out.add(w[:-3] + "y")
    if w.endswith("es") and len(w) > 3:
        out.add(w[:-2])
    if w.endswith("s") and len(w) > 2:
        out.add(w[:-1])
    return out


def _facts_words(facts: str) -> set[str]:
    words = set()
    low = facts.lower().replace("’", "'")
    for tok in re.findall(r"[a-z0-9]+(?:[-'.][a-z0-9]+)*", low):
        for form in (tok, tok.replace("-", "").replace("'", "").replace(".", ""), *re.split(r"[-'.]", tok)):
            if form:
                words |= _singular(form)
    return words


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“”‘’([*")
    return not before or before[-1] in _BOUNDARY or (before[-1] == "-" and before[-2:-1] in (" ", ""))


def find_names(text: str, facts: str) -> list[Flag]:
    """Capitalised words that look like names (brands, products, places) and are not in the facts.

    A capitalised ordinary word ("Shop Now", Title Case headlines, a sentence's
    first word) is not a name; a word with an inner capital ("iPhone") or one
    that is not an ordinary word ("Sony") is, unless it opens a sentence: the
    first word of a sentence is only flagged when it has an inner capital or
    digits, because without a dictionary of names "Unleash" and "Sony" look alike.
    """
    words = _facts_words(facts)
    hits: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if not any(c.isupper() for c in tok) or tok[0].isdigit():
            continue
        low = tok.lower()
        # joined forms so "Wi-Fi" matches "WiFi" and "Nike's" matches "Nike"
        joined = re.match(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*", text[m.start() :]).group(0).lower()
        joined = re.sub(r"['’]s$", "", joined).replace("-", "").replace("'", "").replace("’", "")
        if _singular(low) & words or _singular(joined) & words or low in ALWAYS_CAPITALISED:
            continue
        inner_capital = any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok)
        has_digit = any(c.isdigit() for c in tok)
        if inner_capital or has_digit:
            hits.append((m.start(), m.end()))
        elif _is_sentence_start(text, m.start()) or len(tok) == 1:
            continue
        elif not is_common(tok):
            hits.append((m.start(), m.end()))
    # merge neighbours ("Sony Bravia", "Aqua-Pure") into one span, extending over a capitalised
    # sentence-start word just before a flagged one ("Sony Bravia" at the start of a sentence)
    spans: list[list[int]] = []
    for start, end in hits:
        if spans and re.fullmatch(r"[\s-]", text[spans[-1][1] : start]):
            spans[-1][1] = end
        else:
            prev = re.search(r"([A-Z][A-Za-z0-9]*)[\s-]$", text[:start])
            if (
                prev
                and _is_sentence_start(text, prev.start(1))
                and not is_common(prev.group(1))
                and not (_singular(prev.group(1).lower()) & words)
            ):
                start = prev.start(1)
            spans.append([start, end])
    return [
        Flag(
            s,
            e,
            text[s:e],
            "unsupported_name",
            f'"{text[s:e]}" is not named in the product facts; is it an invented brand or product?',
        )
        for s, e in spans
    ]


def find_unsupported(text: str, facts: str) -> list[Flag]:
    """All unsupported numbers, names and claims in `text`, by position; of overlapping spans the claim wins."""
    return resolve_overlaps(find_numbers(text, facts) + find_names(text, facts) + find_claims(text, facts))


def score_faithfulness(flags: list[Flag]) -> tuple[float, str]:
    """1 with nothing unsupported, halved by each unsupported span."""
    unsupported = [f for f in flags if f.kind.startswith("unsupported_")]
    if not unsupported:
        return 1.0, "Every number, name and claim is backed by the product facts."
    shown = ", ".join(f'"{f.text}"' for f in unsupported[:3]) + (" …" if len(unsupported) > 3 else "")
    n = len(unsupported)
    return 0.5**n, f"{n} detail{'s' if n > 1 else ''} not in the product facts: {shown}; verify or remove."

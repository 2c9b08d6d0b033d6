"""Faithfulness: numbers, names and claims in a variant that the product's facts don't support.

Small models invent facts ("now 50% off", "by Sony", "clinically proven"); each
such span is returned as a Flag so the UI can highlight it. Matching is
lenient in format and strict in content: "1,000" = "1000", "50ml" = "50 ml",
"$19.99" = "19.99", case and plurals are ignored; but "50%" needs a 50% in the
facts, not just any 50, "3-month" needs a 3 that counts months (a bare 3 or
"3 pieces" is not enough), an age ("ages 3+") needs an age or years, and a
number counting something ("2 different sounds") needs the same number near
the same word in the facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copy_engine.scoring.flags import FAITHFULNESS_KINDS, Flag, resolve_overlaps
from copy_engine.scoring.lexicon import (
    ALWAYS_CAPITALISED,
    CLAIM_FAMILIES,
    CLAIM_FAMILY_REASONS,
    ORIGIN_VERBS,
    is_common,
)

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
        if not currency and not literal and unit in (None, "year"):
            # "ages 3+", "3 and up", "8-year-old": an age, which only an age (or years) in the facts backs up
            if age := _AGE_AFTER.match(text[end:]):
                unit, end = "age", end + age.end()
            elif unit is None and _AGE_BEFORE.search(text[: m.start()]):
                unit = "age"
            elif unit is None and _PACK_BEFORE.search(text[: m.start()]):
                unit = "pack"
        out.append(Quantity(m.start(), end, value, unit, currency, literal))
    return out


def _facts_for_numbers(facts: str) -> str:
    """Facts with number words written as digits ("two-pack" -> "2-pack")."""

    def repl(m: re.Match) -> str:
        return str(_NUMBER_WORDS[m.group(0).lower()])

    facts = re.sub(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", repl, facts, flags=re.IGNORECASE)
    # "14.7 x 11.1 x 10.2 inches": every number of the chain has the final unit
    chains = [
        " ".join(f"{n} {m.group('unit')}" for n in re.findall(r"\d+(?:\.\d+)?", m.group("nums")))
        for m in _DIMENSIONS.finditer(facts)
    ]
    return facts + ("\n" + "\n".join(chains) if chains else "")


_DIMENSIONS = re.compile(r"(?P<nums>\d+(?:\.\d+)?(?:\s*[x×]\s*\d+(?:\.\d+)?)+)\s*(?P<unit>[A-Za-z\"”]+)", re.IGNORECASE)


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "to",
        "with",
        "from",
        "per",
        "each",
        "your",
        "our",
        "its",
        "their",
        "this",
        "that",
        "all",
        "new",
        "different",
        "unique",
        "separate",
        "individual",
        "great",
        "fun",
        "amazing",
        "cute",
        "beautiful",
        "colorful",
        "colourful",
        "bright",
        "cool",
        "mini",
        "small",
        "little",
        "big",
        "large",
        "extra",
        "more",
    ]
)


def _following_words(text: str, end: int, n: int = 3) -> list[str]:
    """Up to n content words right after a number (stopping at punctuation), singular, lower case."""
    m = re.match(r"[\s-]*([A-Za-z][A-Za-z' -]*)", text[end:])
    if not m:
        return []
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", m.group(1))[: n + 2]]
    return [w for w in words if w not in _STOP and len(w) > 2][:n]


def _segments_with(value: float, facts: str) -> str:
    """The facts' segments (feature, sentence, name) that contain `value`, lower case and singular."""
    out = []
    for seg in re.split(r"[\n|;•]|(?<=[.!?])\s", facts):
        if any(q.value == value for q in find_quantities(seg)):
            out.append(_words_norm(seg))
    return " ".join(out)


def _quantity_supported(
    q: Quantity, facts_q: list[Quantity], facts_literal: str, facts: str = "", text: str = ""
) -> bool:
    if q.literal:
        if q.literal in facts_literal:
            return True
        if q.literal.endswith("k") and q.value is not None:  # "10k" = 10,000
            return any(f.value == q.value * 1000 for f in facts_q)
        return False
    same = [f for f in facts_q if f.value is not None and abs(f.value - q.value) <= 1e-9]
    same = [f for f in same if not (q.currency and f.currency and q.currency != f.currency)]
    if q.unit is not None:
        ok_units = _COMPATIBLE.get(q.unit, {q.unit})
        if any(f.unit in ok_units for f in same):
            return True
        # a bare number in the facts ("pack of 2") backs a count ("2-pack"), never a measure:
        # "3-month" needs months, and "50%" is a discount or share claim, never just "50"
        return q.unit in COUNT_UNITS and any(f.unit is None for f in same)
    if not same:
        return False
    # "Frozen 2", "Series 7": a title or model the facts spell the same way
    prev = re.search(r"([A-Za-z]+)[\s-]*$", text[: q.start]) if text else None
    if prev and f" {_singular_word(prev.group(1).lower())} {text[q.start : q.end].lower()} " in _words_norm(facts):
        return True
    # A bare number that counts something ("2 different sounds") needs that thing near the number in the facts.
    counted = _following_words(text, q.end, 1) if text else []
    if not counted:
        return True
    near = _segments_with(q.value, facts)
    return any(f" {_singular_word(w)} " in near for w in counted)


# (copy pattern, facts phrases that support it, family); see lexicon.CLAIM_FAMILIES.
CLAIMS: list[tuple[str, tuple[str, ...]]] = [(pat, sup) for fam in CLAIM_FAMILIES.values() for pat, sup in fam]
_CLAIM_RES = [
    (re.compile(r"(?<![\w#])(?:" + pat + r")(?![\w])", re.IGNORECASE), support, family)
    for family, entries in CLAIM_FAMILIES.items()
    for pat, support in entries
]
# "No batteries required": backed by "no batteries", "batteries not required", "without batteries"...
_NO_X_REQUIRED = re.compile(
    r"(?<!\w)no\s+(?P<thing>[a-z]+(?:[\s-][a-z]+)?)\s+(?:required|needed|necessary)(?!\w)", re.IGNORECASE
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


def _singular_word(w: str) -> str:
    """Crude singular used on both sides of a comparison ("antioxidants" -> "antioxidant", "batteries" -> "battery")."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def _words_norm(text: str) -> str:
    """Lower case, hyphens and runs of spaces as one space, words singular, padded with spaces."""
    low = text.lower().replace("’", "'")
    low = re.sub(r"[,;:!?()\[\]\"“”/|*]|\.(?=\s|$)", " ", low)  # punctuation, not "no.1"-style dots
    low = re.sub(r"[\s-]+", " ", low)
    return " " + " ".join(_singular_word(w) for w in low.split(" ") if w) + " "


def _facts_norm(facts: str) -> str:
    return _words_norm(facts)


def _backed(phrase: str, fn: str) -> bool:
    """True when `phrase` starts a word of the normalised facts `fn` (so "recycl" backs "recyclable")."""
    p = _words_norm(phrase).strip()
    return bool(p) and (" " + p) in fn


def find_claims(text: str, facts: str) -> list[Flag]:
    """Claims (certifications, health, materials, origins, awards, warranties, shipping, superlatives)
    not backed by the facts."""
    fn = _facts_norm(facts)
    flags = []
    for regex, support, family in _CLAIM_RES:
        for m in regex.finditer(text):
            if _backed(m.group(0), fn) or any(_backed(s, fn) for s in support):
                continue
            flags.append(
                Flag(
                    m.start(),
                    m.end(),
                    m.group(0),
                    "unsupported_claim",
                    f'"{m.group(0)}" is {CLAIM_FAMILY_REASONS[family]} the product facts don\'t back up.',
                )
            )
    for m in _NO_X_REQUIRED.finditer(text):
        thing = _singular_word(m.group("thing").lower())
        backs = (
            f"no {thing}",
            f"{thing} not required",
            f"{thing} not needed",
            f"without {thing}",
            f"{thing} required no",
            f"{thing} required? no",
            f"{thing} free",
        )
        if any(_backed(b, fn) for b in backs):
            continue
        flags.append(
            Flag(
                m.start(),
                m.end(),
                m.group(0),
                "unsupported_claim",
                f'"{m.group(0)}" is a promise the product facts don\'t back up.',
            )
        )
    for m in _ORIGIN.finditer(text):
        place = m.group("place").rstrip(".")
        if not _backed(place, fn):
            end = m.start("place") + len(place)
            flags.append(
                Flag(
                    m.start(),
                    end,
                    text[m.start() : end],
                    "unsupported_claim",
                    f"The product facts don't say where it comes from ({place}).",
                )
            )
    for m in _SUPERLATIVE.finditer(text):
        word = m.group(0).lower()
        if (
            word in _NOT_SUPERLATIVE
            or f" {_singular_word(word)} " in fn
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


# Number words checked in copy ("a set of three", "four sounds"); "one", "single", "double" and "pair" read as
# ordinary words too often ("one of a kind", "double the fun") to be counted.
_COPY_NUMBER_WORDS = re.compile(
    r"(?<![\w-])(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|twenty|thirty|fifty)(?![\w-])",
    re.IGNORECASE,
)


def _copy_quantities(text: str) -> list[Quantity]:
    """find_quantities plus spelled-out counts, with spans on the original text."""
    if not _COPY_NUMBER_WORDS.search(text):
        return find_quantities(text)
    digits = _COPY_NUMBER_WORDS.sub(lambda m: str(_NUMBER_WORDS[m.group(0).lower()]).ljust(len(m.group(0)), "\0"), text)
    return _spelled(digits)


def _spelled(digits: str) -> list[Quantity]:
    # number words were replaced by digits padded with NULs to keep offsets; read the quantities on a copy where
    # the padding is gone, then map their spans back
    keep = [i for i, c in enumerate(digits) if c != "\0"]
    compact = "".join(digits[i] for i in keep)
    out = []
    for q in find_quantities(compact):
        start, end = keep[q.start], keep[q.end - 1] + 1
        while end < len(digits) and digits[end] == "\0":  # extend over the rest of the spelled word
            end += 1
        out.append(Quantity(start, end, q.value, q.unit, q.currency, q.literal))
    return out


def find_numbers(text: str, facts: str) -> list[Flag]:
    """Numbers (with units, currency, percentages; digits or spelled-out counts) not found in the facts."""
    facts_digits = _facts_for_numbers(facts)
    facts_q = find_quantities(facts_digits)
    facts_literal = _literal(facts_digits)
    flags = []
    for q in _copy_quantities(text):
        if _quantity_supported(q, facts_q, facts_literal, facts_digits, text):
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


_USED_AS_NAME = re.compile(r"(?:\s+(?:is|are|was|has|have|makes|brings|offers)\b|['’]s\b|\s+[-–&:]\s)")


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“”‘’([*")
    return not before or before[-1] in _BOUNDARY or (before[-1] == "-" and before[-2:-1] in (" ", ""))


def find_names(text: str, facts: str) -> list[Flag]:
    """Capitalised words that look like names (brands, products, places) and are not in the facts.

    A capitalised ordinary word ("Shop Now", Title Case headlines, a sentence's
    first word) is not a name; a word with an inner capital ("iPhone") or one
    that is not an ordinary word ("Sony") is, unless it opens a sentence: the
    first word of a sentence is only flagged when it has an inner capital or
    digits, or is used as a name ("Zorbix is...", "Zorbix - the..."), because
    without a dictionary of names "Unleash" and "Sony" look alike.
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
        elif len(tok) == 1:
            continue
        elif _is_sentence_start(text, m.start()):
            # a sentence's first word is a name only when used as one: "Neocarn is...", "Zorbix - the...",
            # "Olaf & Elsa"; "Unleash the..." and "Organize Paper..." (Title Case) are not
            if not is_common(tok) and len(tok) > 3 and _USED_AS_NAME.match(text, m.end()):
                hits.append((m.start(), m.end()))
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
    """All unsupported numbers, names and claims in `text`, and kinds of product the facts never mention
    (off_product), by position; of overlapping spans an off-product kind wins, then a claim."""
    from copy_engine.scoring.off_product import find_off_product

    return resolve_overlaps(
        find_numbers(text, facts) + find_names(text, facts) + find_claims(text, facts) + find_off_product(text, facts)
    )


def score_faithfulness(flags: list[Flag]) -> tuple[float, str]:
    """1 with nothing unsupported, halved by each unsupported or off-product span."""
    unsupported = [f for f in flags if f.kind in FAITHFULNESS_KINDS]
    if not unsupported:
        return 1.0, "Every number, name and claim is backed by the product facts."
    if all(f.kind == "off_product" for f in unsupported):
        shown = ", ".join(f'"{f.text}"' for f in unsupported[:3])
        return 0.5 ** len(unsupported), f"Names a different kind of product: {shown}; this copy is not about this product."
    shown = ", ".join(f'"{f.text}"' for f in unsupported[:3]) + (" …" if len(unsupported) > 3 else "")
    n = len(unsupported)
    return 0.5**n, f"{n} detail{'s' if n > 1 else ''} not in the product facts: {shown}; verify or remove."

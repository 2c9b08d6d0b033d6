"""Call to action: is there one, how strong is it, and does it use risky pressure wording."""

from __future__ import annotations

import re

from copy_engine.scoring.flags import Flag

# Imperative verbs that ask for an action, with how directly they ask.
STRONG_VERBS = (
    "shop",
    "buy",
    "order",
    "get",
    "grab",
    "claim",
    "book",
    "save",
    "reserve",
    "add",
    "subscribe",
    "sign up",
    "start",
    "join",
    "try",
    "snag",
    "stock up",
    "pick up",
    "pre-order",
    "preorder",
    "register",
)
SOFT_VERBS = (
    "discover",
    "explore",
    "find",
    "see",
    "learn",
    "visit",
    "browse",
    "check out",
    "upgrade",
    "unlock",
    "treat",
    "download",
    "call",
    "request",
    "apply",
    "switch",
    "give",
    "gift",
)
SOFT_STRENGTH = 0.7

# Words that add urgency or a reason to act now ("today", "free", "save 20%").
URGENCY_WORDS = (
    "now",
    "today",
    "tonight",
    "yours",
    "free",
    "off",
    "new",
    "exclusive",
    "limited",
    "instantly",
    "deal",
    "offer",
    "sale",
    "before",
    "while",
    "fast",
)

# Wording that pressures without a real deadline, or promises what may not be kept.
PRESSURE_PHRASES = (
    "last chance",
    "final chance",
    "only today",
    "today only",
    "ends today",
    "ends tonight",
    "ends soon",
    "ends at midnight",
    "act now",
    "act fast",
    "hurry",
    "don't miss out",
    "dont miss out",
    "don't miss",
    "before it's gone",
    "before its gone",
    "before they're gone",
    "or lose",
    "or miss out",
    "while supplies last",
    "while stocks last",
    "selling fast",
    "almost gone",
    "limited time only",
    "now or never",
    "once in a lifetime",
    "last few",
    "going fast",
)
# phrase -> what the product facts must mention for it to be backed up
PROMISE_PHRASES = {
    "guaranteed": "guarantee",
    "guarantee": "guarantee",
    "risk-free": "risk free",
    "risk free": "risk free",
    "no risk": "risk free",
    "100% satisfaction": "satisfaction",
}
_ONLY_LEFT = r"only\s+\d+\s+left"

_CLAUSE_START = re.compile(r"(^|[.!?:;,\n—–-]\s*|\b(?:and|or|then|so|now)\s+)$", re.IGNORECASE)
# After a verb mid-clause, only these make it an imperative ("... so get yours", not "customers buy it").
_OBJECT_AFTER = re.compile(r"^\s+(?:now|today|yours|started)\b", re.IGNORECASE)


def _norm(s: str) -> str:
    return re.sub(r"[\s-]+", " ", s.lower().replace("’", "'")).strip()


def _verb_pattern(verb: str) -> str:
    """Whole-word, case-insensitive pattern; spaces match spaces or hyphens, ' matches ’ too."""
    words = [re.escape(p).replace("'", "['’]") for p in re.split(r"[\s-]+", verb) if p]
    return r"(?<![\w'’])" + r"[\s-]+".join(words) + r"(?![\w'’])"


def find_ctas(text: str) -> list[tuple[int, int, float]]:
    """(start, end, strength) of each imperative CTA verb: at the start of a clause or followed by an object."""
    found = []
    for verbs, strength in ((STRONG_VERBS, 1.0), (SOFT_VERBS, SOFT_STRENGTH)):
        for verb in verbs:
            for m in re.finditer(_verb_pattern(verb), text, re.IGNORECASE):
                before = text[: m.start()]
                if _CLAUSE_START.search(before.rstrip(" \t\"'“”‘’([*") + (" " if before[-1:].isspace() else "")) or (
                    _OBJECT_AFTER.match(text[m.end() :])
                    and not re.search(r"\b(?:to|will|can|you|we|they|i)\s+$", before, re.IGNORECASE)
                ):
                    found.append((m.start(), m.end(), strength))
    return sorted(found)


def score_cta(text: str) -> tuple[float, str]:
    """Strength in [0, 1]: verb directness (0.6 max), position at start/end (+0.2), urgency or benefit words (+0.2)."""
    stripped = text.strip()
    ctas = find_ctas(text)
    if not ctas or not stripped:
        return 0.0, "No call to action."
    lead = len(text) - len(text.lstrip())
    best, best_desc, best_span = -1.0, "", (0, 0)
    for start, end, strength in ctas:
        at_start = start == lead
        # "at the end" = in the final sentence (nothing but trailing punctuation ends a sentence after it)
        at_end = not re.search(r"[.!?\n]+\s*\S", text[end:].rstrip())
        position = 0.2 if (at_start or at_end) else 0.05
        value = 0.6 * strength + position
        if value > best:
            best, best_span = value, (start, end)
            best_desc = "at the start" if at_start else ("at the end" if at_end else "in the middle")
    words = {w.lower() for w in re.findall(r"[A-Za-z']+", text)}
    urgency = sum(1 for w in URGENCY_WORDS if w in words) + (1 if "%" in text else 0)
    score = min(1.0, best + min(0.2, 0.1 * urgency))
    verb = text[best_span[0] : best_span[1]]
    kind = "Strong" if score >= 0.75 else ("Clear" if score >= 0.5 else "Weak")
    return score, f'{kind} call to action ("{verb}") {best_desc}.'


def find_false_urgency(text: str, facts: str) -> list[Flag]:
    """Pressure or promise wording, unless the product facts back it up (e.g. a real guarantee)."""
    facts_n = _norm(facts)
    flags = []
    for phrases, reason in (
        (
            {p: p for p in PRESSURE_PHRASES},
            "Pressure wording with no deadline or stock limit in the product facts; it can read as false urgency.",
        ),
        (PROMISE_PHRASES, "A promise the product facts don't back up; it can be a compliance risk."),
    ):
        for phrase, support in phrases.items():
            if _norm(support) in facts_n:
                continue
            for m in re.finditer(_verb_pattern(phrase), text, re.IGNORECASE):
                flags.append(Flag(m.start(), m.end(), m.group(0), "false_urgency", reason))
    for m in re.finditer(_ONLY_LEFT, text, re.IGNORECASE):
        if _norm(m.group(0)) not in facts_n:
            flags.append(
                Flag(
                    m.start(),
                    m.end(),
                    m.group(0),
                    "false_urgency",
                    "A stock count the product facts don't give; it can read as false urgency.",
                )
            )
    return flags

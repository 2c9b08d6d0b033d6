"""Flagged spans of a variant: text the copywriter must check before publishing."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Kinds a flag can have; the UI colours spans by kind.
FLAG_KINDS = (
    "unsupported_number",
    "unsupported_name",
    "unsupported_claim",
    "unsupported_word",
    "off_product",
    "banned",
    "false_urgency",
    "doubtful",
)

# When two flags overlap, the one earlier in this order is kept (a banned phrase
# matters more than the claim inside it, a claim more than a name inside it).
_PRIORITY = {
    "banned": 0,
    "off_product": 1,
    "unsupported_claim": 2,
    "unsupported_number": 3,
    "unsupported_name": 4,
    "false_urgency": 5,
    "unsupported_word": 6,  # any other word: the more specific kinds explain the same span better
    "doubtful": 7,  # the reader's weakest word: a hint, and any checked problem on it says more
}


@dataclass
class Flag:
    """One flagged span: `text == variant[start:end]`."""

    start: int
    end: int
    text: str
    kind: str  # one of FLAG_KINDS
    reason: str  # one sentence for the copywriter

    def to_dict(self) -> dict:
        """JSON form, as stored in runs, favourites and bulk results."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Flag":
        """A flag read back from its JSON form (rows written by any version: missing parts are empty)."""
        return cls(int(d.get("start", -1)), int(d.get("end", -1)), str(d.get("text") or ""),
                   str(d.get("kind") or ""), str(d.get("reason") or ""))  # fmt: skip


HARD_KINDS = ("unsupported_number", "unsupported_name", "unsupported_claim", "unsupported_word", "off_product", "banned")
# Kinds that count against faithfulness: details the facts do not support, and a different kind of product.
FAITHFULNESS_KINDS = ("unsupported_number", "unsupported_name", "unsupported_claim", "unsupported_word", "off_product")


def resolve_overlaps(flags: list[Flag]) -> list[Flag]:
    """Flags sorted by position with overlapping spans reduced to the highest-priority one."""
    kept: list[Flag] = []
    for f in sorted(flags, key=lambda f: (_PRIORITY.get(f.kind, 9), f.start, -(f.end - f.start))):
        if any(f.start < k.end and k.start < f.end for k in kept):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end))

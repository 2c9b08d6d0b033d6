"""Words and phrases from the banned list (Settings.banned_words) found in a variant."""

from __future__ import annotations

import re
from collections.abc import Sequence

from copy_engine.scoring.flags import Flag


def phrase_pattern(phrase: str) -> str:
    """Regex for a phrase: case-insensitive, any run of spaces/hyphens between words, whole words only."""
    parts = [re.escape(p) for p in re.split(r"[\s-]+", phrase.strip()) if p]
    return r"(?<!\w)" + r"[\s-]+".join(parts) + r"(?!\w)"


def find_banned(text: str, banned_words: Sequence[str]) -> list[Flag]:
    """One flag per occurrence of a banned word or phrase."""
    flags = []
    for phrase in banned_words:
        if not phrase or not phrase.strip():
            continue
        for m in re.finditer(phrase_pattern(phrase), text, flags=re.IGNORECASE):
            flags.append(
                Flag(m.start(), m.end(), m.group(0), "banned", f'"{phrase.strip()}" is on your banned-word list.')
            )
    return flags

"""Word forms shared by the faithfulness checks: singular forms and the normalised text phrases are compared in.

Two uses need two strengths of singular, and both rules live here so they cannot drift apart:

- `singular(w)` is one canonical form, applied to both sides of a phrase comparison (claims, the words after a
  number, titles): "batteries" -> "battery", "antioxidants" -> "antioxidant", "glass" and "status" unchanged.
- `singular_forms(w)` is every form `w` might be the plural of, for matching single words (names): "boxes" ->
  {"boxes", "boxe", "box"}. Two words match when their sets meet, so "Boxes" is backed by "box" and "Glass" by
  "glasses", which one canonical form cannot do without a dictionary. It always holds `w` and `singular(w)`.

The `inflect` package was measured as a replacement and not adopted: with it as both rules the flags change on
3 of 21,866 (copy, facts) pairs, all the size "XS" that its singular "x" lets any "10 x 4" in the facts back up; it
also singularises "bus", "this" and "analysis" to "bu", "thi" and "analysi", costs ~70 µs a word (these rules <1 µs),
takes ~1.5 s to import and brings four more packages.
"""

from __future__ import annotations

import re


def singular(w: str) -> str:
    """Crude canonical singular of a lower-case word ("antioxidants" -> "antioxidant", "batteries" -> "battery")."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def singular_forms(w: str) -> set[str]:
    """`w` and every form it may be the plural of ("-ies" -> "-y", "-es" and "-s" dropped)."""
    out = {w}
    if w.endswith("ies") and len(w) > 4:
        out.add(w[:-3] + "y")
    if w.endswith("es") and len(w) > 3:
        out.add(w[:-2])
    if w.endswith("s") and len(w) > 2:
        out.add(w[:-1])
    return out


def words_norm(text: str) -> str:
    """Lower case, hyphens and runs of spaces as one space, words singular, padded with spaces.

    A phrase normalised this way is found in normalised facts by plain substring search (`f" {w} " in norm`).
    """
    low = text.lower().replace("’", "'")
    low = re.sub(r"[,;:!?()\[\]\"“”/|*]|\.(?=\s|$)", " ", low)  # punctuation, not "no.1"-style dots
    low = re.sub(r"[\s-]+", " ", low)
    return " " + " ".join(singular(w) for w in low.split(" ") if w) + " "

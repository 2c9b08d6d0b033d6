"""Things the facts say come separately, named in the copy as if they came with the product.

Eleven percent of our catalog's products say that something is "sold separately" or "not included" (a crib
mattress for a toddler bed, a hat and gun for a costume, batteries, a smartphone). The model reads the
thing as part of the product: "a SpongeBob toddler bed with a standard crib mattress" (read 23). Every word
of that line is in the facts, so no other check sees it. A copy that names such a thing after "with",
"includes", "plus", "complete with" … (a few words before it at most) and does not itself say it is sold
separately is flagged as an unsupported claim; naming it otherwise ("fits a standard crib mattress",
"coordinates with SpongeBob bedding") is fine.
"""

from __future__ import annotations

import functools
import itertools
import re

from copy_engine.scoring.faithfulness.words import singular
from copy_engine.scoring.flags import Flag

# "X (sold separately)", "X sold separately", "X not included", "X are each sold separately"
_SEPARATE = re.compile(
    r"(?i)\b((?:[a-z][\w'’-]*(?:,|\s+and|\s+or|\s*&)?\s+){0,3}[a-z][\w'’-]*)\s*\(?\s*(?:(?:is|are|each)\s+)*"
    r"(?:sold\s+separately|not\s+included)"
)
# Words that cannot stand for the separate thing: the last word of "sheet set is sold separately" is "set".
_GENERIC = frozenset(
    """set sets pack kit piece pieces item items accessory accessories part parts each all other others one ones
    the a an and or of for with your its their this that these those is are be only also which but available
    additional required extra more series die-cast""".split()
)
# What puts a thing inside the product: "with a standard crib mattress", "includes batteries", "plus the hat".
_INCLUDING = r"(?:with|includes?|including|included|comes?\s+with|complete\s+with|plus|featuring|has|have|and)"
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_WINDOW = 4  # words after "with" … that it can put inside the product
# "with" after these says the thing goes beside the product, as the facts do ("coordinates with … bedding")
_ALONGSIDE = re.compile(r"(?i)\b(?:coordinates?|goes|go|works?|pairs?|compatible|matches|match|use[sd]?|fits?|together)\s+$")
# "and" after "to build" joins two verbs ("a kit to build and paint"), not the product and a thing
_TO_VERB = re.compile(r"(?i)\bto\s+[a-z]+\s+$")
_SAYS_SEPARATE = re.compile(r"(?i)sold\s+separately|not\s+included|\bseparate")


@functools.lru_cache(maxsize=256)
def separate_things(facts: str) -> frozenset[str]:
    """Singular head nouns of what `facts` says is sold separately or not included, leaving out words of the
    product's own name (its first line): "Collect the other vehicles (each sold separately)" for a vehicle."""
    lines = facts.strip().splitlines()
    name = {singular(w) for w in re.findall(r"[a-z]+", lines[0].lower())} if lines else set()
    out = set()
    for m in _SEPARATE.finditer(facts):
        raw = m.group(1).split()
        words = [w.strip(",&").lower() for w in raw]
        # a head ends the phrase or a part of it: "hat and gun": both; "comforter, sheet set": "sheet";
        # "3 AA batteries": "batteries"
        ends = [i for i in range(len(words))
                if i == len(words) - 1 or words[i + 1] in ("and", "or", "&") or raw[i].endswith(",")]  # fmt: skip
        for k in ends:
            while words[k] in _GENERIC and k > 0:  # "sheet set" -> "sheet"
                k -= 1
            head = singular(words[k])
            if head not in _GENERIC and head not in name and len(head) > 2:
                out.add(head)
    return frozenset(out)


def find_separately_sold(text: str, facts: str) -> list[Flag]:
    """Flags for things `facts` says come separately that `text` names as coming with the product."""
    things = separate_things(facts)
    if not things or _SAYS_SEPARATE.search(text):
        return []
    flags: list[Flag] = []
    for m in re.finditer(rf"(?i)\b{_INCLUDING}\b", text):
        before = text[: m.start()]
        if _ALONGSIDE.search(before) or (m.group(0).lower() == "and" and _TO_VERB.search(before)):
            continue  # "coordinates with SpongeBob bedding": beside the product, not in it
        # the next few words after "with" / "includes" / …: "with a standard crib mattress"
        for w in itertools.islice(_WORD.finditer(text, m.end()), _WINDOW):
            if singular(w.group(0).lower()) in things and not any(f.start == w.start() for f in flags):
                flags.append(
                    Flag(w.start(), w.end(), w.group(0), "unsupported_claim",
                         f'The facts say "{w.group(0).lower()}" is sold separately or not included.')
                )
    return flags

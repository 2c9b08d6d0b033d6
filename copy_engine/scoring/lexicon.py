"""Word lists used to tell ordinary (capitalised) words from proper names.

A capitalised word in copy is only suspicious when it is not an ordinary
English word: "Shop Now" or a Title Case headline must not be flagged as an
invented brand. No full English dictionary ships with the project's packages,
so the common-word list is the union of textstat's Dale-Chall easy words,
VADER's sentiment lexicon and the marketing vocabulary below, with simple
suffix stripping ("Crafted" -> "craft").
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

# Words copy uses all the time that are not in the easy-word or sentiment lists.
MARKETING_WORDS = """
about above add added adds advanced all-day anti aroma authentic available backed balance balanced battery beauty
bestseller better blend blends bold boost bottle brand bundle buy care carry charge charging choice classic clean
clever collection colour color comfort comfortable compact complete convenient cosy cozy craft crafted crisp curated
custom daily deal deals deep delicious deliver delivers delivery design designed designer detail discover discovery
durable easy eco edition effortless effortlessly elegant elevate elevated energy engineered enhance enhanced ensure
epic essential essentials everyday exclusive experience expert explore extra fabric fast favourite favorite feature
features fit flexible formula fresh freshness full gadget gear gentle genuine gift gifts glow go grab guaranteed
handcrafted handmade healthy heavy-duty high-quality hydrate hydrating hydration ideal indulge innovative inner
inspired instant instantly intense introducing kit latest layer lightweight limited long-lasting lasting luxe
luxurious luxury made make meet modern moisture must-have natural new next nourish nourishing offer offers online
order organic original outdoor outdoors own pack packed perfect performance personal power powered powerful
practical precision premium price pro professional protect protection pure quality quick ready real refresh
refreshing reliable relax renew restore reusable rich save savings seamless secure sensitive set shipping shop
signature simple simply skin sleek slim smart smooth soft solution sophisticated sparkle special spring stay step
stock store stunning style stylish summer superior support sustainable swap tailored taste tech tested timeless
today tomorrow top tough trusted ultimate ultra unbeatable unleash unlock upgrade value versatile vibrant vivid warm
waterproof wear wellness winter wireless world your yours zero
""".split()  # noqa: SIM905 (a word list reads better as text)

# Capitalised for reasons other than being a name.
ALWAYS_CAPITALISED = """
i i'm i'll i've i'd ok monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december christmas xmas easter halloween thanksgiving valentine
valentines hanukkah diwali ramadan eid black cyber mother mothers father fathers day year new years spring summer
autumn fall winter weekend holiday holidays
""".split()  # noqa: SIM905 (a word list reads better as text)

# Only suffixes that rarely end a brand name ("Sony" must not pass as "son" + "y").
_SUFFIXES = ("ing", "ed", "es", "s", "ly", "er", "est", "ness", "ful", "less", "able", "ible", "ment")


def _read_words(package: str, relative: str, *, first_column: bool = False) -> set[str]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return set()
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        return set()
    words = set()
    for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
        w = line.split("\t")[0].strip().lower() if first_column else line.strip().lower()
        if w.isalpha():
            words.add(w)
    return words


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Lower-case ordinary English words (loaded once)."""
    words = _read_words("textstat", "resources/en/easy_words.txt")
    words |= _read_words("vaderSentiment", "vader_lexicon.txt", first_column=True)
    words |= {w.lower() for w in MARKETING_WORDS}
    return frozenset(words)


def is_common(word: str) -> bool:
    """True when `word` (any case) is an ordinary English word or a simple inflection of one."""
    w = word.lower().strip("'’")
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    words = common_words()
    if w in words or w in ALWAYS_CAPITALISED:
        return True
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            stem = w[: -len(suf)]
            candidates = {stem, stem + "e"}
            if len(stem) > 3 and stem[-1] == stem[-2]:
                candidates.add(stem[:-1])  # "shopping" -> "shop"
            if stem.endswith("i"):
                candidates.add(stem[:-1] + "y")  # "tastiest" -> "tasty"
            if candidates & words:
                return True
    return False

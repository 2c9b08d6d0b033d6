"""Off-product copy: a variant that names a different kind of product than the one it is for.

The base model borrows product types from its few-shot examples and from nowhere ("Vinyl Stickers for Your
Dog" for a band-logo magnet, "A Scarf That Stays In Place" for a toy case). Such copy passes every number,
name and claim check, so it needs its own flag.

A product-kind noun in the copy is flagged when neither it nor any other noun of its family (plush, pillow
and cushion are one family; so are shirt, tee and hoodie) occurs anywhere in the product's facts (name,
category, features, description). Kinds named as the place or companion of the product ("fits in your
backpack", "for your desk", "comes with a case") are not the product itself and are left alone. The word
list is deliberately conservative: words that are often verbs or adjectives ("light", "watch", "paint",
"train", "ring", "case") are not in it, so a flag is rare on copy written from the facts.
"""

from __future__ import annotations

import functools
import re

from copy_engine.scoring.flags import Flag

# family -> product-kind nouns (singular; plurals are matched too). A word may sit in several families.
KIND_FAMILIES: dict[str, str] = {
    "sticker": "sticker decal tattoo",
    "magnet": "magnet",
    "plush": "plush plushie plushy stuffed teddy pillow cushion squishmallow softie beanbag",
    "doll": "doll dollhouse figurine statue bobblehead playset minifigure",
    "game": "puzzle jigsaw boardgame dice trivia domino dominoes chess checkers",
    "clothing": (
        "shirt t-shirt tshirt tee hoodie sweatshirt sweater jacket coat dress skirt pants trousers jeans shorts "
        "leggings sock pajama pyjama onesie bodysuit romper costume outfit uniform tutu apron robe"
    ),
    "scarf": "scarf scarves shawl glove mitten",
    "headwear": "hat beanie headband wig tiara helmet bonnet",
    "footwear": "shoe sneaker boot sandal slipper",
    "jewelry": "necklace bracelet earring pendant jewelry jewellery brooch anklet",
    "bag": "backpack purse tote wallet pouch satchel luggage suitcase handbag lunchbox",
    "drinkware": "mug tumbler thermos teacup",
    "tableware": "plate spoon fork knife cutlery chopsticks",
    "cookware": "pan skillet saucepan kettle cookware bakeware",
    "appliance": "dishwasher microwave blender toaster vacuum oven",  # not fridge: fridge magnets
    "cleaning": "detergent shampoo conditioner soap sanitizer",
    "stationery": "notebook journal pencil crayon marker envelope planner sketchbook stationery eraser",
    "art": "easel canvas watercolor watercolour clay dough slime",
    "vehicle": (
        "truck locomotive railcar flatcar boxcar caboose scooter bicycle bike tricycle skateboard drone "
        "helicopter airplane aeroplane plane tractor bulldozer excavator"
    ),
    "book": "book novel storybook comic paperback hardcover",
    "audio": "headphone earbud speaker microphone",
    "phone": "phone smartphone tablet laptop charger",
    "party": "balloon banner confetti invitation streamer pinata candle garland",
    "furniture": "chair sofa couch bookshelf bookcase stool ottoman mattress",
    "bedding": "blanket quilt duvet towel bedsheet",
    "cosmetics": "lipstick mascara eyeliner perfume lotion moisturizer serum nail polish",
    "pet": "leash collar kibble litter",
    "food": "candy chocolate cookie snack coffee tea gum",
    "sports": "racket racquet bat glove kite frisbee trampoline",
}
# Words that show the facts are about a family without being a kind noun we flag ("Magnetic Figures" is a
# magnet, "Fashion" a piece of clothing, a "card game" a game): they back the family, never raise a flag.
FAMILY_SUPPORT: dict[str, str] = {
    "sticker": "label patch applique",
    "magnet": "magnetic",
    "plush": "soft toy",
    "doll": "figure action barbie",
    "game": "game card board",
    "clothing": "fashion clothes clothing apparel wear garment look dress-up",
    "headwear": "cap crown mask",
    "jewelry": "charm ring",
    "bag": "bag case",
    "drinkware": "cup bottle",
    "stationery": "paper pen",
    "art": "paint craft art",
    "vehicle": "car vehicle train rc",
    "party": "party decoration favor",
    "cosmetics": "makeup beauty nail",
    "phone": "electronic",
    "food": "food",
    "sports": "sport ball",
    "furniture": "furniture table desk",
    "bedding": "bedding throw sheet",
}
# Words before a kind noun that make it the product's place or companion, not the product ("for your desk").
_CONTEXT_BEFORE = re.compile(
    r"(?i)\b(?:in|on|into|onto|inside|under|over|for|to|from|with|at|beside|near|around|by|like|than|as|"
    r"fits|fit|matches|match|pairs|pair|plus|and|or)\s+(?:(?:a|an|the|your|any|their|his|her|its|every|each|"
    r"most|some|other|my)\s+)?(?:[\w'-]+\s+){0,2}$"
)

_VERB_AFTER = re.compile(r"(?i)\s+(?:your|the|a|an|up|them|it|their|any|every|of)\b")  # "a cup of tea" is a measure


def _plural_forms(word: str) -> list[str]:
    if word.endswith(("s", "x", "ch", "sh")):
        return [word, word + "es"]
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return [word, word[:-1] + "ies"]
    if word.endswith("f"):
        return [word, word[:-1] + "ves", word + "s"]
    return [word, word + "s"]


def _forms_index(*tables: dict[str, str]) -> dict[str, frozenset[str]]:
    """Every written form of every word in `tables` (family -> words) -> the families it belongs to."""
    index: dict[str, set[str]] = {}
    for table in tables:
        for family, words in table.items():
            for word in words.split():
                for form in _plural_forms(word):
                    index.setdefault(form, set()).add(family)
    return {k: frozenset(v) for k, v in index.items()}


@functools.lru_cache(maxsize=1)
def _kind_index() -> dict[str, frozenset[str]]:
    """Every written form of a kind noun -> the families it belongs to."""
    return _forms_index(KIND_FAMILIES)


@functools.lru_cache(maxsize=1)
def _support_index() -> dict[str, frozenset[str]]:
    """Kind nouns and support words (all written forms) -> the families they show in the facts."""
    return _forms_index(KIND_FAMILIES, FAMILY_SUPPORT)


@functools.lru_cache(maxsize=1)
def _kind_regex() -> re.Pattern:
    forms = sorted(_kind_index(), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(f) for f in forms) + r")(?![\w-])", re.IGNORECASE)


def families_in(text: str) -> set[str]:
    """Kind families named or backed anywhere in `text` (facts)."""
    index = _support_index()
    out: set[str] = set()
    for word in re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower()):
        for form in (word, *word.split("-")):
            out |= index.get(form, frozenset())
    return out


def find_off_product(text: str, facts: str) -> list[Flag]:
    """Spans of `text` that name a kind of product the facts never mention (kind "off_product")."""
    if not text or not facts:
        return []
    in_facts = families_in(facts)
    index = _kind_index()
    flags = []
    for m in _kind_regex().finditer(text):
        word = m.group(0)
        if index[word.lower()] & in_facts:
            continue
        if _CONTEXT_BEFORE.search(text[: m.start()]) or text[: m.start()].endswith("#"):
            continue
        if _VERB_AFTER.match(text, m.end()):  # "Dress your table", "Plane the edge": a verb, not the product
            continue
        flags.append(
            Flag(
                m.start(),
                m.end(),
                word,
                "off_product",
                f'"{word}" names a different kind of product; the facts describe no {word.lower()}.',
            )
        )
    return flags

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
today tomorrow top tough trail trails trusted ultimate ultra unbeatable unleash unlock upgrade value versatile vibrant vivid warm
waterproof wear wellness winter wireless world your yours zero
""".split()  # noqa: SIM905 (a word list reads better as text)

# Everyday product nouns missing from those lists: capitalised in a Title Case headline ("Play with Baby",
# "35 Items") they are not names.
PRODUCT_WORDS = """
baby toddler toddlers infant infants item items menu restaurant playset playsets keychain keychains collectible
collectibles collectable figurine figurines vinyl stickers snack snacks tshirt hoodie sneaker sneakers sock backpack
wallet cable cables headphones earbuds laptop camera lens tripod drone remote controller console keyboard monitor
markers crayon crayons stencil stencils accessory accessories decor organizer storage container grill filter vacuum
trampoline enclosure vehicle vehicles robot robots plush teddy unicorn unicorns dinosaur cube bike scooter skateboard
hiking supplement supplements protein shampoo conditioner lotion serum sunscreen makeup lipstick fragrance razor
toothpaste diaper diapers stroller crib playmat
""".split()  # noqa: SIM905 (a word list reads better as text)

# Capitalised for reasons other than being a name.
ALWAYS_CAPITALISED = """
i i'm i'll i've i'd ok diy tv hd monday tuesday wednesday thursday friday saturday sunday january february march april may
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
    words |= set(PRODUCT_WORDS)
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


# --- claims ------------------------------------------------------------------------------------------------------
# Claims a copywriter must be able to prove, by family. Each entry is (copy pattern, facts phrases that back it up).
# Patterns are regexes matched case-insensitively on whole words of the copy; support phrases are compared with
# the product facts after lower-casing, turning hyphens into spaces and dropping plural "s" (see faithfulness/words.py),
# and a phrase is matched as a word prefix, so "antioxidant" backs "antioxidants" and "recycl" backs "recyclable".
# An empty tuple means only the same phrase in the facts backs it up.
CLAIM_FAMILIES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "proof": [
        (r"clinically[\s-]+(?:proven|tested|shown)", ("clinically",)),
        (r"dermatologist[\s-]+(?:tested|recommended|approved)", ("dermatologist",)),
        (r"lab[\s-]+tested", ("lab tested", "laboratory tested")),
        (r"scientifically[\s-]+(?:proven|tested)|science[\s-]+backed", ()),
        (r"patent(?:ed)?", ("patent",)),
    ],
    "award": [
        (r"award[\s-]+winning|award[\s-]+winner|winner\s+of|prize[\s-]+winning", ("award", "winner", "prize")),
        (r"best[\s-]?sell(?:ing|er|ers)", ("best selling", "bestselling", "best seller", "bestseller")),
        (r"top[\s-]+rated|highly[\s-]+rated|5[\s-]+star(?:\s+rated)?", ("top rated", "highly rated", "5 star")),
        (r"#\s?1|no\.\s?1|number[\s-]+(?:one|1)", ("#1", "no. 1", "number one", "number 1")),
        (r"editor[’']?s[\s-]+(?:choice|pick)|amazon[’']?s[\s-]+choice|as\s+seen\s+on", ()),
        (r"voted\s+\w+|loved\s+by\s+(?:millions|thousands)", ()),
    ],
    "certification": [
        (r"certified(?:[\s-]+organic)?", ("certified",)),
        (r"usda(?:[\s-]+organic)?|(?:u\.\s?s\.|united\s+states)\s+department\s+of\s+agriculture", ("usda",)),
        (r"fda[\s-]+(?:approved|cleared|registered)", ("fda",)),
        (r"non[\s-]?gmo(?:[\s-]+project[\s-]+verified)?", ("non gmo", "nongmo", "gmo free")),
        (r"fair[\s-]?trade", ("fair trade", "fairtrade")),
        (r"kosher|halal", ()),
        (r"ce[\s-]+(?:certified|marked)|ul[\s-]+(?:listed|certified)|iso[\s-]?\d{3,5}", ()),
    ],
    "health": [
        (
            r"(?:rich|high|packed|loaded|full|bursting)\s+(?:in|with)\s+(?:antioxidants?|vitamins?|protein|fib(?:er|re)|minerals?|nutrients?|omega[\s-]?3s?)",
            ("antioxidant", "vitamin", "protein", "fiber", "fibre", "mineral", "nutrient", "omega"),
        ),
        (r"antioxidants?", ("antioxidant",)),
        (
            r"low[\s-]+(?:fat|calorie|carb|sugar|sodium|salt)s?|(?:fat|calorie|carb|sugar|sodium|caffeine|dairy|gluten|nut|soy)[\s-]+free",
            (),
        ),
        (
            r"boosts?\s+(?:your\s+)?(?:immunity|immune\s+system|metabolism|energy|brain)|immune[\s-]+(?:boosting|support)",
            (),
        ),
        (
            r"detox(?:ifying|ify)?|weight[\s-]+loss|burns?\s+fat|fat[\s-]+burning|heart[\s-]+healthy|superfood",
            ("detox", "weight loss", "burn fat", "fat burn", "heart health", "superfood"),
        ),
        (r"keto(?:[\s-]+friendly)?|paleo(?:[\s-]+friendly)?|diabetic[\s-]+friendly", ("keto", "paleo", "diabetic")),
        (r"hypoallergenic", ("hypoallergenic",)),
        (r"non[\s-]?toxic", ("non toxic", "nontoxic")),
        (r"(?:100%|all)[\s-]+natural|no\s+(?:artificial|added)\s+\w+|preservative[\s-]+free", ()),
        (r"(?:bpa|paraben|sulfate|sulphate|phthalate|lead|latex)[\s-]+free", ()),
    ],
    "ethics": [
        (r"(?:100%\s+)?organic", ("organic",)),
        (r"vegan(?:[\s-]+friendly)?|plant[\s-]+based", ("vegan", "plant based")),
        (r"cruelty[\s-]+free|not\s+tested\s+on\s+animals", ("cruelty free", "not tested on animal")),
    ],
    "eco": [
        (r"(?:eco|environmentally|earth|planet)[\s-]+friendly", ("eco", "environment", "earth friendly")),
        (r"sustainabl[ey]|sustainably[\s-]+\w+", ("sustainab",)),
        (r"biodegradable|compostable", ("biodegradable", "compostable")),
        (r"recycl(?:ed|able)", ("recycl",)),
        (r"carbon[\s-]+(?:neutral|negative|footprint)|zero[\s-]+waste|plastic[\s-]+free|natural\s+materials?", ()),
    ],
    "safety": [
        (
            r"(?:child|kid|baby|food)[\s-]+safe|safe\s+for\s+(?:kids|children|babies|toddlers)|food[\s-]+grade|medical[\s-]+grade",
            ("child safe", "kid safe", "baby safe", "food safe", "food grade", "medical grade", "safe for"),
        ),
        (r"(?:microwave|oven|freezer)[\s-]+safe", ()),
        (r"water[\s-]?proof", ("waterproof", "water proof")),
        (r"water[\s-]+resistant", ("water resistant", "waterproof", "water proof", "water repellent")),
        (r"shatter[\s-]?proof|unbreakable|indestructible|rust[\s-]?proof", ("shatter", "unbreakable", "rust")),
    ],
    "spec": [
        (
            r"rechargeable|cordless|wireless|solar[\s-]+powered|app[\s-]+controlled|voice[\s-]+controlled",
            ("rechargeable", "cordless", "wireless", "solar", "app", "voice"),
        ),
        (r"dishwasher[\s-]+safe|machine[\s-]+washable", ()),
    ],
    "material": [
        # a material the facts don't mention is an invented spec
        (
            r"stainless[\s-]+steel|steel|aluminium|aluminum|titanium|copper|brass",
            ("steel", "alumin", "titanium", "copper", "brass", "metal"),
        ),
        (
            r"(?:solid\s+)?(?:wood|wooden|oak|walnut|pine|bamboo|teak|maple)",
            ("wood", "oak", "walnut", "pine", "bamboo", "teak", "maple"),
        ),
        (r"(?:100%\s+|pure\s+)?(?:cotton|linen|silk|cashmere|merino|wool|leather|suede|denim|velvet)", ()),
        (r"genuine\s+leather|real\s+leather", ("genuine leather", "real leather")),
        (r"plastic|glass|ceramic|porcelain|silicone|rubber|marble|granite|carbon[\s-]+fib(?:er|re)", ()),
    ],
    "origin": [
        (
            r"family[\s-]+(?:business|owned|run|farm|recipe|company)|small[\s-]+business|locally[\s-]+(?:made|sourced|grown|owned)",
            ("family", "small business", "local"),
        ),
        (r"(?:since|est\.?|established(?:\s+in)?|founded(?:\s+in)?)\s+(?:1[6-9]|20)\d\d", ()),
        (
            r"hand[\s-]?(?:made|crafted|picked|painted|sewn)|artisan(?:al)?",
            ("hand made", "handmade", "hand crafted", "handcrafted", "hand picked", "handpicked", "artisan"),
        ),
    ],
    "commerce": [
        (
            r"free[\s-]+(?:shipping|delivery|returns?)|ships?\s+(?:free|today|fast|same[\s-]day|within\s+\w+)|fast\s+(?:shipping|delivery)|(?:same|next|two|2|one|1)[\s-]+day\s+(?:shipping|delivery)",
            ("free shipping", "free delivery", "ships free", "delivered free", "free return", "shipping"),
        ),
        (
            r"(?:no|easy|hassle[\s-]free|\d+[\s-]+days?)\s+returns?|returns?\s+(?:accepted|policy)|money[\s-]+back|full\s+refund|refunds?",
            ("return", "refund", "money back"),
        ),
        (
            r"(?:lifetime|limited|full|\d+[\s-]*(?:days?|weeks?|months?|years?|yrs?))[\s-]+(?:warranty|guarantee)|warrant(?:y|ies)|guarantee[ds]?",
            ("warrant", "guarantee"),
        ),
        (
            r"(?:from|on|at|via)\s+amazon(?:\.com)?|amazon\s+(?:prime|exclusive)|prime\s+(?:shipping|delivery|eligible)",
            ("amazon",),
        ),
        (r"lowest[\s-]+prices?|best\s+price|cheapest", ()),
        # a giveaway ("Free Frozen characters", "free gift"); not "sugar-free", "free of", "feel free"
        (
            r"(?<!-)(?<!feel\s)free\s+(?!of\b|from\b|to\b|time\b|play\b|spirit\b|range\b|and\b|or\b|standing\b|shipping\b|delivery\b|returns?\b)[a-z]+",
            (),
        ),
        (
            r"pre[\s-]?orders?|limited[\s-]+(?:edition|stock|time)|on\s+sale|in\s+stock|sold\s+out|clearance|while\s+supplies\s+last",
            ("pre order", "preorder", "limited", "sale", "in stock", "clearance"),
        ),
        (
            r"(?:batteries|battery)\s+(?:included|not\s+included)",
            (
                "batteries included",
                "battery included",
                "includes batteries",
                "batteries not included",
                "battery not included",
            ),
        ),
    ],
    "superlative": [
        (r"(?:most|least)[\s-]+(?:advanced|powerful|comfortable|popular|trusted|loved|reliable|effective)", ()),
        (r"unbeatable|unmatched|unrivall?ed|unparall?eled|world[’']s[\s-]+(?:first|best|only)", ()),
    ],
}

# Where a claim family needs the copywriter's attention: words for the flag's reason.
CLAIM_FAMILY_REASONS = {
    "proof": "a proof claim",
    "award": "an award or ranking",
    "certification": "a certification",
    "health": "a health or diet claim",
    "ethics": "an ethical or organic claim",
    "eco": "an environmental claim",
    "safety": "a safety claim",
    "spec": "a feature",
    "material": "a material",
    "origin": "an origin or heritage claim",
    "commerce": "a shipping, returns or warranty promise",
    "superlative": "a superlative",
}

# Verbs that turn "<verb> in/from <Place>" into an origin claim ("grown in Hawaii", "imported from Japan").
ORIGIN_VERBS = [
    "made",
    "grown",
    "produced",
    "harvested",
    "sourced",
    "imported",
    "crafted",
    "designed",
    "built",
    "manufactured",
    "roasted",
    "brewed",
    "bottled",
    "packed",
    "printed",
    "assembled",
    "distilled",
    "picked",
    "raised",
    "farmed",
    "milled",
    "baked",
    "woven",
    "sewn",
]

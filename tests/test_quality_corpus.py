"""Copy-quality cases: what a professional copywriter would flag or throw away.

Hand-written products and candidates (our own text, modelled on the kinds of
mistakes Gemma 3 270M makes on real catalogs): invented warranties, units,
ages, origins and diet claims must be flagged at the right characters; facts
written differently ('37"' vs "37-inch") must not be; fragments, first-person
lines and text about the page must not survive cleanup.
"""

import pytest

from copy_engine.postprocess import clean_batch, clean_one, rejection_reason, repeats_name
from copy_engine.product import Product
from copy_engine.scoring.faithfulness import find_unsupported

TRUCK = Product(
    name="Rock Crawler RC Truck, 1:18 Scale, 3 Pieces",
    brand="Ridgeback",
    category="Toys & Games | Remote Control Vehicles",
    features=[
        "Ages 8 and up",
        "Rechargeable 600 mAh battery included",
        "2 speed modes",
        "Runs about 20 minutes per charge",
    ],
    price="$39.99",
)
TEA = Product(
    name="Organic Sencha Green Tea, 20 Pyramid Bags",
    brand="Leafwell",
    category="Grocery | Tea | Green",
    features=["Smooth, grassy flavor with no bitterness", "Steep 2 minutes at 80 C", "Compostable bags"],
    price="$6.49",
)
TV = Product(
    name='Brightline 37" LED TV',
    brand="Brightline",
    category="Electronics | Televisions",
    features=["1080p picture", "Two HDMI ports", "Weighs 12 lbs", "Product Dimensions: 33 x 8 x 21 inches"],
    price="$199.00",
)
DOLL = Product(
    name="Singing Unicorn Plush",
    brand="Moonbeam",
    category="Toys & Games | Stuffed Animals",
    features=["Plays 2 different sounds", "Soft polyester fabric", "Batteries required: no, sounds are wind-up"],
)


def spans(text, product, kind=None):
    """(start, end, text, kind) of every flag, checked against the text itself; plain words the facts lack
    (unsupported_word, tests/test_vocabulary.py) only when asked for by kind: these cases test the others."""
    out = []
    for f in find_unsupported(text, product.facts_text()):
        assert text[f.start : f.end] == f.text
        if f.kind == kind or (kind is None and f.kind != "unsupported_word"):
            out.append((f.start, f.end, f.text, f.kind))
    return out


# --- invented facts are flagged where they are ------------------------------------------------------------------


def test_invented_warranty_and_returns_flagged_even_when_facts_hold_the_bare_number():
    text = "Built tough: 3-month warranty, no returns."
    assert spans(text, TRUCK) == [
        (13, 29, "3-month warranty", "unsupported_claim"),
        (31, 41, "no returns", "unsupported_claim"),
    ]


def test_number_with_a_unit_needs_that_unit_in_the_facts():
    # "3 Pieces" and "Ages 8" are in the facts, but neither backs a duration or a weight
    assert spans("Lasts 3 months between charges", TRUCK) == [(6, 14, "3 months", "unsupported_number")]
    assert spans("Only 140 grams and 15 ounces of fun", TRUCK, "unsupported_number") == [
        (5, 14, "140 grams", "unsupported_number"),
        (19, 28, "15 ounces", "unsupported_number"),
    ]
    assert spans("A 400 ml bag of tea", TEA) == [(2, 8, "400 ml", "unsupported_number")]


def test_invented_age_flagged_supported_age_not():
    assert spans("Fun for kids aged 3 and up", TRUCK) == [(18, 26, "3 and up", "unsupported_number")]
    assert spans("For ages 8+, ready to climb", TRUCK) == []
    assert spans("Made for 8 and up explorers", TRUCK) == []


def test_counted_things_need_the_same_count_in_the_facts():
    assert spans("Beautiful colors, 2 different sounds. Buy now!", DOLL) == []
    assert spans("Now with 4 different sounds!", DOLL) == [(9, 10, "4", "unsupported_number")]
    assert spans("Switch between 2 speed modes", TRUCK) == []


def test_invented_origin_diet_and_eco_claims_flagged():
    text = "Grown in Hawaii, rich in antioxidants and low-fat."
    assert spans(text, TEA) == [
        (0, 15, "Grown in Hawaii", "unsupported_claim"),
        (17, 37, "rich in antioxidants", "unsupported_claim"),
        (42, 49, "low-fat", "unsupported_claim"),
    ]
    assert spans("Certified organic by the USDA", TEA, "unsupported_claim") == [
        (0, 17, "Certified organic", "unsupported_claim"),
        (25, 29, "USDA", "unsupported_claim"),
    ]
    assert spans("A family business since 1948, now vegan-friendly", TEA) == [
        (2, 17, "family business", "unsupported_claim"),
        (18, 28, "since 1948", "unsupported_claim"),
        (34, 48, "vegan-friendly", "unsupported_claim"),
    ]
    assert spans("Ships free from Amazon", TEA) == [
        (0, 10, "Ships free", "unsupported_claim"),
        (11, 22, "from Amazon", "unsupported_claim"),
    ]


def test_invented_material_and_no_x_required_flagged():
    assert spans("Stainless steel gears, no batteries required", TRUCK) == [
        (0, 15, "Stainless steel", "unsupported_claim"),
        (23, 44, "no batteries required", "unsupported_claim"),
    ]
    # the unicorn's facts do say no batteries are needed
    assert spans("No batteries required: just wind it up", DOLL) == []


# --- facts written differently are not flagged ------------------------------------------------------------------


def test_supported_facts_in_other_spellings_not_flagged():
    assert spans("A 37-inch screen in 1080p", TV) == []
    assert spans("37 inches of picture, two HDMI ports and only 12 pounds", TV) == []
    assert spans("Just 8 inches deep", TV) == []  # from "33 x 8 x 21 inches"
    assert spans("Compostable pyramid bags of organic sencha", TEA) == []
    assert spans("Leafwell Organic Green Tea: Smooth, grassy flavor with no bitterness", TEA) == []
    assert spans("Organic Green Tea, 20 Pyramid Bags. Buy Now", TEA) == []
    assert spans("20 minutes of crawling per charge, for ages 8+", TRUCK) == []


# --- cleanup keeps copy, drops the rest --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, channel",
    [
        (" 20 Pyramid Bags.\n", "headline"),
        (" Fresh Green Tea\n", "headline"),
        (" Unicorns with Voice\n", "ad_description"),
        (" Organic Sencha Green Tea, 20 Pyramid Bags\n", "headline"),
        (" Green Tea for the Organic Sencha Pyramid Bags\n", "headline"),
    ],
)
def test_fragments_and_bare_names_dropped(raw, channel):
    assert clean_one(raw, channel, product_name=TEA.name) is None


@pytest.mark.parametrize(
    "raw",
    [
        " I'm Back to Tea: a fresh start for every morning\n",
        " I just bought a lot of green tea but don't think so\n",
        " My kids love this calm morning tea, every single day\n",
        " No Product Images available for this green tea yet\n",
        " Choose this one today for calm, grassy morning cups\n",
    ],
)
def test_first_person_and_meta_text_dropped(raw):
    assert clean_one(raw, "headline", product_name=TEA.name) is None


def test_good_copy_survives_cleanup():
    raws = [
        " Leafwell Organic Green Tea: Smooth, grassy flavor with no bitterness\n",
        " Organic Green Tea, 20 Pyramid Bags. Buy Now\n",
        " 20 Pyramid Bags.\n",
        " I love this tea so much\n",
    ]
    assert clean_batch(raws, "headline", product_name=TEA.name) == [
        "Leafwell Organic Green Tea: Smooth, grassy flavor with no bitterness",
        "Organic Green Tea, 20 Pyramid Bags. Buy Now",
    ]


def test_rejection_reasons_are_explainable():
    assert rejection_reason("I'm Back to Tea", TEA.name) == "first_person"
    assert rejection_reason("Max 80 characters of calm", TEA.name) == "meta"
    assert rejection_reason("Meet all 5 characters from the film", TEA.name) is None
    assert rejection_reason("Sencha Green Tea, Organic", TEA.name) == "repeats_name"
    assert rejection_reason("Calm mornings start with sencha", TEA.name) is None
    # "It's" and "Items" are not "I"; a capitalised "I" inside a word is not first person
    assert rejection_reason("It's calm in a cup. Items ship in a tin", "") is None
    assert not repeats_name("Smooth sencha for slow mornings", TEA.name)


def test_facts_borrowed_from_the_few_shot_examples_are_dropped():
    # the deck's socks example says "Three pairs per pack": not a fact of a toy truck
    assert (
        rejection_reason("Tough tires and a cushioned heel and toe. Three pairs per pack.", TRUCK.name)
        == "copies_example"
    )
    assert (
        clean_one(" Crawl over rocks, then pick one up today for your next trip!\n", "ad_description", TRUCK.name)
        is None
    )
    # ...unless the product's own facts say the same words
    socks = ["Three pairs per pack", "Cushioned heel and toe"]
    assert (
        rejection_reason("Soft wool for long hikes: three pairs per pack.", "Alpine Wool Hiking Socks", socks) is None
    )


def test_ordinary_phrases_that_look_meta_or_first_person_survive():
    for raw in [
        " Love dress-up? This one's for you\n",
        " Rainy day? Time for tea and a good book\n",
        " Collect all five Frozen characters today\n",
    ]:
        assert clean_one(raw, "email_subject", product_name="Rag Doll Costume") is not None, raw

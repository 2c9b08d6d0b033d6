"""A headline must say what the product is (scoring/product_kind.py): readers call "See Purple Rain" filler."""

from copy_engine.controls import Controls
from copy_engine.product import Product
from copy_engine.scoring import score_variants
from copy_engine.scoring.product_kind import kind_stems, says_what_it_is

POWDER = Product(
    name="Shomer-Tec Special Ingredients Purple Rain Powder",
    category="Toys & Games | Novelty & Gag Toys | Gag Toys",
    features=["Creates a dark purple stain when mixed with water"],
    price="$11.00",
)
GLOVES = Product(name="Rubie's Costume Co - Batman Child Gauntlets", category="Clothing | Costumes & Accessories | Gloves")


def test_the_words_that_say_what_a_product_is():
    assert kind_stems(POWDER.name, POWDER.category) == frozenset({"powder", "gag", "toy"})
    assert kind_stems(GLOVES.name, GLOVES.category) == frozenset({"costum", "gauntlet", "glove"})


def test_a_headline_says_what_it_is_by_any_form_of_those_words():
    assert says_what_it_is("See Purple Rain Powder", POWDER) and says_what_it_is("A gag for the bathroom", POWDER)
    assert says_what_it_is("See Batman Gloves", GLOVES) and says_what_it_is("Batman gauntlet for kids", GLOVES)
    assert not says_what_it_is("See Purple Rain", POWDER) and not says_what_it_is("See Batman", GLOVES)
    assert says_what_it_is("Anything at all", Product(name="X"))  # nothing to check against: never penalised


def test_a_headline_that_never_says_what_it_is_is_halved(fake_embedder):
    texts = ["See Purple Rain Powder", "See Purple Rain"]
    cards = score_variants(texts, POWDER, "ad_headline", Controls(), embedder=fake_embedder, banned_words=[])
    assert "never says what the product is" in cards[1].explanations["overall"]
    assert "never says what" not in cards[0].explanations["overall"]
    # nor email subjects: "Explore aerial combos" for a game is filler there too
    subjects = ["Purple Rain powder makes a dark stain", "Purple Rain for strategic spots"]
    cards = score_variants(subjects, POWDER, "email_subject", Controls(), embedder=fake_embedder, banned_words=[])
    assert ["never says what" in c.explanations["overall"] for c in cards] == [False, True]
    # descriptions are not held to it
    long = "Purple Rain makes a dark purple stain when mixed with water. See it for $11.00."
    card = score_variants([long.replace("Powder", "")], POWDER, "description", Controls(), embedder=fake_embedder)[0]
    assert "never says what" not in card.explanations["overall"]

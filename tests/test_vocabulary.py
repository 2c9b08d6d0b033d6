"""Plain words the facts don't back (faithfulness/vocabulary.py): the invented details readers found in the
copywriter's headlines and descriptions that the number, name and claim checks cannot see."""

from pathlib import Path

import pytest

from copy_engine.product import Product
from copy_engine.scoring.faithfulness import fact_index, find_unsupported
from copy_engine.scoring.faithfulness.vocabulary import FREE_WORDS_PATH, find_unbacked_words, free_words

CRATE = Product(
    name="Crate Creatures Surprise! Blizz Plush",
    brand="Moose Toys",
    category="Toys & Games | Stuffed Animals & Plush",
    features=["Open the crate with the crowbar to reveal the creature", "Over 45 sounds and reactions", "Ages 5+"],
    price="$29.99",
)
COMFORTER = Product(
    name="Sweet Jojo Designs 3-Piece Navy Blue, Aqua and Grey Aztec Mountains Comforter Set, Full/Queen",
    category="Home | Bedding | Comforter Sets",
    features=["Colorful watercolor mountain print", "Machine washable", "Includes 1 comforter and 2 shams"],
    price="$99.99",
)
LOSI = Product(name="Losi LOSB3130 Conversion Kit", category="Toys & Games | RC Parts", features=["Fits LST/2 and XXL/2"])


def unbacked(text, product):
    flags = find_unbacked_words(text, fact_index(product.facts_text()))
    for f in flags:
        assert text[f.start : f.end] == f.text and f.kind == "unsupported_word"
    return [f.text for f in flags]


def test_invented_plain_words_are_flagged_where_they_are():
    assert unbacked("See Crate Creatures, an open crate with a speaker of your voice", CRATE) == ["speaker", "voice"]
    assert unbacked("Explore a plush crowbar with a movement sensor", CRATE) == ["movement", "sensor"]
    assert unbacked("See the 3-Piece Camel Bed Set", COMFORTER) == ["Camel"]


def test_words_of_the_facts_in_other_forms_are_backed():
    # plural, another ending of the same stem ("colorful" / "colors"), possessive
    assert unbacked("Colors of the mountains on a washable comforter with two shams", COMFORTER) == []
    assert unbacked("Crate Creatures' sounds and reactions, revealed with a crowbar", CRATE) == []


def test_free_words_of_our_own_copy_are_not_flagged():
    # words our copywriters add to any product: invitations, connectives, "ready", "keeps"
    assert {"see", "discover", "explore", "ready", "keeps", "comes"} <= free_words()
    assert unbacked("Discover the crate, ready for ages 5 and up: it comes with a crowbar", CRATE) == []


def test_tokens_with_digits_are_left_to_the_number_and_name_checks():
    assert unbacked("See the LOSB3130 Kit for your LST/2", LOSI) == []
    assert unbacked("See the 1100mAh Kit", LOSI) == []


def test_in_find_unsupported_the_more_specific_kind_wins_the_same_span():
    flags = find_unsupported("A sturdy steel hinge for the Blizz crate", CRATE.facts_text())
    kinds = {f.text: f.kind for f in flags}
    assert kinds["steel"] == "unsupported_claim"  # a material: the claim check explains it better
    assert kinds["hinge"] == "unsupported_word"
    assert "Blizz" not in kinds


def test_free_words_file_is_what_the_script_writes_from_the_deck(tmp_path, monkeypatch):
    catalog = Path(__file__).resolve().parents[2] / "shared/data/products/amazon_products_sample.csv"
    if not catalog.is_file():
        pytest.skip("the deck's catalog products need ../shared/data (absent here)")
    import scripts.free_words as script
    from copy_engine.scoring.faithfulness import vocabulary

    out = tmp_path / "free_words.txt"
    monkeypatch.setattr(vocabulary, "FREE_WORDS_PATH", out)
    assert script.main(["--catalog", str(catalog)]) == 0
    assert out.read_text(encoding="utf-8") == FREE_WORDS_PATH.read_text(encoding="utf-8")

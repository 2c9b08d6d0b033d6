"""Repairs: a misquoted price is quoted exactly; a sentence of long copy that invents a fact is removed; a closing
ask that names the product again is reworded."""

from copy_engine.product import Product
from copy_engine.repair import (
    drop_invented_sentences, fix_prices, plain_closing_ask, product_price, quote_price_range, repair,
)
from conftest import BOTTLE


def test_a_price_a_few_cents_off_is_the_products_price():
    assert product_price("$1,024.50") == ("$1,024.50", 1024.5) and product_price("") is None
    assert fix_prices("See it for $24.19.", "$24.99") == "See it for $24.99."
    assert fix_prices("Yours for $24!", "$24.99") == "Yours for $24.99!"
    # far from the price, another currency, or no price to compare with: left for faithfulness to flag
    assert fix_prices("Save $5.00 now", "$24.99") == "Save $5.00 now"
    assert fix_prices("Only €24.50", "$24.99") == "Only €24.50"
    assert fix_prices("Now $9", "") == "Now $9"


def test_an_invented_sentence_leaves_long_copy_when_enough_stays():
    text = ("The Hydra bottle keeps drinks cold for 24 hours with a leak-proof lid. It measures 75 cm across. "
            "It fits most cup holders and keeps drinks cold. See it for $24.99.")
    fixed = drop_invented_sentences(text, BOTTLE, "description")
    assert "75 cm" not in fixed and fixed.startswith("The Hydra bottle keeps") and fixed.endswith("See it for $24.99.")
    assert drop_invented_sentences(text, BOTTLE, "headline") == text  # short copy is never cut into


def test_nothing_is_removed_when_the_opening_is_invented_or_too_little_would_stay():
    opening = "Made by Sony in 3 colors. The Hydra bottle keeps drinks cold for 24 hours with a leak-proof lid for you."
    assert drop_invented_sentences(opening, BOTTLE, "description") == opening
    short = "The Hydra bottle keeps drinks cold. It is made by Sony in 3 colors and costs $5.00 less."
    assert drop_invented_sentences(short, BOTTLE, "description") == short


def test_repair_does_both():
    text = ("The Hydra bottle keeps drinks cold for 24 hours with a leak-proof lid and fits most cup holders. "
            "It holds 3 liters. See it for $24.89.")
    assert repair(text, BOTTLE, "description") == (
        "The Hydra bottle keeps drinks cold for 24 hours with a leak-proof lid and fits most cup holders. "
        "See it for $24.99."
    )


def test_articles_agree_with_the_next_sound_where_that_is_clear():
    from copy_engine.repair import fix_articles

    assert fix_articles("It comes as an 9x12 canvas, an 100% polyester wig.") == "It comes as a 9x12 canvas, a 100% polyester wig."
    assert fix_articles("A iconic figure with a easy grip") == "An iconic figure with an easy grip"
    assert fix_articles("An polyester wig") == "A polyester wig"
    for fine in ("an 8-inch doll", "an 11-piece set", "an 18\" doll", "an 80-page book", "an LED light", "an hour",
                 "a one-piece suit", "a unique gift", "an elastic strap", "a 3-piece set"):
        assert fix_articles(fine) == fine
    assert repair("See an 9x12 board for $24.19.", BOTTLE, "headline") == "See a 9x12 board for $24.99."


def test_a_closing_ask_that_names_the_product_again_says_it():
    body = "The Hydra bottle keeps drinks cold for 24 hours."
    assert plain_closing_ask(f"{body} Explore the Hydra bottle for $24.99.", BOTTLE, "description") == (
        f"{body} Explore it for $24.99."
    )
    # without a quoted price the product's own; a post keeps its hashtags and emoji; "!" stays
    assert plain_closing_ask(f"Cold all day! {body} See the steel bottle! #hydra 🧊", BOTTLE, "social") == (
        f"Cold all day! {body} See it for $24.99! #hydra 🧊"
    )
    assert plain_closing_ask("Cold for 24 hours, leak-proof lid. Discover the bottle.", BOTTLE, "ad_description") == (
        "Cold for 24 hours, leak-proof lid. Discover it for $24.99."
    )


def test_a_closing_ask_does_not_repeat_the_opening_verb():
    opened = "Explore the Hydra bottle, cold for 24 hours."
    plain = f"{opened} See it for $24.99."
    assert plain_closing_ask(f"{opened} Explore the bottle for $24.99.", BOTTLE, "description") == plain
    assert plain_closing_ask(f"{opened} Explore it for $24.99.", BOTTLE, "description") == plain
    assert plain_closing_ask(plain, BOTTLE, "description") == plain


def test_other_closings_and_channels_stay_as_written():
    body = "The Hydra bottle keeps drinks cold for 24 hours."
    for same in (f"{body} See it for $24.99.", f"{body} It fits most cup holders.", "See the Hydra bottle for $24.99."):
        assert plain_closing_ask(same, BOTTLE, "description") == same  # already plain, no ask, or nothing before it
    assert plain_closing_ask(f"{body} See the bottle.", BOTTLE, "headline") == f"{body} See the bottle."
    # "Meet it for $24.99" would not read: asks other than See / Explore / Discover / Order stay
    assert plain_closing_ask(f"{body} Meet the Hydra.", BOTTLE, "description") == f"{body} Meet the Hydra."
    # no single price to quote: a range would read as a misquote, none leaves nothing to say
    costume = "A dress and a cap. See the costume."
    ranged = Product(name="Costume", features=["Dress and cap"], price="$19.26 - $35.63")
    assert plain_closing_ask(costume, ranged, "ad_description") == costume
    unpriced = Product(name="Costume", features=["Dress and cap"])
    assert plain_closing_ask(costume, unpriced, "ad_description") == costume
    # never past the channel's limit
    long = "Cold for 24 hours with a leak-proof lid, for every trip, hike and long day. See the Hydra."
    assert len(long) == 90 and plain_closing_ask(long, BOTTLE, "ad_description") == long  # reworded: 94


def test_a_price_ranges_low_end_is_quoted_as_a_start():
    costume = Product(name="Rubie's Costume Womens Police Costume", features=["Dress, hat, belt and handcuffs"],
                      price="$16.03 - $24.79")
    text = "Rubie's police costume includes a dress, hat, belt and handcuffs. See the costume for $16.03."
    assert repair(text, costume, "description").endswith("See it from $16.03.")
    assert quote_price_range("It costs $16.03.", costume.price) == "It starts at $16.03."
    assert quote_price_range("See it for $16.03 to $24.79.", costume.price) == "See it for $16.03 to $24.79."
    assert quote_price_range("See it for $16.03.", "$16.03") == "See it for $16.03."  # one price: as written
    full = "Police Costume for $16.03 now!"  # 30 characters: "from" would take the ad headline over its limit
    assert len(quote_price_range(full, costume.price)) > 30 and repair(full, costume, "ad_headline") == full

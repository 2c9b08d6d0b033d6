"""Repairs a copywriter would make without thinking: a misquoted price, a sentence that invents a fact.

Read on real products, nearly every description the copywriter fine-tune
writes quotes the price a few cents off ("$24.19", "$24.98" or "$24" for a
$24.99 bottle: digits are single tokens the small model copies badly), and
many add one sentence the product data does not support ("It measures 75 cm
across."). Both made otherwise good copy unusable. Here:
  * `fix_prices`: an amount of money within 15 % of the product's own price is
    that price misquoted, and is replaced by it; any other amount is left for
    faithfulness to flag (it is not the product's price and not near it).
  * `fix_articles`: "an 9x12 canvas" -> "a 9x12 canvas", "a iconic" -> "an iconic" (readers allow it as a
    one-word edit; a copywriter should not have to make it);
  * `drop_invented_sentences`: in long copy, a sentence with an unsupported
    number, name, claim or another kind of product is removed when what stays
    is still long enough for the channel and keeps its first sentence;
  * `plain_closing_ask`: a closing invitation that names the product again
    ("… Explore the KidKraft set for $20.22.", "… See the costume.") becomes
    "Explore it for $20.22." in descriptions, social posts and ad descriptions;
  * `quote_price_range`: "for $16.03" -> "from $16.03" when the product's price is a range from $16.03.
Short copy (headlines) is never cut into: a headline with an invented fact
stays flagged and sinks in the ranking.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from copy_engine.channels import get_channel
from copy_engine.postprocess import sentence_spans

if TYPE_CHECKING:
    from copy_engine.product import Product

PRICE_TOLERANCE = 0.15  # a quoted amount this close to the product's price is taken for a misquote of it
LONG_COPY_CHARS = 150  # channels whose limit is at least this long are cut sentence by sentence

# An amount of money as copy quotes it (currency sign, then the number; compose.py also asks whether copy has one)
MONEY = re.compile(r"(?P<cur>[$€£])\s?(?P<num>\d{1,3}(?:,\d{3})*(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)(?![\d.,]*\d)")


def product_price(price: str) -> tuple[str, float] | None:
    """(display form, value) of the product's price ("$24.99" -> ("$24.99", 24.99)), or None without one."""
    m = MONEY.search(price or "")
    if not m:
        return None
    return m.group(0).replace(" ", ""), float(m.group("num").replace(",", ""))


def fix_prices(text: str, price: str) -> str:
    """`text` with every amount of money near the product's `price` (same currency, within 15 %) quoted exactly."""
    own = product_price(price)
    if own is None:
        return text
    shown, value = own

    def fix(m: re.Match) -> str:
        amount = float(m.group("num").replace(",", ""))
        same_currency = m.group("cur") == shown[0]
        return shown if same_currency and abs(amount - value) <= PRICE_TOLERANCE * value else m.group(0)

    return MONEY.sub(fix, text)


def drop_invented_sentences(text: str, product: Product, channel: str) -> str:
    """Long copy without its sentences that state unsupported facts (see module docstring); else `text` as is."""
    from copy_engine.scoring.faithfulness import fact_index, find_unsupported
    from copy_engine.scoring.flags import FAITHFULNESS_KINDS

    ch = get_channel(channel)
    if ch.limit < LONG_COPY_CHARS:
        return text
    flags = [f for f in find_unsupported(text, fact_index(product.facts_text())) if f.kind in FAITHFULNESS_KINDS]
    if not flags:
        return text
    sentences = sentence_spans(text)
    bad = {i for i, (start, end) in enumerate(sentences) for f in flags if f.start < end and f.end > start}
    if not bad or 0 in bad:
        return text  # the opening sentence carries the copy: without it nothing reads right
    kept = " ".join(text[start:end] for i, (start, end) in enumerate(sentences) if i not in bad)
    return kept if len(kept) >= ch.min_chars else text


# "an 9x12 canvas", "an 100% polyester wig", "a iconic figure": the small model picks the article before it
# knows the next word. Only clear cases are changed: digits (not 8, 11, 18: "an 8-inch"), lower-case words
# after "an" (capitals may be spoken letters: "an LED", "an SUV"; h-words may be silent: "an hour") and
# a/e/i words after "a" ("o" and "u" are often spoken otherwise: "a one-piece", "a unique").
_AN_BEFORE_CONSONANT = re.compile(r"\b([Aa])n (?=(?:(?!8|11\b|11[^\d]|18\b|18[^\d])\d|[bcdfgjklmnpqrstvwxyz][a-z]))")
_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeiAEI][a-z])")


def fix_articles(text: str) -> str:
    """`text` with "an" before a consonant sound and "a" before a vowel sound where that is clear."""
    return _A_BEFORE_VOWEL.sub(lambda m: m.group(1) + "n ", _AN_BEFORE_CONSONANT.sub(lambda m: m.group(1) + " ", text))


# Channels whose copy closes on an invitation after what the product is (several sentences, or a line and a
# call to action): there the closing ask is reworded (plain_closing_ask).
CLOSING_ASK_CHANNELS = ("description", "social", "ad_description")
# Asks that still read right with "it" ("Shop it", "Meet it for $9.99" do not)
_ASK_VERB = re.compile(r"^(?P<verb>See|Explore|Discover|Order)\b")
# A post's trailing hashtags and emoji, kept as they are after the reworded ask.
_POST_TAIL = re.compile(r"(?:\s+(?:#\w+|[^\w\s.,;:!?'\"$€£()&-]+))+\s*$")
# The closing ask's verb when the copy opened with the same one (readers of read 49 marked "Explore Canal Toys'
# Power Dough, … Explore it for $6.74." repetitive; over reads 47-49 such descriptions were usable in 8 of 70
# labels, with another verb in 40 of 180).
_OTHER_VERB = {"See": "Explore", "Explore": "See", "Discover": "See"}
_ASK_FILLER = frozenset("a an the it its this that these your for to of and in on with from by at now today".split())


def plain_closing_ask(text: str, product: Product, channel: str) -> str:
    """`text` with a closing ask that names the product again reworded to "<Verb> it for <price>." (else as is).

    The small model closes long copy by restating the product in the ask ("… It has 12 pieces. Explore the KidKraft
    set for $20.22.", "… in polyester. See the costume."), and readers rejected those closings as repetitive or
    garbled; "Explore it for $20.22." says the same (with another verb when the copy opened with this one).
    Read 49 (every candidate of 20 unseen products per channel, originals and rewordings mixed blind, two readers):
    reworded candidates usable 34 -> 47 and 39 -> 45 of 90 (ad descriptions), 21 -> 25 and 25 -> 28 of 78 (social
    posts), 5 -> 8 and 5 -> 7 of 21 (descriptions); one of 189 went the other way for each reader. The price is
    the one the ask quoted, else the product's own; a product without a single price (none, or a range a reader
    would call misquoted) keeps its ask unless it quoted one.
    """
    if channel not in CLOSING_ASK_CHANNELS:
        return text
    tail = _POST_TAIL.search(text)
    body, after = (text[: tail.start()], text[tail.start() :]) if tail else (text, "")
    spans = sentence_spans(body)
    if len(spans) < 2:
        return text
    start, end = spans[-1]
    last = body[start:end]
    ask = _ASK_VERB.match(last)
    if ask is None:
        return text
    verb = ask.group("verb")
    opener = _ASK_VERB.match(body)
    if opener is not None and opener.group("verb") == verb:
        verb = _OTHER_VERB.get(verb, "See")  # "Explore … Explore it for $6.74." was rejected as a repeat
    words = re.findall(r"[a-z][a-z'-]*", MONEY.sub(" ", last[ask.end() :]).lower())
    if all(w in _ASK_FILLER for w in words) and verb == ask.group("verb"):
        return text  # already "See it for $24.99."
    single = len(MONEY.findall(product.price or "")) == 1
    price = product_price(last) or (product_price(product.price) if single else None)
    if price is None:
        return text
    stop = "!" if last.endswith("!") else "."
    reworded = f"{body[:start]}{verb} it for {price[0]}{stop}{after}"
    return reworded if len(reworded) <= get_channel(channel).limit else text


def quote_price_range(text: str, price: str) -> str:
    """`text` quoting a price range's low end as a start ("for $16.03" -> "from $16.03", "costs $16.03" ->
    "starts at $16.03") when the product's price is a range ("$16.03 - $24.79"); else as is.

    The model quotes the first amount of a range as the price, and readers rejected it: on reads 75 and 76, 2 of
    40 labels of such copy were usable, and 24 named the price as the fault (one reader: "from" is the one-word
    edit). 7 of the catalog's 631 rows have a range."""
    if len(MONEY.findall(price or "")) < 2:
        return text
    low = re.escape(product_price(price)[0])  # the range's first amount, as copy quotes it
    not_range = r"(?!\s*(?:-|–|to\b))"
    text = re.sub(rf"\bfor ({low}){not_range}", r"from \1", text)
    return re.sub(rf"\bcosts ({low}){not_range}", r"starts at \1", text)


def repair(text: str, product: Product, channel: str) -> str:
    """The repairs: articles and the price quoted exactly, invented sentences of long copy removed, a closing
    ask that names the product again reworded, then a price range's low end quoted as a start."""
    text = plain_closing_ask(drop_invented_sentences(fix_prices(fix_articles(text), product.price), product, channel),
                             product, channel)
    ranged = quote_price_range(text, product.price)
    return ranged if len(ranged) <= get_channel(channel).limit else text  # "from" is a letter longer than "for"

"""Long copy composed from the model's own clean sentences, as a copywriter edits a batch of drafts.

Read on unseen products, nearly every product description the copywriter fine-tune writes has at least one
sentence that invents or garbles ("made of 100% polyester with a 10% polyurethane coating", "comes complete
with a synthetic hair trimmer"): two readers found 3-6 % of sampled descriptions usable. Yet most samples
hold one or two sentences that are true and well made ("They are lightweight, ready for hands-on STEM
learning with a key scientific tool."). A copywriter handed ten drafts keeps those and drops the rest;
`compose` does the same over the batch:

  * every sampled description is cut into sentences; a sentence is kept when nothing in it is unsupported
    by the facts (numbers, names, claims and plain words: scoring.faithfulness), it is not filler or cut
    off (postprocess.rejection_reason) and it repeats no phrase;
  * each kept sentence has a role: an *opener* (a sample's first sentence that says what the product is),
    a *body* sentence (any later one) or an *ask* (one that opens with an invitation and names the price or
    the product: "See it for $11.24.");
  * sentences are ranked by how much of what they say other samples say too (agreement across samples,
    as in minimum-Bayes-risk decoding): a detail one sample garbles rarely recurs, a true one does;
  * each variant is one opener, then body sentences that add something not yet said (no content word pair
    said twice: "spinning shells ... spinning shells") while it is short (TARGET_CHARS), then an ask when the
    CTA slider wants one and a draft wrote a clean one.

Every sentence is the model's own; the composed variants join the whole samples and are scored and
reranked with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from copy_engine.channels import get_channel
from copy_engine.postprocess import rejection_reason, repeats_phrase, sentence_spans
from copy_engine.repair import MONEY

if TYPE_CHECKING:
    from copy_engine.product import Product

COMPOSED_CHANNELS = frozenset({"description"})  # channels whose variants are also composed from sentences
# Stop adding body sentences once this long: every sentence more is one more chance of a garble no check sees,
# and readers found the usable descriptions nearly all short (two to three sentences with the ask).
TARGET_CHARS = 130
MAX_BODY = 2  # body sentences in one variant at most, between the opener and the ask
MAX_REPEAT = 0.5  # a body sentence whose content words are more than this share already said adds nothing
MIN_WORDS = 4  # a shorter sentence ("Vroom, Vroom!") says nothing about the product

_WORD = re.compile(r"[A-Za-z0-9$][A-Za-z0-9.$%'’-]*")
_LITTLE = frozenset(
    """a an the and or of for with from in on by to your you it its it's this that these they them their is are
    be was has have had as at so can will while into our""".split()
)
_END = re.compile(r"[.!?…]$")


@dataclass(frozen=True)
class Sentence:
    """One kept sentence of a sampled draft."""

    text: str
    role: str  # "opener", "body" or "ask"
    words: frozenset[str]  # its content words, lower-case, for agreement and repetition
    agreement: float = 0.0  # mean over the other drafts of its best word overlap (F1) with one of their sentences


def _content_sequence(text: str) -> list[str]:
    words = (w.lower().rstrip(".").replace("’", "'") for w in _WORD.findall(text))
    return [w for w in words if w and w not in _LITTLE]


def content_words(text: str) -> frozenset[str]:
    """Lower-case words of `text` that carry content (not articles, pronouns, linking verbs), a trailing stop cut."""
    return frozenset(_content_sequence(text))


def _pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent content words of `text` ("spinning shells"), to catch a detail said twice."""
    words = _content_sequence(text)
    return set(zip(words, words[1:]))


def _f1(a: frozenset[str], b: frozenset[str]) -> float:
    both = len(a & b)
    return 0.0 if not both else 2 * both / (len(a) + len(b))


def _is_ask(text: str) -> bool:
    from copy_engine.scoring.cta import find_ctas

    return any(start == 0 for start, _, _ in find_ctas(text))


def _keep(text: str, product: Product, facts, banned_words: Sequence[str], is_ask: bool) -> bool:
    """True when the sentence is complete, states nothing unsupported, is not filler (an ask may be short on
    content) and repeats no phrase."""
    from copy_engine.scoring.banned import find_banned
    from copy_engine.scoring.faithfulness import find_unsupported

    if not _END.search(text) or len(_WORD.findall(text)) < MIN_WORDS or repeats_phrase(text):
        return False
    if find_unsupported(text, facts) or find_banned(text, banned_words):
        return False
    return is_ask or rejection_reason(text, product.name, product.features) is None


def sentences(drafts: Sequence[str], product: Product, banned_words: Sequence[str] = ()) -> list[Sentence]:
    """The kept sentences of `drafts` (sampled copy for `product`), each with its role and agreement."""
    from copy_engine.scoring.faithfulness import fact_index
    from copy_engine.scoring.product_kind import says_what_it_is

    facts = fact_index(product.facts_text())
    every = [[(t[a:b], content_words(t[a:b])) for a, b in sentence_spans(t)] for t in drafts]
    kept = []
    for d, parts in enumerate(every):
        for j, (text, words) in enumerate(parts):
            is_ask = _is_ask(text)
            if not words or not _keep(text, product, facts, banned_words, is_ask):
                continue
            if is_ask:
                if not (MONEY.search(text) or says_what_it_is(text, product)):
                    continue  # an ask says what to see or its price ("See it for $18.59."), not "See it from Red."
                role = "ask"
            elif j == 0:
                if not says_what_it_is(text, product):
                    continue  # an opener must say what the product is
                role = "opener"
            else:
                role = "body"
            others = [max((_f1(words, w) for _, w in ps), default=0.0) for e, ps in enumerate(every) if e != d]
            agreement = sum(others) / len(others) if others else 0.0
            kept.append(Sentence(text, role, words, agreement))
    return kept


def _distinct(items: list[Sentence]) -> list[Sentence]:
    """`items` best first, without a sentence that says what one before it said (same content words)."""
    out: list[Sentence] = []
    for s in sorted(items, key=lambda s: -s.agreement):
        if all(_f1(s.words, o.words) < 0.8 for o in out):
            out.append(s)
    return out


def compose(
    drafts: Sequence[str],
    product: Product,
    channel: str,
    n: int,
    banned_words: Sequence[str] = (),
    *,
    ask: bool = True,
) -> list[str]:
    """Up to `n` variants for `channel`, each assembled from kept sentences of `drafts` (see module docstring),
    closed by a drafted ask when `ask` (the CTA slider wants one); [] for a channel that is not composed or
    when no draft has a kept opener."""
    if channel not in COMPOSED_CHANNELS or n <= 0:
        return []
    ch = get_channel(channel)
    kept = sentences(drafts, product, banned_words)
    openers = _distinct([s for s in kept if s.role == "opener"])
    bodies = _distinct([s for s in kept if s.role == "body"])
    asks = _distinct([s for s in kept if s.role == "ask"])
    want_ask = ask and bool(asks)
    used = {id(b): 0 for b in bodies}  # bodies already used by earlier variants go last: variants should differ
    out = []
    for v, opener in enumerate(openers[:n]):
        # the price is said once: in the ask, unless the opener already says it (then an ask without it)
        fresh = [a for a in asks[v:] + asks[:v] if not (MONEY.search(a.text) and MONEY.search(opener.text))]
        closing = fresh[0] if want_ask and fresh else None
        room = ch.limit - (len(closing.text) + 1 if closing else 0)
        parts, said, pairs = [opener], set(opener.words), _pairs(opener.text)
        for b in sorted(bodies, key=lambda b: (used[id(b)], -b.agreement)):
            if len(parts) > MAX_BODY or len(" ".join(p.text for p in parts)) >= TARGET_CHARS:
                break
            if len(b.words & said) > MAX_REPEAT * len(b.words) or _pairs(b.text) & pairs:
                continue
            priced = any(MONEY.search(p.text) for p in [*parts, *([closing] if closing else [])])
            if priced and MONEY.search(b.text):
                continue
            if len(" ".join(p.text for p in [*parts, b])) > room:
                continue
            parts.append(b)
            said |= b.words
            pairs |= _pairs(b.text)
            used[id(b)] += 1
        text = " ".join(p.text for p in [*parts, *([closing] if closing else [])])
        if ch.min_chars <= len(text) <= ch.limit:
            out.append(text)
    return out

"""The copy deck: our own copy, written from each product's facts alone, that the copywriter fine-tune learns.

Layout (copy_engine/examples/copy_deck/):
- `part*.jsonl`: one example a line, `{"product": KEY, "channel", "tone", "cta", "text"}`.
- `products*.json`: our own training products, `{"products": [{name, brand, category, features, price, description}]}`
  (copy_engine/examples/training_catalog.json is read too).

KEY is `own:<hash>` for our own products and `csv:<hash>` for training-split rows of a catalog CSV
(../shared/data/products): those rows are never copied into the project, so examples for them resolve only
where the catalog is present. The hash is of the product's name, as the train/eval split is.

Writers see a product exactly as the prompt shows it (`visible_product`): copy that used a fact the prompt
cuts off would teach the model to invent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from copy_engine.channels import CHANNELS, get_channel
from copy_engine.product import Product, name_digest

TONES = ("calm", "balanced", "enthusiastic")
CTAS = ("none", "soft", "strong")


@dataclass(frozen=True)
class DeckExample:
    """One piece of our own copy for one product, channel and pair of wishes."""

    product: str  # product key (see module docstring)
    channel: str  # channel name (copy_engine/channels.py)
    tone: str  # calm | balanced | enthusiastic
    cta: str  # none | soft | strong
    text: str  # the copy

    def to_dict(self) -> dict:
        return asdict(self)


def product_key(product: Product, source: str) -> str:
    """Stable key of a product in the deck: `own:` or `csv:` plus a hash of its name."""
    digest = name_digest(product.name).hex()[:12]
    return f"{source}:{digest}"


def deck_dir() -> Path:
    """Folder of the shipped copy deck."""
    return Path(str(files("copy_engine").joinpath("examples/copy_deck")))


def own_products(folder: Path | None = None) -> list[Product]:
    """Our own training products: the adapters' training catalog plus the deck's products*.json files."""
    from copy_engine.adapters.data import load_training_catalog

    out = list(load_training_catalog())
    for path in sorted((folder or deck_dir()).glob("products*.json")):
        out += [Product(**p) for p in json.loads(path.read_text(encoding="utf-8"))["products"]]
    return out


def csv_products(catalog_csv: str | Path | None) -> list[Product]:
    """Training-split products of a catalog CSV (none when the file is absent)."""
    if catalog_csv is None or not Path(catalog_csv).is_file():
        return []
    from copy_engine.adapters.data import products_from_csv

    return products_from_csv(catalog_csv, 100_000, "train")


def products_by_key(catalog_csv: str | Path | None = None, folder: Path | None = None) -> dict[str, Product]:
    """Every product the deck can refer to, by key."""
    out = {product_key(p, "own"): p for p in own_products(folder)}
    out.update({product_key(p, "csv"): p for p in csv_products(catalog_csv)})
    return out


def read_examples(paths: Iterable[Path]) -> list[DeckExample]:
    """Examples from JSONL files (blank lines skipped)."""
    out = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                out.append(DeckExample(d["product"], d["channel"], d["tone"], d["cta"], d["text"]))
    return out


def load_deck(catalog_csv: str | Path | None = None, folder: Path | None = None) -> list[tuple[Product, DeckExample]]:
    """(product, example) pairs of the deck whose product resolves here."""
    folder = folder or deck_dir()
    products = products_by_key(catalog_csv, folder)
    return [(products[e.product], e) for e in read_examples(sorted(folder.glob("part*.jsonl"))) if e.product in products]


def visible_product(product: Product) -> Product:
    """The product as the prompt shows it: the facts a writer (and the model) may use."""
    from copy_engine.prompts import MAX_FEATURE_CHARS, MAX_PROMPT_FEATURES

    feats = [f[:MAX_FEATURE_CHARS] for f in product.features[:MAX_PROMPT_FEATURES]]
    description = "" if feats else product.description[:200]
    return Product(product.name, product.brand, product.category, feats, product.price, description)


def problems(example: DeckExample, product: Product, others: Sequence[str] = ()) -> list[str]:
    """Why an example breaks the style guide's hard rules (empty when it passes).

    The project's own checks: channel limits, the faithfulness flags against the facts the prompt
    shows, banned words, no first person or meta text, the wished CTA, and no near-duplicate of
    `others` (the product's other copy in the deck).
    """
    from copy_engine.postprocess import near_duplicate, rejection_reason
    from copy_engine.scoring.banned import find_banned
    from copy_engine.scoring.cta import find_ctas, find_false_urgency
    from copy_engine.scoring.faithfulness import find_unsupported
    from copy_engine.settings import DEFAULT_BANNED

    out = []
    if example.channel not in CHANNELS:
        return [f"unknown channel {example.channel!r}"]
    if example.tone not in TONES or example.cta not in CTAS:
        out.append(f"tone/cta must be one of {TONES} / {CTAS}")
    ch, text = get_channel(example.channel), example.text
    if not ch.min_chars <= len(text) <= ch.limit:
        out.append(f"{len(text)} characters; {ch.name} takes {ch.min_chars}-{ch.limit}")
    if "\n" in text or text != text.strip():
        out.append("one line, no surrounding spaces")
    facts = visible_product(product).facts_text()
    # Not unsupported_word: its free vocabulary is read off this deck (scripts/free_words.py), and a word our
    # writers chose in one or two products only is theirs to choose.
    unsupported = find_unsupported(text, facts, words=False)
    for flag in unsupported + find_banned(text, DEFAULT_BANNED) + find_false_urgency(text, facts):
        out.append(f"{flag.kind}: {flag.text!r}")
    reason = rejection_reason(text, product.name, product.features)
    if reason:
        out.append(f"rejected by post-processing: {reason}")
    ctas = find_ctas(text)
    if example.cta == "none" and ctas:
        out.append("cta none but the copy asks for an action")
    if example.cta != "none" and not ctas:
        out.append(f"cta {example.cta} but no call to action found")
    if example.tone == "calm" and "!" in text:
        out.append("calm copy has no exclamation marks")
    if any(near_duplicate(text, o) for o in others):
        out.append("near-duplicate of this product's other copy")
    return out

"""The usable-copy judge: `quality` in [0, 1] that a copywriter would publish a variant as it stands, and why not.

"Usable as it stands" is the style guide's rubric (docs/style-guide.md): about this product, every fact
supported, grammatical and complete, not generic filler, right for the channel. The judge is a logistic head
on features of (product facts, copy):

- MiniLM: cosine of the copy to the product line and to the product's features, and the elementwise
  product of the copy's and the product line's embeddings (what the copy says against what the product is);
- cheap text features: a dangling last word or open bracket (fragments), the faithfulness flags (invented
  numbers, names, claims; off-product kinds; words neither the facts nor ordinary copywriting account for),
  filler phrases, the share of words the facts do not contain, how much of the product's name it uses, length
  against the channel's range, "!" and sentence ends.

It is learned (copy_engine/scoring/judge_train.py, `python -m copy_engine train-judge`) from our copy deck
(positives), real model candidates labelled by reading them (copy_engine/examples/judge_labels.jsonl) and
cheap synthetic negatives. Two heads ship in judge_weights.npz: the full one, and a text-only one used when
the embeddings at hand are not MiniLM's (the tests' fake embedder), so scoring never loads a second model.

The reason of a rejected variant is the first rule that fires (an off-product kind, an invented fact, a
fragment, filler, a length outside the channel) or else the reason head's choice among the labelled reasons.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from copy_engine.channels import CHANNELS, get_channel
from copy_engine.errors import ModelLoadError
from copy_engine.product import Product

REASONS = ("off-product", "invented fact", "nonsense", "fragment", "filler", "wrong channel")
USABLE = "usable"
THRESHOLD = 0.5  # below this a variant is rejected

# Words a phrase cannot end on without the rest of its thought ("Shop Custom Plush (black", "Eyes Light Up and").
_DANGLING = frozenset(
    """a an the and or but with for to of in on at by from your our their its this that these those is are was were
    be will can as so than then into onto over under about while when which who whose where how what more most
    very just also plus & - – — + featuring including includes include has have with""".split()
)
# Generic lines that fit any product (style guide: "Never" list and the examples).
_FILLER = re.compile(
    r"(?i)\b(?:this (?:product|item|listing)|buy (?:this|it|one|now)|order (?:this|it|now)|great (?:product|item|gift)|"
    r"amazing (?:product|item)|perfect gift for (?:everyone|anyone|any)|you(?:'ll| will) love (?:it|this)|"
    r"high[- ]quality|best (?:product|item|price|deal)|must[- ]have|look no further|next level|one-stop|"
    r"shop (?:now|today)(?: and save)?|check (?:it|this) out|get (?:yours|it) (?:now|today)|click|"
    r"don't miss|act now|hurry|limited time|while supplies last|free shipping)\b"
)
_FIRST_PERSON = re.compile(r"(?<![\w'’])(?:I|I'm|I've|me|my|we|our|us)(?![\w'’])")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    """a an the and or but with for to of in on at by from your you our their its it this that is are be will can as
    so than into all any every each one new more most very just also plus get shop buy order now today yours
    discover explore see try make makes made perfect great fun""".split()
)

TEXT_FEATURES = (
    "len_ratio",
    "too_short",
    "too_long",
    "log_words",
    "dangling_end",
    "unbalanced",
    "ends_sentence",
    "ends_comma",
    "exclaim",
    "question",
    "filler",
    "unsupported",
    "unbacked_words",
    "off_product",
    "first_person",
    "novel_share",
    "facts_share",
    "name_cover",
    "no_fact_word",
    "repeat",
    "caps",
    "sentences",
    "desc_ends_sentence",
    "short_exclaim",
    *(f"ch_{c}" for c in CHANNELS),
)


def _stem(w: str) -> str:
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def _content(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def text_features(product: Product, channel: str, text: str, facts: str | None = None) -> np.ndarray:
    """The cheap features of one variant (order: TEXT_FEATURES)."""
    from copy_engine.scoring.faithfulness import find_unsupported

    ch = get_channel(channel)
    facts = product.facts_text() if facts is None else facts
    t = text.strip()
    words = t.split()
    last = re.sub(r"^[\"'“‘(]+|[\"'”’),]+$", "", words[-1].lower()) if words else ""
    content = _content(t)
    fact_words = set(_content(facts))
    name_words = set(_content(product.name))
    novel = [w for w in content if w not in fact_words]
    letters = [c for c in t if c.isalpha()]
    quotes = t.count('"') + t.count("“") + t.count("”")
    flags = find_unsupported(t, facts)
    off = sum(1 for fl in flags if fl.kind == "off_product")
    unbacked = sum(1 for fl in flags if fl.kind == "unsupported_word")
    f = {
        "len_ratio": len(t) / ch.limit,
        "too_short": float(len(t) < ch.min_chars),
        "too_long": float(len(t) > ch.limit),
        "log_words": float(np.log1p(len(words))),
        "dangling_end": float(last in _DANGLING or t.endswith(("-", "&", "+", "/"))),
        "unbalanced": float(t.count("(") != t.count(")") or t.count("[") != t.count("]") or quotes % 2 == 1),
        "ends_sentence": float(t.endswith((".", "!", "?", "…"))),
        "ends_comma": float(t.endswith((",", ":", ";"))),
        "exclaim": float("!" in t),
        "question": float("?" in t),
        "filler": float(len(_FILLER.findall(t))),
        "unsupported": float(len(flags) - off - unbacked),
        "unbacked_words": float(unbacked),
        "off_product": float(off),
        "first_person": float(bool(_FIRST_PERSON.search(t))),
        "novel_share": len(novel) / len(content) if content else 1.0,
        "facts_share": (len(content) - len(novel)) / max(1, len(content)),
        "name_cover": len(name_words & set(content)) / len(name_words) if name_words else 0.0,
        "no_fact_word": float(len(content) == len(novel)),
        "repeat": 1.0 - len(set(content)) / len(content) if content else 0.0,
        "caps": sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
        "sentences": float(len(re.findall(r"[.!?](?:\s|$)", t))),
        "desc_ends_sentence": float(channel in ("description", "ad_description", "social") and not t.endswith((".", "!", "?"))),
        "short_exclaim": float(channel in ("ad_headline", "headline") and "!" in t),
    }
    for c in CHANNELS:
        f[f"ch_{c}"] = float(channel == c)
    return np.array([f[k] for k in TEXT_FEATURES], dtype=np.float32)


def facts_lines(product: Product) -> tuple[str, str]:
    """The two texts the copy is compared with: the product line (name, brand, category) and its features."""
    from copy_engine.scoring.novelty import product_line

    feats = "; ".join(product.features) or product.description[:300] or product.name
    return product_line(product), feats


def embedding_features(text_emb: np.ndarray, line_emb: np.ndarray, feats_emb: np.ndarray) -> np.ndarray:
    """MiniLM features of variants (rows of text_emb) against one product: 2 cosines + elementwise product."""
    text_emb = np.asarray(text_emb, dtype=np.float32)
    cos_line = text_emb @ line_emb
    cos_feats = text_emb @ feats_emb
    return np.hstack([cos_line[:, None], cos_feats[:, None], text_emb * line_emb[None, :]]).astype(np.float32)


@dataclass(frozen=True)
class Verdict:
    """What the judge says about one variant."""

    quality: float  # probability in [0, 1] that a copywriter would use it as it stands
    reason: str  # "usable" or one of REASONS
    explanation: str  # one sentence for the card


def rule_reason(product: Product, channel: str, text: str, x_text: np.ndarray) -> str | None:
    """The reason a rejected variant fails, when a rule can tell (None: leave it to the reason head)."""
    f = dict(zip(TEXT_FEATURES, x_text))
    if f["off_product"] > 0:
        return "off-product"
    if f["unsupported"] > 0:
        return "invented fact"
    if f["dangling_end"] or f["unbalanced"] or f["ends_comma"] or f["desc_ends_sentence"]:
        return "fragment"
    if f["filler"] > 0:
        return "filler"
    if f["too_short"] or f["too_long"] or f["short_exclaim"]:
        return "wrong channel"
    if f["unbacked_words"] > 0:  # after the surer rules: a plain word the facts lack is only likely invented
        return "invented fact"
    return None


_EXPLAIN = {
    USABLE: "Reads as copy a copywriter could publish as it stands ({q:.0%}).",
    "off-product": "Likely unusable ({q:.0%}): it seems to be about a different kind of product.",
    "invented fact": "Likely unusable ({q:.0%}): it states something the product facts don't say.",
    "nonsense": "Likely unusable ({q:.0%}): it doesn't make sense as copy for this product.",
    "fragment": "Likely unusable ({q:.0%}): it stops mid-thought.",
    "filler": "Likely unusable ({q:.0%}): generic filler that would fit any product.",
    "wrong channel": "Likely unusable ({q:.0%}): wrong length or style for this channel.",
}


class Judge:
    """The shipped judge: a standardised-logistic quality head (full or text-only) and a reason head."""

    def __init__(self, weights: dict):
        self.w = {k: np.asarray(v) for k, v in weights.items()}
        self.meta = json.loads(str(self.w["meta"])) if "meta" in self.w else {}
        self.reasons = [str(r) for r in self.w["reasons"]]
        # size of the embeddings the full head was trained on (384 for MiniLM)
        self.embed_dim = int(self.w["full_mean"].shape[-1]) - len(TEXT_FEATURES) - 2

    @classmethod
    def load(cls, path: str | Path) -> "Judge":
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"judge weights not found at {path} (python -m copy_engine train-judge)")
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def _head(self, name: str, x: np.ndarray) -> np.ndarray:
        z = (x - self.w[f"{name}_mean"]) / self.w[f"{name}_scale"]
        return z @ self.w[f"{name}_coef"].T + self.w[f"{name}_intercept"]

    def judge(
        self,
        product: Product,
        channel: str,
        texts: Sequence[str],
        *,
        text_emb: np.ndarray | None = None,
        line_emb: np.ndarray | None = None,
        feats_emb: np.ndarray | None = None,
    ) -> list[Verdict]:
        """Verdicts for `texts` written for `product` on `channel`.

        Pass embeddings of the texts, the product line and the features (facts_lines) from the embedder the
        full head was trained with (MiniLM) to use it; without them, or with embeddings of another size (the
        tests' fake embedder), the text-only head decides.
        """
        texts = list(texts)
        if not texts:
            return []
        facts = product.facts_text()
        x_text = np.vstack([text_features(product, channel, t, facts) for t in texts])
        full = text_emb is not None and line_emb is not None and np.asarray(text_emb).shape[-1] == self.embed_dim
        if full:
            x = np.hstack([x_text, embedding_features(text_emb, np.asarray(line_emb), np.asarray(feats_emb))])
            logits = self._head("full", x).reshape(-1)
        else:
            logits = self._head("text", x_text).reshape(-1)
        quality = 1.0 / (1.0 + np.exp(-logits))
        reason_logits = self._head("reason", x_text)
        out = []
        for i, text in enumerate(texts):
            q = float(quality[i])
            if q >= THRESHOLD:
                reason = USABLE
            else:
                reason = rule_reason(product, channel, text, x_text[i]) or self.reasons[int(np.argmax(reason_logits[i]))]
            out.append(Verdict(q, reason, _EXPLAIN[reason].format(q=q)))
        return out


def judge_with(judge: "Judge", product: Product, channel: str, texts: Sequence[str], embedder=None) -> list[Verdict]:
    """Verdicts for `texts`, embedding them and the product's lines with `embedder` (None: the text-only head)."""
    texts = list(texts)
    if embedder is None or not texts:
        return judge.judge(product, channel, texts)
    line, feats = facts_lines(product)
    emb = np.asarray(embedder.encode(texts + [line, feats]), dtype=np.float32)
    return judge.judge(product, channel, texts, text_emb=emb[:-2], line_emb=emb[-2], feats_emb=emb[-1])


def weights_path() -> Path:
    """Where the shipped judge weights live."""
    return Path(str(files("copy_engine").joinpath("scoring/judge_weights.npz")))


@functools.lru_cache(maxsize=1)
def get_default_judge() -> Judge:
    """The shipped judge, loaded once (raises ModelLoadError when its weights are missing)."""
    return Judge.load(weights_path())

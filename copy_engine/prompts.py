"""Few-shot prompt builder.

Gemma 3 270M is a base model: it continues documents rather than following
instructions, so the prompt is a small "copy deck" of our own examples
(copy_engine/examples/few_shot.json) in a fixed field layout, ending with the
target product's facts and an open `Copy:` line. The tone and CTA wishes are
fields of every example too, so the model sees how they change the copy.
"""

from __future__ import annotations

import functools
import json
import re
from importlib.resources import files

from copy_engine.channels import get_channel
from copy_engine.controls import Controls
from copy_engine.product import Product

PROMPT_VERSION = "fewshot-v1"
COPYWRITER_PROMPT_VERSION = "copywriter-v1"
SEPARATOR = "###"
MAX_PROMPT_FEATURES = 4
MAX_FEATURE_CHARS = 110

# Field labels that must not appear inside untrusted product text: they would
# let catalog data (or an injection attempt) rewrite the prompt's structure.
_FIELD = re.compile(r"(?i)\b(product|brand|category|features|price|audience|voice|tone|call to action|channel|copy)\s*:")


def tone_label(sentiment: float) -> str:
    """Words for the sentiment slider, as written in the examples."""
    if sentiment <= -0.34:
        return "calm"
    if sentiment >= 0.34:
        return "enthusiastic"
    return "balanced"


def cta_label(cta: float) -> str:
    """Words for the CTA slider, as written in the examples."""
    if cta < 0.25:
        return "none"
    if cta < 0.6:
        return "soft"
    return "strong"


# Where a clause ends inside a feature: after , ; : . ! ? or before a dash or bracket
_CLAUSE_END = re.compile(r"[.;,:!?](?=\s)|\s[-–(]")


def _safe(text: str, limit: int, clause: bool = False) -> str:
    """`text` on one line, with no field labels or separators, and at most `limit` characters: cut at a whole
    word, or with `clause` at its last clause boundary past 40 % of the limit, if there is one."""
    text = _FIELD.sub(lambda m: m.group(1), text.replace(SEPARATOR, " "))
    text = text.replace("\n", " ").strip()
    if len(text) <= limit:
        return text
    ends = [m.start() for m in _CLAUSE_END.finditer(text[:limit]) if m.start() >= limit * 0.4] if clause else []
    if ends:
        return text[: ends[-1]].rstrip(" ,;:-–(")
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:-")


@functools.lru_cache(maxsize=1)
def load_examples() -> dict:
    """The few-shot example deck shipped with the package."""
    return json.loads(files("copy_engine").joinpath("examples/few_shot.json").read_text(encoding="utf-8"))


def _short_category(category: str) -> str:
    parts = [p.strip() for p in re.split(r"\|", category) if p.strip()]
    return " > ".join(parts[-2:]) if parts else ""


def product_block(product: Product, channel: str, tone: str, cta: str, audience: str = "", voice: str = "") -> str:
    """The fields describing one product and the wishes for its copy (no copy line)."""
    ch = get_channel(channel)
    cut = functools.partial(_safe, clause=ch.clause_features)
    lines = [f"Product: {cut(product.name, 150)}"]
    if product.brand:
        lines.append(f"Brand: {cut(product.brand, 60)}")
    if product.category:
        lines.append(f"Category: {cut(_short_category(product.category), 80)}")
    feats = [cut(f, MAX_FEATURE_CHARS) for f in product.features[:MAX_PROMPT_FEATURES]]
    if not feats and product.description:
        feats = [cut(product.description, 200)]
    if feats:
        lines.append("Features: " + "; ".join(f for f in feats if f))
    if product.price:
        lines.append(f"Price: {cut(product.price, 20)}")
    if audience:
        lines.append(f"Audience: {cut(audience, 80)}")
    if voice:
        lines.append(f"Voice: {cut(voice, 80)}")
    lines.append(f"Channel: {ch.label} (max {ch.limit} characters)")
    lines.append(f"Tone: {tone}")
    lines.append(f"Call to action: {cta}")
    return "\n".join(lines)


def _pick_examples(channel: str, tone: str, cta: str, k: int) -> list[dict]:
    """k examples of this channel; the best match for the wished tone/CTA comes last (nearest the target)."""
    deck = load_examples()
    pool = [e for e in deck["examples"] if e["channel"] == channel]
    score = lambda e: (e["tone"] == tone) * 2 + (e["cta"] == cta) * 1.5  # noqa: E731
    ranked = sorted(pool, key=lambda e: (score(e), e["product"]))
    return ranked[-k:]


def build_prompt(
    product: Product,
    channel: str,
    controls: Controls,
    audience: str = "",
    brand_voice: str = "",
    n_examples: int = 4,
) -> str:
    """Few-shot prompt ending in an open `Copy:` line for the target product."""
    tone, cta = tone_label(controls.sentiment), cta_label(controls.cta)
    deck = load_examples()
    blocks = []
    for ex in _pick_examples(channel, tone, cta, n_examples):
        p = Product(**deck["products"][ex["product"]])
        blocks.append(product_block(p, channel, ex["tone"], ex["cta"]) + f"\nCopy: {ex['text']}")
    blocks.append(product_block(product, channel, tone, cta, audience, brand_voice) + "\nCopy:")
    return f"\n{SEPARATOR}\n".join(blocks)


def split_head(prompt: str) -> tuple[str, str]:
    """(few-shot head, the target product's part) of a prompt; head + tail == prompt.

    The head runs through the last separator and is the same for every product of one channel
    and wishes, so the generator caches its KV and training shares it across a batch; both must
    cut at the same place, or the adapter would learn on other tokens than it sees at inference.
    A prompt without examples (the copywriter's) is all tail: ("", prompt).
    """
    cut = prompt.rfind(SEPARATOR)
    if cut < 0:
        return "", prompt
    cut += len(SEPARATOR)
    return prompt[:cut], prompt[cut:]


def prompt_builder(copywriter: bool):
    """`build_copywriter_prompt` for the copywriter pipeline, else the few-shot `build_prompt` (same arguments)."""
    return build_copywriter_prompt if copywriter else build_prompt


def build_copywriter_prompt(
    product: Product,
    channel: str,
    controls: Controls,
    audience: str = "",
    brand_voice: str = "",
) -> str:
    """Prompt for the copywriter fine-tune: the product's block with its wishes and an open `Copy:` line.

    No few-shot examples: the fine-tune learned the layout from the copy deck, so the prompt is a
    quarter as long (faster prefill) and nothing from another product can leak into the copy.
    It ends in `Copy:` (never a newline, which starts a new block instead of the copy).
    """
    tone, cta = tone_label(controls.sentiment), cta_label(controls.cta)
    return product_block(product, channel, tone, cta, audience, brand_voice) + "\nCopy:"

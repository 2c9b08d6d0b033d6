"""Perplexity of copy under a language model: the fluency check of evaluations."""

from __future__ import annotations

import math
from typing import Sequence


def perplexity(loaded, texts: Sequence[str], prefixes: Sequence[str] | None = None, batch_size: int = 16) -> float:
    """Token-weighted perplexity of `texts` under `loaded.model` (a LoadedModel).

    With `prefixes` (e.g. the prompts), each text is scored as a continuation
    of its prefix and only the text's tokens count. Padding is masked out.
    Adapters active on the model count too: pass the base model to measure
    drift under the base model.
    """
    import torch

    tok, model = loaded.tokenizer, loaded.model
    total_nll, total_tokens = 0.0, 0
    items = list(zip(prefixes or [""] * len(texts), texts))
    old_side = tok.padding_side
    tok.padding_side = "right"
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            full = [p + (" " if p and not p.endswith((" ", "\n")) else "") + t for p, t in chunk]
            enc = tok(full, return_tensors="pt", padding=True).to(loaded.device)
            labels = enc.input_ids.clone()
            labels[enc.attention_mask == 0] = -100
            for row, (p, _) in enumerate(chunk):
                if p:
                    labels[row, : len(tok(p).input_ids)] = -100
            labels[:, 0] = -100
            with torch.inference_mode():
                logits = model(**enc).logits.float()
            shift_logits, shift_labels = logits[:, :-1], labels[:, 1:]
            nll = torch.nn.functional.cross_entropy(
                shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1), ignore_index=-100, reduction="sum"
            )
            total_nll += float(nll)
            total_tokens += int((shift_labels != -100).sum())
    finally:
        tok.padding_side = old_side
    return math.exp(total_nll / total_tokens) if total_tokens else float("nan")

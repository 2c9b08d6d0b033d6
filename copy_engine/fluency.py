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
    pairs = text_nlls(loaded, texts, prefixes, batch_size)
    total_nll = sum(n for n, _ in pairs)
    total_tokens = sum(k for _, k in pairs)
    return math.exp(total_nll / total_tokens) if total_tokens else float("nan")


def text_nlls(loaded, texts: Sequence[str], prefixes: Sequence[str] | None = None, batch_size: int = 16) -> list:
    """(summed negative log-likelihood, token count) of each text, as `perplexity` counts them."""
    import torch

    tok, model = loaded.tokenizer, loaded.model
    out: list[tuple[float, int]] = []
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
                # The 262k-token output layer dominates the cost: apply it only
                # where a text token is predicted, not at every prompt position.
                hidden = model.get_decoder()(**enc).last_hidden_state[:, :-1]
                targets = labels[:, 1:]
                keep = targets != -100
                logits = model.get_output_embeddings()(hidden[keep]).float()
                cap = getattr(model.config, "final_logit_softcapping", None)
                if cap:
                    logits = torch.tanh(logits / cap) * cap
                nll = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="none")
            rows = keep.nonzero()[:, 0]
            for row in range(len(chunk)):
                mine = rows == row
                out.append((float(nll[mine].sum()), int(mine.sum())))
    finally:
        tok.padding_side = old_side
    return out

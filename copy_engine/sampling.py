"""A small sampling loop for short copy, faster and better suited than `model.generate`.

Why not `generate()`: with a 262k-token vocabulary, its top-p sort and
multinomial over the full vocabulary cost as much as the model itself on a
CPU; its repetition penalty and n-gram blocking also act on the prompt, which
stops the model from repeating the product's own name and facts. Here top-k
comes first (sort only k logits), and both repetition controls see only the
copy being written. Finished rows leave the batch.
"""

from __future__ import annotations

import functools
import warnings

from copy_engine.controls import DecodingParams

# transformers 5.x renames the forward's `past_key_values` argument to `cache`
# and warns; the old name still works on every version we support.
warnings.filterwarnings("ignore", message=r".*`past_key_values` is deprecated.*", category=FutureWarning)


@functools.lru_cache(maxsize=4)
def _stop_token_mask(tokenizer):
    """Boolean mask over the vocabulary: tokens that end one piece of copy (newline, EOS)."""
    import torch

    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    mask = torch.tensor(["\n" in (p or "") or "Ċ" in (p or "") for p in pieces], dtype=torch.bool)
    for tid in (tokenizer.eos_token_id, getattr(tokenizer, "convert_tokens_to_ids")("<end_of_turn>")):
        if isinstance(tid, int) and 0 <= tid < len(mask):
            mask[tid] = True
    return mask


def _banned_by_ngrams(seq: list[int], n: int) -> set[int]:
    """Tokens that would repeat an n-gram already present in `seq` (Welleck-style n-gram blocking)."""
    if n <= 0 or len(seq) < n:
        return set()
    prefix = tuple(seq[-(n - 1) :]) if n > 1 else ()
    banned = set()
    for i in range(len(seq) - n + 1):
        if tuple(seq[i : i + n - 1]) == prefix:
            banned.add(seq[i + n - 1])
    return banned


def sample(
    model, tokenizer, cache, last_ids, n: int, decoding: DecodingParams, generator_seed: int
) -> tuple[list[list[int]], list[list[float]]]:
    """Sample `n` continuations from a prompt whose cache (batch 1) holds all but its last token.

    Returns the new token ids of each continuation, stop token included, and the probability the
    sampler gave each drawn token but the stop token (after top-k, temperature and top-p, as llama.cpp
    reports it with `post_sampling_probs`; llama.cpp reports none for a stop string's token either).
    """
    import torch

    torch.manual_seed(generator_seed)
    stop_mask = _stop_token_mask(tokenizer).to(last_ids.device)
    cache.batch_repeat_interleave(n)
    inputs = last_ids.repeat(n, 1)  # (n, 1): the prompt's last token
    outs: list[list[int]] = [[] for _ in range(n)]
    probs_out: list[list[float]] = [[] for _ in range(n)]
    alive = list(range(n))  # output index of each row still in the batch
    k = max(1, int(decoding.top_k))
    for _ in range(decoding.max_new_tokens):
        logits = model(input_ids=inputs, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1, :]
        logits = logits.float()
        for row, idx in enumerate(alive):
            seq = outs[idx]
            if seq and decoding.repetition_penalty != 1.0:
                prev = torch.tensor(sorted(set(seq)), device=logits.device)
                vals = logits[row, prev]
                logits[row, prev] = torch.where(vals > 0, vals / decoding.repetition_penalty, vals * decoding.repetition_penalty)
            banned = _banned_by_ngrams(seq, decoding.no_repeat_ngram_size)
            if banned:
                logits[row, list(banned)] = float("-inf")
        top_vals, top_idx = torch.topk(logits / max(decoding.temperature, 1e-4), k, dim=-1)
        probs = torch.softmax(top_vals, dim=-1)
        # Nucleus: keep the smallest prefix of the (sorted) top-k whose mass reaches top_p.
        cum = probs.cumsum(dim=-1)
        probs = probs.masked_fill(cum - probs > decoding.top_p, 0.0)
        probs = probs / probs.sum(dim=-1, keepdim=True)
        choice = torch.multinomial(probs, 1)
        tokens = top_idx.gather(-1, choice).squeeze(-1)
        chosen = probs.gather(-1, choice).squeeze(-1).tolist()
        keep_rows = []
        for row, idx in enumerate(alive):
            tok = int(tokens[row])
            outs[idx].append(tok)
            if not bool(stop_mask[tok]):
                probs_out[idx].append(float(chosen[row]))
                keep_rows.append(row)
        if not keep_rows:
            break
        if len(keep_rows) < len(alive):
            sel = torch.tensor(keep_rows, device=tokens.device)
            cache.batch_select_indices(sel)
            tokens = tokens[sel]
            alive = [alive[r] for r in keep_rows]
        inputs = tokens.unsqueeze(-1)
    return outs, probs_out

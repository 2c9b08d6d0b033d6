"""The adapter training loss: a weighted sum of named terms, each logged on its own.

    total = w_lm * lm + w_cta * cta + w_ul * unlikelihood + w_reward * reward + w_kl * kl

lm            mean token cross-entropy on the target copy (labels = -100 on
              prompt tokens and padding, so only the copy is learned)
cta           cross-entropy on the tokens of the call-to-action span only
              (CTA embedding: extra weight where the CTA is)
unlikelihood  token-level unlikelihood (Welleck et al., 2019): at each target
              position, push down the probability of tokens that already
              occurred earlier in the target, or that would repeat an earlier
              n-gram (diversity enhancement)
reward        reward-weighted cross-entropy: each target's token loss times
              its reward weight (sentiment match, CTR, novelty), so better
              targets count more (sentiment adjustment / RAFT-style weighting)
kl            KL(adapter || base) of the next-token distributions at the copy's
              positions (fluency: the adapter may move probability toward its
              objective but is charged for putting it where the base model
              finds the text unlikely; the KL penalty of RLHF's policy
              optimisation). E_adapter[-log p_base] = H(adapter) + KL, so this
              term bounds how much the adapter's samples' perplexity under the
              base model can rise. Needs the base model's logits.

Every function takes plain tensors so the terms are testable on tiny inputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

IGNORE = -100
TERMS = ("lm", "cta", "unlikelihood", "reward", "kl")  # the logged terms, in display order


@dataclass(frozen=True)
class LossWeights:
    """Weight of each loss term (0 switches a term off; it is still logged)."""

    lm: float = 1.0
    cta: float = 0.0
    unlikelihood: float = 0.0
    reward: float = 0.0
    kl: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# Defaults per objective: which terms carry the objective.
OBJECTIVE_WEIGHTS = {
    "tone": LossWeights(lm=0.3, cta=0.0, unlikelihood=0.1, reward=1.0),
    "calm": LossWeights(lm=0.3, cta=0.0, unlikelihood=0.1, reward=1.0),
    "cta": LossWeights(lm=1.0, cta=1.0, unlikelihood=0.1, reward=0.0),
    "creative": LossWeights(lm=1.0, cta=0.0, unlikelihood=0.5, reward=0.5),
    "brand": LossWeights(lm=1.0, cta=0.2, unlikelihood=0.1, reward=0.5),
}


def token_nll(logits, labels):
    """Per-position negative log-likelihood of the next token, shifted; 0 where labels are IGNORE.

    logits: (B, T, V); labels: (B, T) with IGNORE for prompt and padding.
    Returns (nll (B, T-1), mask (B, T-1) float).
    """
    import torch.nn.functional as F

    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    mask = (shift_labels != IGNORE).float()
    nll = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.clamp_min(0).reshape(-1),
        reduction="none",
    ).view(shift_labels.shape)
    return nll * mask, mask


def lm_loss(logits, labels):
    """Mean cross-entropy over target tokens (prompt and padding masked out)."""
    nll, mask = token_nll(logits, labels)
    return nll.sum() / mask.sum().clamp_min(1.0)


def cta_loss(logits, labels, cta_mask):
    """Mean cross-entropy over tokens inside a call-to-action span (cta_mask (B, T) of 0/1 on label positions)."""
    nll, mask = token_nll(logits, labels)
    m = cta_mask[:, 1:].float() * mask
    return (nll * m).sum() / m.sum().clamp_min(1.0)


def reward_loss(logits, labels, example_weights):
    """Per-example mean token cross-entropy, weighted by reward weights (B,) and averaged."""
    nll, mask = token_nll(logits, labels)
    per_example = nll.sum(1) / mask.sum(1).clamp_min(1.0)
    has = (mask.sum(1) > 0).float()
    w = example_weights.float() * has
    return (per_example * w).sum() / has.sum().clamp_min(1.0)


def repeat_candidates(labels, ngram: int = 3):
    """Boolean (B, T-1, V)-free form: list of (batch, position, token) triples to push down.

    For each target position t (predicting labels[t+1]): the earlier target
    tokens other than the gold one (token-level unlikelihood), plus the token
    that would complete an n-gram already seen earlier in the target.
    Returns three LongTensors (rows, positions, tokens).
    """
    import torch

    rows, poss, toks = [], [], []
    b, t = labels.shape
    lab = labels.tolist()
    for i in range(b):
        seq = lab[i]
        target_pos = [j for j in range(1, t) if seq[j] != IGNORE]
        prev: list[int] = []
        for j in target_pos:
            gold = seq[j]
            cands = set(prev)
            if ngram > 1 and len(prev) >= ngram - 1:
                prefix = prev[-(ngram - 1) :]
                for k in range(len(prev) - ngram + 1):
                    if prev[k : k + ngram - 1] == prefix:
                        cands.add(prev[k + ngram - 1])
            cands.discard(gold)
            for c in cands:
                rows.append(i)
                poss.append(j - 1)  # logits at j-1 predict label j
                toks.append(c)
            prev.append(gold)
    as_t = lambda x: torch.tensor(x, dtype=torch.long, device=labels.device)
    return as_t(rows), as_t(poss), as_t(toks)


def unlikelihood_loss(logits, labels, ngram: int = 3):
    """Mean over candidates of -log(1 - p(candidate)) (Welleck et al., 2019); 0 when nothing repeats."""
    import torch

    rows, poss, toks = repeat_candidates(labels, ngram)
    if rows.numel() == 0:
        return logits.sum() * 0.0
    logp = torch.log_softmax(logits[rows, poss].float(), dim=-1)
    p = logp.gather(-1, toks.unsqueeze(-1)).squeeze(-1).exp()
    return -torch.log((1.0 - p).clamp_min(1e-5)).mean()


def kl_to_base(logits, base_logits, labels):
    """Mean over copy positions of KL(softmax(logits) || softmax(base_logits)); both (B, T, V)."""
    import torch

    mask = labels[:, 1:] != IGNORE
    if not bool(mask.any()):
        return logits.sum() * 0.0
    logq = torch.log_softmax(logits[:, :-1][mask].float(), dim=-1)
    logp = torch.log_softmax(base_logits[:, :-1][mask].float(), dim=-1)
    return (logq.exp() * (logq - logp)).sum(-1).mean()


def combined_loss(logits, labels, weights: LossWeights, *, cta_mask=None, example_weights=None, ngram: int = 3,
                  base_logits=None):  # fmt: skip
    """(total, terms): the weighted sum and each term's value (floats) for logging.

    `base_logits` (the base model's, same shape as `logits`) is needed only when weights.kl is set.
    """
    import torch

    terms = {"lm": lm_loss(logits, labels)}
    terms["cta"] = cta_loss(logits, labels, cta_mask) if cta_mask is not None else logits.sum() * 0.0
    terms["unlikelihood"] = unlikelihood_loss(logits, labels, ngram) if weights.unlikelihood else logits.sum() * 0.0
    ew = example_weights if example_weights is not None else torch.ones(labels.shape[0], device=labels.device)
    terms["reward"] = reward_loss(logits, labels, ew)
    if weights.kl and base_logits is None:
        raise ValueError("the kl term needs the base model's logits")
    terms["kl"] = kl_to_base(logits, base_logits, labels) if base_logits is not None else logits.sum() * 0.0
    total = sum(getattr(weights, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}

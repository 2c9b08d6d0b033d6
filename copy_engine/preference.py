"""Preference tuning of the best-of continuation: direct preference optimisation (DPO, Rafailov et al., 2023)
on pairs of the model's own candidates that a reader labelled usable and unusable for the same product.

The best-of continuation learned from usable copy alone (rejection sampling), and most of what it still
writes wrong is a fact put in the wrong place ("a board game for fireflies", "is made of butyl bladder")
or a garbled clause, which a likelihood on good copy never names. The labelled negatives do: each pair is
(prompt, usable copy, unusable copy) of one product and channel, and the loss raises the usable copy's
log-likelihood ratio to the starting adapter above the unusable one's:

    loss = -log σ(β · [(log π(y+) − log π₀(y+)) − (log π(y−) − log π₀(y−))]) + w · NLL(y+)

π₀ is the adapter the run starts from (its log-likelihoods are computed once, before the first step); the
small NLL term on the usable copy (as in RPO, Pang et al., 2024) keeps its likelihood from falling with the
unusable one's. Labels come from training-split products only (reader_train.label_files and the best-of
rounds' labels); the run validates on a held-out share of those products.

Tuned, the continuation writes fewer different drafts: sampled at the best-of's 0.85 its shown descriptions
lost (blind read 68: 26, 22 -> 20, 20 of 80). Sampled hotter (1.0) it gets them back, and on descriptions and
product headlines it ships as `adapters/shipped/preference` (controls.PREFERENCE_CHANNELS; README,
"Preference-tuned, hotter": reads 68 and 69).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from copy_engine.copywriter import ATTENTION, MLP, collate, load_lora_weights, copy_token_logits, encode
from copy_engine.adapters.data import TrainingExample

if TYPE_CHECKING:
    from copy_engine.adapters.lora_run import TrainResult

NAME = "preference"


@dataclass
class PreferenceConfig:
    """One preference run (stored in the adapter's metadata); the LoRA shape must match `init_from`'s."""

    r: int = 16  # LoRA rank (the starting adapter's)
    alpha: float = 32.0  # LoRA scaling numerator (the starting adapter's)
    dropout: float = 0.0  # LoRA dropout: off, so the policy and its reference read the same network at step 0
    target_modules: tuple = ATTENTION + MLP  # layers with LoRA matrices (the starting adapter's)
    steps: int = 150  # optimizer steps at most
    batch_pairs: int = 4  # pairs per step (twice as many sequences)
    lr: float = 5e-5  # peak learning rate (linear warm-up, cosine decay)
    warmup_steps: int = 10  # steps of linear warm-up
    min_lr_ratio: float = 0.0  # cosine decays to lr * this
    clip_norm: float = 1.0  # gradient norm clip
    beta: float = 0.1  # DPO temperature: how far from the starting adapter the log-ratios may move
    sft_weight: float = 0.2  # weight of the per-token NLL of the usable copy beside the preference term
    pairs_per_group: int = 3  # pairs drawn for one product and channel at most (no product dominates)
    val_fraction: float = 0.1  # share of labelled products held out for validation
    max_val_pairs: int = 96  # validation pairs per pass
    eval_every: int = 25  # steps between validation passes
    patience: int = 3  # validation passes without improvement before stopping
    seed: int = 0  # pairing, split and data order
    bf16: bool = True  # bf16 autocast for the matmuls
    max_target_tokens: int = 128  # longest copy scored
    init_from: str = ""  # the adapter the run starts from and is measured against (π₀)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        return d


@dataclass(frozen=True)
class Pair:
    """One preference: for the same prompt, copy a reader would publish and copy they would not."""

    product: str  # product key (the split is by product)
    channel: str
    prompt: str
    chosen: str
    rejected: str


def read_labelled(paths: Sequence[str | Path], products: dict) -> list[dict]:
    """Labelled candidates (product key, channel, text, label) whose product is in `products` (key -> Product),
    with the product attached; the label files' reasons differ by round and are not needed here."""
    out = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            d = json.loads(line) if line.strip() else None
            if d and d["product"] in products:
                out.append({**d, "product_obj": products[d["product"]], "usable": d["label"] == "usable"})
    return out


def labelled_pairs(labelled: Sequence[dict], channels: Sequence[str], per_group: int, seed: int) -> list[Pair]:
    """Pairs from labelled candidates (read_labelled) of `channels`: within each product and channel, each
    unusable candidate (in a seeded order) against a usable one in turn, at most `per_group`."""
    from copy_engine.controls import Controls
    from copy_engine.prompts import build_copywriter_prompt

    rng = random.Random(seed)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for e in labelled:
        if e["channel"] in channels:
            groups[(e["product"], e["channel"])].append(e)
    pairs = []
    for (key, channel), items in sorted(groups.items()):
        good = sorted({e["text"] for e in items if e["usable"]})
        bad = sorted({e["text"] for e in items if not e["usable"]} - set(good))
        if not good or not bad:
            continue
        rng.shuffle(good)
        rng.shuffle(bad)
        prompt = build_copywriter_prompt(items[0]["product_obj"], channel, Controls())  # the request that wrote them
        for i, rejected in enumerate(bad[:per_group]):
            pairs.append(Pair(key, channel, prompt, good[i % len(good)], rejected))
    return pairs


def copy_logps(model, ids, labels, mask):
    """Each row's summed log-probability of its copy tokens, and their number (the head runs on those only)."""
    import torch
    import torch.nn.functional as F

    logits, target, keep = copy_token_logits(model, ids, labels, mask)
    token = -F.cross_entropy(logits, target, reduction="none")
    rows = keep.nonzero()[:, 0]
    total = torch.zeros(ids.shape[0], dtype=token.dtype, device=token.device).index_add(0, rows, token)
    return total, keep.sum(1)


def dpo_terms(pi_c, pi_r, ref_c, ref_r, beta: float):
    """(loss per pair, margin per pair): −log σ(β·margin), margin = (π_c − ref_c) − (π_r − ref_r)."""
    import torch.nn.functional as F

    margin = (pi_c - ref_c) - (pi_r - ref_r)
    return -F.logsigmoid(beta * margin), margin


def train_preference(
    loaded,
    pairs: Sequence[Pair],
    config: PreferenceConfig,
    out_path: str | Path,
    *,
    progress: Callable[[dict], None] | None = None,
    base_model=None,
    data_info: dict | None = None,
    name: str = "best-of",
) -> TrainResult:
    """Train from `config.init_from` on `pairs` and save the best (lowest validation DPO loss) at `out_path`.

    Step 0's validation loss is log 2 (the policy is its reference), the first one to beat.
    """
    import torch

    from copy_engine.adapters.lora_run import LoraRun

    if not config.init_from:
        raise ValueError("a preference run starts from an adapter (init_from): it is its reference")
    run = LoraRun(loaded, config, base_model)
    load_lora_weights(run.model, config.init_from)
    tok, pad = loaded.tokenizer, loaded.tokenizer.pad_token_id or 0
    rng = random.Random(config.seed)
    products = sorted({p.product for p in pairs})
    rng.shuffle(products)
    held = set(products[: max(1, round(len(products) * config.val_fraction))])
    train = [p for p in pairs if p.product not in held]
    val = [p for p in pairs if p.product in held]
    val = rng.sample(val, min(len(val), config.max_val_pairs))
    # Only the pairs the run will see need their reference log-likelihoods: draw the whole order now.
    order = []
    while len(order) < config.steps * config.batch_pairs:
        order += rng.sample(range(len(train)), len(train))
    order = order[: config.steps * config.batch_pairs]

    def enc(p: Pair, text: str):
        return encode(tok, TrainingExample(p.prompt, text), config.max_target_tokens)

    def logps(batch: Sequence[Pair]):
        items = [enc(p, p.chosen) for p in batch] + [enc(p, p.rejected) for p in batch]
        total, count = copy_logps(run.model, *collate(items, pad, run.device))
        return total[: len(batch)], total[len(batch) :], count[: len(batch)]

    reference: dict[Pair, tuple[float, float]] = {}
    run.model.eval()
    with torch.no_grad(), run.autocast:
        wanted = sorted({train[i] for i in order} | set(val), key=lambda p: len(p.prompt) + len(p.chosen))
        for i in range(0, len(wanted), 8):
            chunk = wanted[i : i + 8]
            c, r, _ = logps(chunk)
            reference.update({p: (float(a), float(b)) for p, a, b in zip(chunk, c, r)})
    run.model.train()
    run.log({"step": 0, "reference_pairs": len(reference), "s": round(time.perf_counter() - run.t0, 1)}, progress)

    def dpo_of(batch: Sequence[Pair]):
        """(DPO loss per pair, margin per pair, the usable copy's log-likelihoods and token counts)."""
        pi_c, pi_r, n_c = logps(batch)
        ref_c = torch.tensor([reference[p][0] for p in batch], device=pi_c.device)
        ref_r = torch.tensor([reference[p][1] for p in batch], device=pi_c.device)
        return (*dpo_terms(pi_c, pi_r, ref_c, ref_r, config.beta), pi_c, n_c)

    def loss_of(batch: Sequence[Pair]):
        loss, margin, pi_c, n_c = dpo_of(batch)
        nll = (-pi_c / n_c.clamp(min=1)).mean()
        return loss.mean() + config.sft_weight * nll, margin, nll

    def validate() -> tuple[float, float]:
        run.model.eval()
        losses, right = [], 0
        with torch.no_grad(), run.autocast:
            for i in range(0, len(val), config.batch_pairs * 2):
                loss, margin, _, _ = dpo_of(val[i : i + config.batch_pairs * 2])
                losses += loss.tolist()
                right += int((margin > 0).sum())
        run.model.train()
        return sum(losses) / max(1, len(losses)), right / max(1, len(val))

    run.stopper.best = math.log(2) if val else math.inf
    stopped = "steps"
    for step in range(1, config.steps + 1):
        batch = [train[i] for i in order[(step - 1) * config.batch_pairs : step * config.batch_pairs]]
        terms: dict = {}

        def step_loss():
            loss, margin, nll = loss_of(batch)
            terms.update(margin=round(float(margin.detach().mean()), 3), nll=round(float(nll.detach()), 4))
            return loss, terms

        loss, _, _, lr = run.step(step_loss)
        rec = {"step": step, "loss": round(loss, 4), **terms, "lr": lr}
        rec["s_per_step"] = round((time.perf_counter() - run.t0) / step, 2)
        if val and run.eval_due(step):
            val_loss, accuracy = validate()
            rec.update(val_loss=round(val_loss, 4), val_accuracy=round(accuracy, 3))
            run.stopper.update(val_loss, step, run.model)
        run.log(rec, progress)
        if run.stopper.should_stop:
            stopped = "early_stopping"
            break
    examples = {"train_pairs": len(train), "val_pairs": len(val), "held_out_products": len(held)}
    return run.save(
        loaded, out_path, name=name, objective=NAME, stopped=stopped, examples=examples, data_info=data_info
    )

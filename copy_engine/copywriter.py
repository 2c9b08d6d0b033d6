"""The copywriter fine-tune: Gemma 3 270M with a LoRA adapter trained on our own copy deck.

The base model with four few-shot examples writes about one usable line in four (read as a copywriter
would). Fine-tuned on the deck (copy_engine/examples/copy_deck/, written to docs/style-guide.md) it
learns our layout, the channels' conventions and, above all, to use only the facts it is given. The
prompt is the product's block with its channel, tone and CTA wishes and an open `Copy:` line
(prompts.build_copywriter_prompt): no few-shot examples, so prefill is a quarter as long.

Training computes the loss on the copy tokens only (the prompt is masked out; BOS kept), runs the
output head only where there is a label (262k-vocabulary logits at every position would cost more than
the rest of the step), uses bf16 autocast on CPU and early-stops on held-out deck products.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from copy_engine.adapters.data import TrainingExample
from copy_engine.adapters.train import TrainResult, save_trained_adapter, split_examples
from copy_engine.controls import Controls

NAME = "copywriter"
IGNORE = -100
# The deck's wishes as slider values that the prompt labels back to the same words (prompts.tone_label / cta_label).
TONE_SLIDER = {"calm": -1.0, "balanced": 0.0, "enthusiastic": 1.0}
CTA_SLIDER = {"none": 0.0, "soft": 0.4, "strong": 1.0}
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


@dataclass
class CopywriterConfig:
    """One training run of the copywriter adapter (stored in its metadata)."""

    r: int = 16  # LoRA rank
    alpha: float = 32.0  # LoRA scaling numerator (scale = alpha / r)
    dropout: float = 0.05  # LoRA dropout
    target_modules: tuple = ATTENTION + MLP  # layers that get LoRA matrices
    steps: int = 300  # optimizer steps at most
    batch_size: int = 8  # examples per step
    lr: float = 3e-4  # peak learning rate (linear warm-up, cosine decay)
    warmup_steps: int = 10  # steps of linear warm-up
    val_fraction: float = 0.08  # share of deck products held out for validation loss
    eval_every: int = 25  # steps between validation passes
    patience: int = 3  # validation passes without improvement before stopping
    seed: int = 0  # data order, split and initialisation
    bf16: bool = True  # bf16 autocast for the matmuls (LoRA weights and optimizer state stay fp32)
    max_target_tokens: int = 128  # longest copy learned (a 400-character description is ~90 tokens)
    max_val_examples: int = 96  # validation examples per pass (bounds its cost)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        return d


def deck_examples(catalog_csv: str | Path | None = None, folder: Path | None = None) -> list[TrainingExample]:
    """The copy deck as supervised pairs: copywriter prompt -> our copy (product key kept for the split)."""
    from copy_engine.copy_deck import load_deck
    from copy_engine.prompts import build_copywriter_prompt

    out = []
    for product, ex in load_deck(catalog_csv, folder):
        controls = Controls(TONE_SLIDER[ex.tone], 0.5, CTA_SLIDER[ex.cta])
        prompt = build_copywriter_prompt(product, ex.channel, controls)
        out.append(TrainingExample(prompt, ex.text, product=ex.product, channel=ex.channel))
    return out


def encode(tokenizer, ex: TrainingExample, max_target_tokens: int = 128) -> tuple[list[int], list[int]]:
    """(input ids, labels): BOS + prompt masked out, then " copy\\n" (the newline teaches where to stop)."""
    prompt_ids = tokenizer(ex.prompt).input_ids  # adds <bos>: without it the model's loss roughly doubles
    target_ids = tokenizer(" " + ex.target.strip() + "\n", add_special_tokens=False).input_ids[:max_target_tokens]
    return prompt_ids + target_ids, [IGNORE] * len(prompt_ids) + target_ids


def _collate(items: Sequence[tuple[list[int], list[int]]], pad_id: int, device):
    import torch

    width = max(len(ids) for ids, _ in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, (x, y) in enumerate(items):  # right padding: real tokens keep positions 0..n-1
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def _length_buckets(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches in random order, each of examples of similar length.

    A batch is padded to its longest example; one 400-character description among headlines
    doubled the step's cost. Sorting within shuffled windows of 16 batches keeps batches mixed
    across the deck while cutting most of the padding.
    """
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    window = size * 16
    batches = []
    for w in range(0, len(idx), window):
        chunk = sorted(idx[w : w + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def copy_loss(model, ids, labels, mask):
    """Mean next-token cross-entropy over the copy tokens, with the output head run only on those positions."""
    import torch.nn.functional as F

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.model(input_ids=ids, attention_mask=mask).last_hidden_state
    target = labels[:, 1:]
    keep = target != IGNORE  # padding and prompt are IGNORE, so they never reach the head
    logits = causal_lm.lm_head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), target[keep])


def train_copywriter(
    loaded,
    examples: Sequence[TrainingExample],
    config: CopywriterConfig,
    out_path: str | Path,
    *,
    progress: Callable[[dict], None] | None = None,
    base_model=None,
    data_info: dict | None = None,
    checkpoint: Callable[[dict, int, float], None] | None = None,
) -> TrainResult:
    """Train the copywriter LoRA on deck examples and save the best (by validation loss) at `out_path`."""
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from transformers import get_cosine_schedule_with_warmup

    from copy_engine.adapters.registry import base_signature
    from copy_engine.adapters.train import load_training_base

    t0 = time.perf_counter()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() and loaded.device == "cuda" else "cpu"
    tok = loaded.tokenizer
    base = base_model if base_model is not None else load_training_base(loaded.source, device)
    signature = base_signature(base.config)
    lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")  # fmt: skip
    model = get_peft_model(base, lora)
    train_ex, val_ex = split_examples(examples, config.val_fraction, config.seed)
    rng = random.Random(config.seed)
    val_ex = rng.sample(val_ex, min(len(val_ex), config.max_val_examples))
    enc_train = [encode(tok, e, config.max_target_tokens) for e in train_ex]
    enc_val = sorted((encode(tok, e, config.max_target_tokens) for e in val_ex), key=lambda x: len(x[0]))
    pad = tok.pad_token_id or 0
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(opt, config.warmup_steps, config.steps)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=config.bf16)

    def validate() -> float:
        model.eval()
        total, n = 0.0, 0
        with torch.no_grad(), autocast:
            for i in range(0, len(enc_val), config.batch_size):
                chunk = enc_val[i : i + config.batch_size]
                total += float(copy_loss(model, *_collate(chunk, pad, device))) * len(chunk)
                n += len(chunk)
        model.train()
        return total / max(1, n)

    order: list[list[int]] = []
    history: list[dict] = []
    best = {"val": validate() if enc_val else float("inf"), "step": 0, "state": None, "bad": 0}
    history.append({"step": 0, "val_loss": round(best["val"], 4), "s": round(time.perf_counter() - t0, 1)})
    if progress:
        progress(history[0])
    stopped = "steps"
    model.train()
    for step in range(1, config.steps + 1):
        if not order:
            order = _length_buckets([len(x[0]) for x in enc_train], config.batch_size, rng)
        batch = [enc_train[i] for i in order.pop()]
        # enable_grad: the inference side of the process switches gradients off globally.
        with torch.enable_grad(), autocast:
            loss = copy_loss(model, *_collate(batch, pad, device))
        opt.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        schedule.step()
        rec = {"step": step, "loss": round(float(loss.detach()), 4), "lr": schedule.get_last_lr()[0],
               "s_per_step": round((time.perf_counter() - t0) / step, 2)}  # fmt: skip
        if enc_val and (step % config.eval_every == 0 or step == config.steps):
            rec["val_loss"] = val = round(validate(), 4)
            if val < best["val"] - 1e-4:
                best.update(val=val, step=step, bad=0)
                best["state"] = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
                if checkpoint:  # the best so far, usable while training goes on
                    checkpoint(best["state"], step, val)
            else:
                best["bad"] += 1
        history.append(rec)
        if progress:
            progress(rec)
        if best["bad"] >= config.patience:
            stopped = "early_stopping"
            break
    state = best["state"] if best["state"] is not None else get_peft_model_state_dict(model)
    seconds = round(time.perf_counter() - t0, 1)
    meta = {
        "name": NAME,
        "objective": NAME,
        "base": {"name": loaded.name, **signature},
        "lora": {"r": config.r, "alpha": config.alpha, "target_modules": list(config.target_modules)},
        "training": {
            "config": config.to_dict(),
            "best_step": best["step"],
            "best_val_loss": None if best["val"] == float("inf") else best["val"],
            "stopped": stopped,
            "seconds": seconds,
            "device": device,
            "examples": {"train": len(train_ex), "val": len(val_ex)},
            "data": data_info or {},
            "history": history,
        },
        "metrics": {},
    }
    path = save_trained_adapter(out_path, state, meta)
    return TrainResult(path, len(history) - 1, best["step"], best["val"], seconds, stopped, history)

"""The copywriter fine-tune: Gemma 3 270M with a LoRA adapter trained on our own copy deck.

The base model with four few-shot examples writes about one usable line in four (read as a copywriter
would). Fine-tuned on the deck (copy_engine/examples/copy_deck/, written to docs/style-guide.md) it
learns our layout, the channels' conventions and, above all, to use only the facts it is given. The
prompt is the product's block with its channel, tone and CTA wishes and an open `Copy:` line
(prompts.build_copywriter_prompt): no few-shot examples, so prefill is a quarter as long.

Training computes the loss on the copy tokens only (the prompt is masked out; BOS kept), runs the
output head only where there is a label (262k-vocabulary logits at every position would cost more than
the rest of the step), uses bf16 autocast on CPU and early-stops on held-out deck products. The run
itself (schedule, step, early stopping, save) is the one the copy adapters use (adapters/lora_run.py).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from copy_engine.adapters.data import TrainingExample
from copy_engine.adapters.lora_run import LoraRun, TrainResult
from copy_engine.adapters.losses import IGNORE
from copy_engine.adapters.train import split_examples
from copy_engine.controls import Controls

NAME = "copywriter"
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
    min_lr_ratio: float = 0.0  # cosine decays to lr * this
    clip_norm: float = 1.0  # gradient norm clip
    val_fraction: float = 0.08  # share of deck products held out for validation loss
    eval_every: int = 25  # steps between validation passes
    patience: int = 3  # validation passes without improvement before stopping
    seed: int = 0  # data order, split and initialisation
    bf16: bool = True  # bf16 autocast for the matmuls (LoRA weights and optimizer state stay fp32)
    max_target_tokens: int = 128  # longest copy learned (a 400-character description is ~90 tokens)
    max_val_examples: int = 96  # validation examples per pass (bounds its cost)
    init_from: str = ""  # adapter file whose LoRA weights start the run (continued training); "" = fresh LoRA
    # Product keys held out for validation instead of a val_fraction share. The share is drawn from the deck's
    # products as they are, so once the deck grows it holds products an earlier run trained on; a continued run
    # names products that no run has seen.
    val_products: tuple = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        d["val_products"] = list(self.val_products)
        return d


def deck_examples(
    catalog_csv: str | Path | None = None,
    folder: Path | None = None,
    channels: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> list[TrainingExample]:
    """The copy deck as supervised pairs: copywriter prompt -> our copy (product key kept for the split).

    `channels` keeps those channels only; `sources` keeps the products of those key sources only ("csv" for
    catalog rows, "own" for our own products): our invented products transfer worse to real listings.
    """
    from copy_engine.copy_deck import load_deck
    from copy_engine.prompts import build_copywriter_prompt

    prefixes = tuple(f"{s}:" for s in sources)
    out = []
    for product, ex in load_deck(catalog_csv, folder):
        if (channels and ex.channel not in channels) or (prefixes and not ex.product.startswith(prefixes)):
            continue
        controls = Controls(TONE_SLIDER[ex.tone], 0.5, CTA_SLIDER[ex.cta])
        prompt = build_copywriter_prompt(product, ex.channel, controls)
        out.append(TrainingExample(prompt, ex.text, product=ex.product, channel=ex.channel))
    return out


def encode(tokenizer, ex: TrainingExample, max_target_tokens: int = 128) -> tuple[list[int], list[int]]:
    """(input ids, labels): BOS + prompt masked out, then " copy\\n" (the newline teaches where to stop)."""
    prompt_ids = tokenizer(ex.prompt).input_ids  # adds <bos>: without it the model's loss roughly doubles
    target_ids = tokenizer(" " + ex.target.strip() + "\n", add_special_tokens=False).input_ids[:max_target_tokens]
    return prompt_ids + target_ids, [IGNORE] * len(prompt_ids) + target_ids


def collate(items: Sequence[tuple[list[int], list[int]]], pad_id: int, device):
    """(token ids, labels) pairs -> right-padded ids, labels (padding masked out with IGNORE) and attention mask."""
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


def copy_token_logits(model, ids, labels, mask):
    """(logits, targets, keep): the output head run only where a copy token is predicted (`keep`, the mask of
    positions over labels[:, 1:]), in fp32, with the token each of those positions must predict."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.model(input_ids=ids, attention_mask=mask).last_hidden_state
    target = labels[:, 1:]
    keep = target != IGNORE  # padding and prompt are IGNORE, so they never reach the head
    return causal_lm.lm_head(hidden[:, :-1][keep]).float(), target[keep], keep


def copy_loss(model, ids, labels, mask):
    """Mean next-token cross-entropy over the copy tokens, with the output head run only on those positions."""
    import torch.nn.functional as F

    logits, target, _ = copy_token_logits(model, ids, labels, mask)
    return F.cross_entropy(logits, target)


def load_lora_weights(model, path: str | Path) -> None:
    """Copy a saved adapter's LoRA tensors into `model`'s LoRA layers (same rank and modules), in place."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    try:
        result = set_peft_model_state_dict(model, load_file(str(path)))
    except RuntimeError as exc:  # shapes differ: another rank
        raise ValueError(f"{path} does not fit this run's LoRA layers: {str(exc).splitlines()[-1].strip()}") from exc
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing:  # a different rank or module set would train silently from scratch for those layers
        raise ValueError(f"{path} does not fit this run's LoRA layers ({len(missing)} missing, e.g. {missing[0]})")


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
    name: str = NAME,
) -> TrainResult:
    """Train the copywriter LoRA on deck examples and save the best (by validation loss) at `out_path`.

    The validation loss of the base model (step 0) is the first one to beat. `checkpoint(state, step,
    val_loss)` receives each new best's weights while training goes on. `name` is the adapter's name in its
    metadata ("best-of" for the copywriter's continuation that ships beside it).
    """
    run = LoraRun(loaded, config, base_model)
    if config.init_from:
        load_lora_weights(run.model, config.init_from)
    tok = loaded.tokenizer
    train_ex, val_ex = split_examples(examples, config.val_fraction, config.seed, config.val_products)
    rng = random.Random(config.seed)
    val_ex = rng.sample(val_ex, min(len(val_ex), config.max_val_examples))
    enc_train = [encode(tok, e, config.max_target_tokens) for e in train_ex]
    enc_val = sorted((encode(tok, e, config.max_target_tokens) for e in val_ex), key=lambda x: len(x[0]))
    pad = tok.pad_token_id or 0

    def loss_of(batch):
        return copy_loss(run.model, *collate(batch, pad, run.device))

    def validate() -> float:
        size = config.batch_size
        return run.validation_loss((enc_val[i : i + size] for i in range(0, len(enc_val), size)), loss_of)

    run.stopper.best = validate() if enc_val else math.inf
    run.log({"step": 0, "val_loss": round(run.stopper.best, 4), "s": round(time.perf_counter() - run.t0, 1)}, progress)
    order: list[list[int]] = []
    stopped = "steps"
    for step in range(1, config.steps + 1):
        if not order:
            order = _length_buckets([len(x[0]) for x in enc_train], config.batch_size, rng)
        batch = [enc_train[i] for i in order.pop()]
        loss, _, _, lr = run.step(lambda: (loss_of(batch), {}))
        seconds = time.perf_counter() - run.t0
        rec = {"step": step, "loss": round(loss, 4), "lr": lr, "s_per_step": round(seconds / step, 2)}
        if enc_val and run.eval_due(step):
            rec["val_loss"] = val = round(validate(), 4)
            if run.stopper.update(val, step, run.model) and checkpoint:
                checkpoint(run.stopper.state, step, val)  # the best so far, usable while training goes on
        run.log(rec, progress)
        if run.stopper.should_stop:
            stopped = "early_stopping"
            break
    examples_used = {"train": len(train_ex), "val": len(val_ex)}
    return run.save(
        loaded, out_path, name=name, objective=NAME, stopped=stopped, examples=examples_used, data_info=data_info
    )

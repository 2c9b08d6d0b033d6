"""What every LoRA training run here shares: the copy adapters (adapters/train.py) and the copywriter
fine-tune (copywriter.py) differ in their data, batches and loss, not in how they train.

A `LoraRun` seeds, puts LoRA layers on a separate fp32 copy of the base model (the inference model
may be bf16 and must not change while it serves requests), and owns AdamW with transformers' linear
warm-up + cosine schedule, one optimizer step, the validation pass, early stopping (`EarlyStopper`,
which keeps the best weights) and the save: bf16 tensors + metadata, then the llama.cpp conversion.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class RunConfig(Protocol):
    """The fields of a training config that the shared run reads (AdapterTrainConfig, CopywriterConfig)."""

    r: int
    alpha: float
    dropout: float
    target_modules: tuple
    steps: int
    lr: float
    warmup_steps: int
    min_lr_ratio: float
    clip_norm: float
    eval_every: int
    patience: int
    seed: int
    bf16: bool

    def to_dict(self) -> dict: ...


@dataclass
class TrainResult:
    """What a run produced."""

    path: Path
    steps_done: int
    best_step: int
    best_val_loss: float
    seconds: float
    stopped: str  # 'steps', 'early_stopping' or 'cancelled'
    history: list = field(default_factory=list)  # one dict per step: step, lr, loss terms, val (when measured)


class EarlyStopper:
    """The best validation loss so far, its step and a copy of its LoRA weights; stops after
    `patience` evaluations in a row without an improvement of more than `min_delta`."""

    def __init__(self, patience: int, best: float = math.inf, min_delta: float = 1e-4):
        self.patience = patience
        self.min_delta = min_delta
        self.best = best  # the loss to beat (the copywriter starts from the base model's)
        self.best_step = 0
        self.state: dict | None = None  # LoRA weights at best_step; None until an evaluation improves
        self.bad = 0  # evaluations since the last improvement

    def update(self, val: float, step: int, model) -> bool:
        """Record the validation loss at `step`; True (and the weights kept) when it is a new best."""
        from peft import get_peft_model_state_dict

        if not val < self.best - self.min_delta:  # written so that a NaN loss counts as no improvement
            self.bad += 1
            return False
        self.best, self.best_step, self.bad = val, step, 0
        self.state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        return True

    @property
    def should_stop(self) -> bool:
        """Patience is used up."""
        return self.bad >= self.patience

    def kept(self, model, steps_done: int) -> dict:
        """The weights to save: the best evaluated ones, else the model's last (the best, when nothing was measured)."""
        from peft import get_peft_model_state_dict

        if self.state is not None:
            return self.state
        if self.best == math.inf:
            self.best_step = steps_done
        return get_peft_model_state_dict(model)


def load_training_base(source: str, device: str):
    """A separate fp32 copy of the base model for training (the inference model is left alone)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    return model.to(device)


def load_copywriter_base(source: str, device: str):
    """A separate fp32 copy of the base model with the copywriter fine-tune merged into its weights.

    What the copywriter pipeline's slider adapters train on and are measured against. LoRA updates add
    up, so an adapter trained on these weights runs on llama.cpp as one more LoRA beside the
    copywriter's (base + copywriter + adapter), exactly as it was trained.
    """
    from copy_engine.adapters.mixing import merge_adapter
    from copy_engine.adapters.registry import COPYWRITER_FILE

    model = load_training_base(source, device)
    merge_adapter(model, COPYWRITER_FILE)
    return model


class LoraRun:
    """One LoRA training run: the model with its LoRA layers, AdamW and its schedule, early stopping, the history."""

    def __init__(self, loaded, config: RunConfig, base_model=None):
        """Seed, load the fp32 base (`base_model`, in tests, replaces the copy from loaded.source), add LoRA layers."""
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import get_cosine_with_min_lr_schedule_with_warmup

        from copy_engine.adapters.registry import base_signature
        from copy_engine.model import native_bf16

        self.t0 = time.perf_counter()
        self.config = config
        random.seed(config.seed)
        torch.manual_seed(config.seed)  # the LoRA initialisation and dropout
        self.device = "cuda" if torch.cuda.is_available() and loaded.device == "cuda" else "cpu"
        base = base_model if base_model is not None else load_training_base(loaded.source, self.device)
        self.signature = base_signature(base.config)
        lora = LoraConfig(
            r=config.r,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=list(config.target_modules),
            bias="none",
            task_type="CAUSAL_LM",
        )
        self.model = get_peft_model(base, lora)
        self.model.train()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=config.lr, weight_decay=0.0)
        # Linear warm-up from 0, then cosine decay to lr * min_lr_ratio at the last step.
        self.schedule = get_cosine_with_min_lr_schedule_with_warmup(
            self.opt, config.warmup_steps, config.steps, min_lr_rate=config.min_lr_ratio
        )
        # bf16 autocast for the matmuls; the LoRA weights and the optimizer state stay fp32. Not on a CPU
        # without native bf16, where it would make every step ~200x slower (model.cpu_bf16_is_fast).
        self.bf16 = config.bf16 and native_bf16(self.device)
        self.autocast = torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16)
        self.stopper = EarlyStopper(config.patience)
        self.history: list[dict] = []

    def step(self, loss_fn: Callable[[], tuple]) -> tuple[float, dict, float, float]:
        """One optimizer step on `loss_fn()`, which returns (loss tensor, terms).

        Returns (loss, terms, gradient norm before clipping, the learning rate this step used).
        """
        import torch

        lr = self.schedule.get_last_lr()[0]
        # enable_grad: loading the inference model switches gradients off for its thread (model.py).
        with torch.enable_grad():
            with self.autocast:
                loss, terms = loss_fn()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, self.config.clip_norm))
        self.opt.step()
        self.schedule.step()
        return float(loss.detach()), terms, grad_norm, lr

    def validation_loss(self, chunks: Iterable[list], loss_of: Callable[[list], object]) -> float:
        """Mean of `loss_of(chunk)` over validation chunks, weighted by their sizes (dropout off, no gradients)."""
        import torch

        self.model.eval()
        total, n = 0.0, 0
        with torch.no_grad(), self.autocast:
            for chunk in chunks:
                total += float(loss_of(chunk)) * len(chunk)
                n += len(chunk)
        self.model.train()
        return total / max(1, n)

    def eval_due(self, step: int) -> bool:
        """Whether to measure the validation loss after `step` (1-based): every eval_every steps and at the last."""
        return step % self.config.eval_every == 0 or step == self.config.steps

    def log(self, record: dict, progress: Callable[[dict], None] | None) -> None:
        """Append a step's record to the history and pass it on."""
        self.history.append(record)
        if progress:
            progress(record)

    @property
    def steps_done(self) -> int:
        return self.history[-1]["step"] if self.history else 0

    def result(self, path, stopped: str) -> TrainResult:
        """The run's outcome as it stands (nothing saved)."""
        s, seconds = self.stopper, time.perf_counter() - self.t0
        return TrainResult(Path(path), self.steps_done, s.best_step, s.best, seconds, stopped, self.history)

    def save(self, loaded, out_path, *, name: str, objective: str, stopped: str, examples: dict, data_info):
        """Save the kept weights with the run's metadata (and convert them for llama.cpp); the TrainResult."""
        state = self.stopper.kept(self.model, self.steps_done)
        cfg, s = self.config, self.stopper
        meta = {
            "name": name,
            "objective": objective,
            "base": {"name": loaded.name, **self.signature},
            "lora": {"r": cfg.r, "alpha": cfg.alpha, "target_modules": list(cfg.target_modules)},
            "training": {
                "config": cfg.to_dict(),
                "steps_done": self.steps_done,
                "best_step": s.best_step,
                "best_val_loss": None if s.best == math.inf else round(s.best, 4),
                "stopped": stopped,
                "seconds": round(time.perf_counter() - self.t0, 1),
                "device": self.device,
                "autocast": "bf16" if self.bf16 else "off",  # config.bf16 asks; a CPU without native bf16 says no
                "examples": examples,
                "data": data_info or {},
                "history": self.history,
            },
            "metrics": {},
        }
        return self.result(save_trained_adapter(out_path, state, meta), stopped)


def save_trained_adapter(out_path, state: dict, meta: dict, convert: bool = True) -> Path:
    """Save a trained adapter's LoRA tensors (bf16) and metadata, then convert it for llama.cpp; returns the path.

    bf16 halves the file (r=16 on q/k/v/o of the 270M model: ~3 MB); inference casts to its dtype.
    `convert=False` skips the llama.cpp conversion (checkpoints written while training goes on).
    """
    import torch

    from copy_engine.adapters.registry import save_adapter

    path = save_adapter(out_path, {k: v.to(torch.bfloat16) for k, v in state.items()}, meta)
    if convert:
        _convert_for_llamacpp(path)
    return path


def _convert_for_llamacpp(path) -> None:
    """Convert a saved adapter to llama.cpp's LoRA GGUF now (cached by content hash), so the llama.cpp
    backends start without converting; a failure only logs (they convert on load instead)."""
    import logging

    from copy_engine.adapters.gguf_lora import gguf_for
    from copy_engine.settings import get_settings

    try:
        gguf_for(path, get_settings().cache_dir)
    except Exception as exc:  # noqa: BLE001 - the safetensors file is saved; conversion can be retried
        logging.getLogger(__name__).warning("adapter %s not converted for llama.cpp: %s", path, exc)

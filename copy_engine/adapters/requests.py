"""What a training request must satisfy, checked before any data or model is loaded.

The `train-adapter` command and the Adapters page call the same `check_training_request`, so a
name or setting the command refuses is refused on the page too, with the same message.
"""

from __future__ import annotations

from copy_engine.adapters.registry import SHIPPED_NAMES, check_name
from copy_engine.errors import InputError

# Objectives an adapter can be trained for; `calm` is the negative end of the sentiment slider.
OBJECTIVES = ("tone", "calm", "cta", "creative", "brand")
MAX_STEPS = 5000  # optimizer steps; more is a typo, not a plan (a step takes seconds on a CPU)
MAX_BATCH_SIZE = 64  # examples per step; beyond this the 270M model's activations outgrow a laptop
RANKS = (4, 8, 16, 32)  # LoRA ranks the mixing code and the llama.cpp conversion were measured with


def check_training_request(name: str, objective: str, steps: int, batch_size: int = 8, rank: int = 16, *,
                           user_folder: bool = True) -> str:  # fmt: skip
    """The adapter name, stripped, when the request is valid; InputError naming the first problem otherwise.

    `user_folder`: the adapter goes to the user adapters folder, where it must not shadow a shipped one.
    """
    name = check_name(name.strip() if isinstance(name, str) else name)
    if objective not in OBJECTIVES:
        raise InputError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not 1 <= steps <= MAX_STEPS:
        raise InputError(f"--steps must be between 1 and {MAX_STEPS}, got {steps}")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    if rank not in RANKS:
        raise InputError(f"--rank must be 4, 8, 16 or 32, got {rank}")
    if user_folder and name in SHIPPED_NAMES:
        raise InputError(f"{name!r} is the name of a shipped adapter; choose another name")
    return name

"""LoRA adapters that make the sliders act on the model itself.

losses.py    the multi-objective loss (lm, cta, unlikelihood, reward terms)
data.py      training data: self-distillation with reward ranking, the user's copy
train.py     the training loop (fp32 copy of the base, warm-up + cosine, clipping, early stopping)
registry.py  adapter files (safetensors + json): list, validate, save
mixing.py    attach adapters once; per-adapter weights from the sliders at each request
evaluate.py  measured effect on unseen products (the evaluate-adapters command)

Nothing here imports torch/peft at module import time.
"""

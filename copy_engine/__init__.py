"""CopyLab engine: local LLM marketing copy generation, scoring and evaluation.

Importing this package is cheap: heavy libraries (torch, transformers, peft,
sentence-transformers) are imported inside the loaders that need them.
"""

from copy_engine.channels import CHANNELS, channel_limit
from copy_engine.controls import AdapterWeights, Controls, DecodingParams, map_controls
from copy_engine.product import Product

__all__ = [
    "CHANNELS",
    "channel_limit",
    "AdapterWeights",
    "Controls",
    "DecodingParams",
    "map_controls",
    "Product",
]

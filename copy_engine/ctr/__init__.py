"""Click-through predictor learned from headline A/B tests.

Public API: `get_default_predictor()` returns the process-wide `CTRPredictor`
(shipped weights) with `score(texts)`, `prob_beats(a, b)` and `percentile(texts)`.
"""

from copy_engine.ctr.predictor import CTRPredictor, get_default_predictor, load_predictor

__all__ = ["CTRPredictor", "get_default_predictor", "load_predictor"]

"""Predicted click-through, as a percentile from the CTR model (copy_engine.ctr)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from copy_engine.errors import CopyLabError


def default_predictor():
    """The project's CTR predictor (imported late: copy_engine.ctr may load a model)."""
    from copy_engine.ctr import get_default_predictor

    return get_default_predictor()


def predict_percentiles(texts: Sequence[str], predictor=None) -> tuple[np.ndarray, str | None]:
    """(percentiles in [0, 1], None) or, when the CTR model can't be loaded, (0.5 each, the reason).

    A missing CTR model must not stop the copywriter from generating: the caller
    drops the CTR weight and the explanation says why.
    """
    if len(texts) == 0:
        return np.zeros(0), None
    try:
        predictor = default_predictor() if predictor is None else predictor
        values = np.asarray(predictor.percentile(list(texts)), dtype=float).reshape(-1)
    except CopyLabError as exc:
        return np.full(len(texts), 0.5), str(exc)
    if len(values) != len(texts):
        raise ValueError(f"CTR predictor returned {len(values)} values for {len(texts)} texts")
    return np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0), None


def explain_ctr(percentile: float, unavailable: str | None) -> str:
    """One sentence about the predicted click-through."""
    if unavailable:
        return f"No click-through prediction ({unavailable}); not counted."
    return f"Predicted to get more clicks than {percentile:.0%} of our reference product copy."

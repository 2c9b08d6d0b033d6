"""Finished experiments as training rows for the click-through predictor."""

from __future__ import annotations

from collections.abc import Mapping

from copy_engine.errors import InputError
from copy_engine.experiments.arms import ArmResult, check_counts


def _arm_fields(item, index: int) -> tuple[str, int, int]:
    where = f"arm {index}"
    if isinstance(item, ArmResult):
        return (item.text or item.variant), item.impressions, item.clicks
    if isinstance(item, Mapping):
        headline = item.get("headline") or item.get("text") or item.get("variant") or item.get("name")
        try:
            return headline, item["impressions"], item["clicks"]
        except KeyError as exc:
            raise InputError(f"{where}: missing {exc.args[0]!r}") from None
    if isinstance(item, (tuple, list)) and len(item) == 3:
        return tuple(item)  # type: ignore[return-value]
    raise InputError(f"{where}: expected an ArmResult, a dict or (headline, impressions, clicks)")


def to_ctr_training_rows(experiment_name: str, arms_with_totals) -> list[dict]:
    """Rows in the click-through predictor's training format (the A/B-tests CSV columns
    test_id, headline, impressions, clicks), one per arm, test_id = experiment_name.

    Each arm is an ArmResult (headline = its `text`, else its variant name), a dict
    with headline (or text, variant, name: an arm of store.experiments.get_experiment
    fits as it is), impressions and clicks, or a
    (headline, impressions, clicks) tuple. Arms without impressions carry no
    signal and are left out; the predictor learns from pairs, so fewer than two
    usable arms gives no rows.
    """
    if not isinstance(experiment_name, str) or not experiment_name.strip():
        raise InputError("experiment name must be a non-empty text")
    rows = []
    seen: set[str] = set()
    for index, item in enumerate(arms_with_totals, start=1):
        headline, impressions, clicks = _arm_fields(item, index)
        if not isinstance(headline, str) or not headline.strip():
            raise InputError(f"arm {index}: the headline is empty")
        headline = headline.strip()
        impressions, clicks, _ = check_counts(impressions, clicks, 0, f"arm {index} ({headline!r})")
        if headline in seen:
            raise InputError(f"arm {index}: headline {headline!r} appears twice in experiment {experiment_name!r}")
        seen.add(headline)
        if impressions > 0:
            rows.append(
                {"test_id": experiment_name.strip(), "headline": headline, "impressions": impressions, "clicks": clicks}
            )
    return rows if len(rows) >= 2 else []

"""Cumulative per-day series for trend charts."""

from __future__ import annotations

from datetime import date

from copy_engine.errors import InputError
from copy_engine.experiments.arms import ArmResult, DailyRow
from copy_engine.experiments.frequentist import rate, wilson_interval


def day_order(days: list[str]) -> list[str]:
    """Distinct days in time order: ISO dates by date, whole numbers numerically,
    anything else in the order first seen."""
    distinct = list(dict.fromkeys(days))
    try:
        return sorted(distinct, key=date.fromisoformat)
    except ValueError:
        pass
    try:
        return sorted(distinct, key=int)
    except ValueError:
        return distinct


def daily_series(rows) -> list[dict]:
    """Cumulative CTR and CVR with Wilson 95% intervals, per day and variant.

    `rows` is a list of DailyRow, or of ArmResult (their `daily` rows are used).
    Returns one dict per (day, variant) from the variant's first day on, days in
    time order: day, variant, cumulative impressions/clicks/conversions, ctr,
    ctr_ci, cvr, cvr_ci (None where undefined) and that day's own counts as
    day_impressions/day_clicks/day_conversions. Empty when there are no daily rows.
    """
    daily: list[DailyRow] = []
    for r in rows:
        if isinstance(r, ArmResult):
            daily.extend(r.daily)
        elif isinstance(r, DailyRow):
            daily.append(r)
        else:
            raise InputError(f"expected DailyRow or ArmResult items, got {type(r).__name__}")
    by_key: dict[tuple[str, str], DailyRow] = {}
    for r in daily:
        if (r.variant, r.day) in by_key:
            raise InputError(f"variant {r.variant!r} has two rows for day {r.day!r}")
        by_key[(r.variant, r.day)] = r
    variants = list(dict.fromkeys(r.variant for r in daily))
    totals = {v: [0, 0, 0] for v in variants}
    started: set[str] = set()
    out = []
    for day in day_order([r.day for r in daily]):
        for v in variants:
            r = by_key.get((v, day))
            if r is None and v not in started:
                continue
            started.add(v)
            counts = (r.impressions, r.clicks, r.conversions) if r else (0, 0, 0)
            t = totals[v]
            for i, c in enumerate(counts):
                t[i] += c
            imp, clk, conv = t
            ctr_ci, cvr_ci = wilson_interval(clk, imp), wilson_interval(conv, clk)
            out.append(
                {
                    "day": day,
                    "variant": v,
                    "impressions": imp,
                    "clicks": clk,
                    "conversions": conv,
                    "ctr": rate(clk, imp),
                    "ctr_ci": list(ctr_ci) if ctr_ci else None,
                    "cvr": rate(conv, clk),
                    "cvr_ci": list(cvr_ci) if cvr_ci else None,
                    "day_impressions": counts[0],
                    "day_clicks": counts[1],
                    "day_conversions": counts[2],
                }
            )
    return out

"""Experiments page helpers: arms from favourites or typed text, results in and out, tables and charts."""

from __future__ import annotations

import csv
import io
import string

import altair as alt
import pandas as pd

from copy_engine.errors import InputError
from copy_engine.experiments import ArmResult, DailyRow
from copy_engine.experiments.results_csv import result_rows
from copy_engine.store.export import escape_cell

ARM_NAMES = string.ascii_uppercase  # A is the control, B, C… the challengers


def build_arms(control: dict, variants: list[dict]) -> list[dict]:
    """Arms for create_experiment: the control first, named A, then B, C…

    `control` and each variant are {"text": ..., "favourite_id": ... or None}.
    """
    arms = [
        {"name": ARM_NAMES[0], "text": control["text"], "favourite_id": control.get("favourite_id"), "is_control": True}
    ]
    for i, v in enumerate(variants, start=1):
        if i >= len(ARM_NAMES):
            raise InputError("too many variants")
        arms.append(
            {"name": ARM_NAMES[i], "text": v["text"], "favourite_id": v.get("favourite_id"), "is_control": False}
        )
    return arms


def typed_variants(text: str) -> list[dict]:
    """Variants typed one per line (blank lines ignored)."""
    return [{"text": line.strip(), "favourite_id": None} for line in (text or "").splitlines() if line.strip()]


def control_first(arms: list[dict]) -> list[dict]:
    """The stored arms with the control moved to the front (analyze treats arms[0] as the control)."""
    return sorted(arms, key=lambda a: (not a["is_control"], a["position"]))


def arm_results(experiment: dict) -> list[ArmResult]:
    """The experiment's totals per arm for analyze(), control first; dated rows become daily rows."""
    out = []
    for arm in control_first(experiment["arms"]):
        daily = [
            DailyRow(arm["name"], r["day"], r["impressions"], r["clicks"], r["conversions"])
            for r in arm["results"]
            if r["day"]
        ]
        out.append(
            ArmResult(arm["name"], arm["impressions"], arm["clicks"], arm["conversions"], daily=daily, text=arm["text"])
        )
    return out


def has_results(experiment: dict) -> bool:
    return any(arm["results"] for arm in experiment["arms"])


def rows_from_results_csv(data: bytes) -> list[dict]:
    """add_results rows from a results CSV (variant, impressions, clicks, conversions, optional day)."""
    return result_rows(data)


def editor_frame(experiment: dict, day) -> pd.DataFrame:
    """Empty result rows (one per arm, for `day`) for st.data_editor."""
    arms = control_first(experiment["arms"])
    return pd.DataFrame(
        {
            "arm": [a["name"] for a in arms],
            "day": [day] * len(arms),
            "impressions": [0] * len(arms),
            "clicks": [0] * len(arms),
            "conversions": [0] * len(arms),
        }
    )


def rows_from_editor(frame: pd.DataFrame) -> list[dict]:
    """add_results rows from the edited table; rows with no arm or no impressions are left out."""
    rows = []
    for record in frame.to_dict("records"):
        if not record.get("arm") or pd.isna(record.get("impressions")) or not record.get("impressions"):
            continue
        day = record.get("day")
        rows.append(
            {
                "arm": record["arm"],
                "day": None if day is None or pd.isna(day) else str(day)[:10],
                "impressions": _count(record.get("impressions")),
                "clicks": _count(record.get("clicks")),
                "conversions": _count(record.get("conversions")),
            }
        )
    return rows


def _count(value):
    """A count from an editor cell (floats such as 12.0 become ints; empty becomes 0)."""
    if value is None or pd.isna(value):
        return 0
    return int(value) if float(value).is_integer() else value


def results_csv(experiment: dict) -> str:
    """The experiment's results as CSV (variant, day, impressions, clicks, conversions, is_control, text).

    The control comes first, so read_results_csv / `ab-report` read the file back as it was analysed.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["variant", "day", "impressions", "clicks", "conversions", "is_control", "text"])
    for arm in control_first(experiment["arms"]):
        for r in arm["results"]:
            row = [
                arm["name"],
                r["day"] or "",
                r["impressions"],
                r["clicks"],
                r["conversions"],
                "yes" if arm["is_control"] else "no",
                arm["text"],
            ]
            writer.writerow([escape_cell(v) for v in row])
    return out.getvalue()


def _pct(value) -> str:
    return "" if value is None else f"{value:.2%}"


def _interval(ci) -> str:
    return "" if not ci else f"{ci[0]:.2%} – {ci[1]:.2%}"


def _p(value) -> str:
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def stats_table(report: dict) -> pd.DataFrame:
    """The statistics of analyze(...).to_dict() as a readable table, one row per arm."""
    rows = []
    for v in report["variants"]:
        rows.append(
            {
                "arm": v["variant"] + (" (control)" if v["is_control"] else ""),
                "impressions": v["impressions"],
                "clicks": v["clicks"],
                "conversions": v["conversions"],
                "CTR": _pct(v["ctr"]),
                "CTR 95% CI": _interval(v["ctr_ci"]),
                "CTR lift": "" if v["ctr_lift"] is None else f"{v['ctr_lift']:+.1%}",
                "CTR lift CI": ""
                if not v["ctr_lift_ci"]
                else f"{v['ctr_lift_ci'][0]:+.1%} – {v['ctr_lift_ci'][1]:+.1%}",
                "CTR p (Holm)": _p(v["ctr_p_value_holm"]),
                "CVR": _pct(v["cvr"]),
                "CVR 95% CI": _interval(v["cvr_ci"]),
                "CVR lift": "" if v["cvr_lift"] is None else f"{v['cvr_lift']:+.1%}",
                "CVR p (Holm)": _p(v["cvr_p_value_holm"]),
                "P(best CTR)": _pct(v["prob_best_ctr"]),
                "next split": _pct(v["recommended_share"]),
            }
        )
    return pd.DataFrame(rows)


def trend_chart(daily: list[dict], metric: str) -> alt.Chart:
    """Cumulative CTR or CVR per day and arm (lines) with their 95% intervals (bands)."""
    label = metric.upper()
    data = pd.DataFrame(
        [
            {
                "day": d["day"],
                "arm": d["variant"],
                label: d[metric],
                "low": d[f"{metric}_ci"][0] if d[f"{metric}_ci"] else None,
                "high": d[f"{metric}_ci"][1] if d[f"{metric}_ci"] else None,
            }
            for d in daily
            if d[metric] is not None
        ]
    )
    if data.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_point()
    base = alt.Chart(data).encode(x=alt.X("day:O", title="day"), color=alt.Color("arm:N", title="arm"))
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("low:Q", axis=alt.Axis(format="%"), title=f"cumulative {label}"), y2="high:Q"
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y(f"{label}:Q", axis=alt.Axis(format="%")),
        tooltip=["day", "arm", alt.Tooltip(f"{label}:Q", format=".2%")],
    )
    return (band + line).properties(title=f"{label} over time (95% intervals)", height=260)


def totals_chart(report: dict, metric: str) -> alt.Chart:
    """CTR or CVR per arm with its 95% interval, for results without days."""
    label = metric.upper()
    data = pd.DataFrame(
        [
            {
                "arm": v["variant"],
                label: v[metric],
                "low": v[f"{metric}_ci"][0] if v[f"{metric}_ci"] else None,
                "high": v[f"{metric}_ci"][1] if v[f"{metric}_ci"] else None,
            }
            for v in report["variants"]
            if v[metric] is not None
        ]
    )
    if data.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_point()
    base = alt.Chart(data).encode(y=alt.Y("arm:N", title=None, sort=None))
    bars = base.mark_bar(opacity=0.6).encode(
        x=alt.X(f"{label}:Q", axis=alt.Axis(format="%")), color=alt.Color("arm:N", legend=None)
    )
    whiskers = base.mark_rule().encode(x="low:Q", x2="high:Q")
    return (bars + whiskers).properties(title=f"{label} per arm (95% intervals)", height=40 + 30 * len(data))

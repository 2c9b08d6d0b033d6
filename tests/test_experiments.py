"""A/B experiment statistics: our wiring of statsmodels checked against worked examples, plus the ab-report CLI."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copy_engine.cli import main
from copy_engine.errors import InputError
from copy_engine.experiments import (
    ArmResult,
    DailyRow,
    analyze,
    daily_series,
    format_table,
    holm_adjust,
    mde,
    pooled_ztest,
    posterior_summary,
    read_results_csv,
    relative_lift,
    sample_size,
    thompson_split,
    to_ctr_training_rows,
    wilson_interval,
)
from copy_engine.experiments.bayes import apply_floor
from copy_engine.experiments.frequentist import pooled_ztests
from copy_engine.experiments.power import cohens_h, power_at, required_n_per_arm

ROOT = Path(__file__).resolve().parents[1]
FAST = {"draws": 20_000}  # Monte Carlo size for tests that do not check probabilities

PAIRS = [  # (x_variant, n_variant, x_control, n_control)
    (360, 10_000, 300, 10_000),
    (35, 360, 30, 300),
    (1, 50, 7, 60),
    (0, 200, 5, 180),
    (5, 5, 3, 9),
    (12_345, 1_000_000, 11_900, 990_000),
]


# ---------- frequentist pieces: our wiring of statsmodels against worked examples ----------


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med 17:857, Table I,
# method 3 (Wilson score interval without continuity correction), 95%.
@pytest.mark.parametrize(
    "count,nobs,lo,hi",
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombes_worked_examples(count, nobs, lo, hi):
    assert wilson_interval(count, nobs) == pytest.approx((lo, hi), abs=5e-5)


@pytest.mark.parametrize("count,nobs", [(0, 10), (1, 10), (10, 10), (7, 13), (300, 10_000), (3, 1_000_000), (50, 51)])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_wilson_holds_the_rate_and_reaches_exactly_0_and_1(count, nobs, alpha):
    lo, hi = wilson_interval(count, nobs, alpha)
    assert 0.0 <= lo <= count / nobs <= hi <= 1.0
    assert (lo == 0.0) == (count == 0) and (hi == 1.0) == (count == nobs)
    wide_lo, wide_hi = wilson_interval(count, nobs, alpha / 2)
    assert wide_lo <= lo and hi <= wide_hi


def test_wilson_without_trials_is_none():
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(
    "x_v,n_v,x_c,n_c,z,p",
    [
        # textbook exercise: x1 = 28 of 254, x2 = 36 of 301, pooled 0.115: z = -0.344, two-sided p = 0.7307
        (28, 254, 36, 301, -0.344, 0.7307),
        # pooled (140 + 255) / 540 = 0.7314815, SE 0.03949401: z = -1.266015, two-sided p = 2 * 0.10275 = 0.2055
        (140, 200, 255, 340, -1.266015, 0.2055),
        # by hand: pooled 0.033, SE sqrt(0.033 * 0.967 * 2 / 10,000) = 0.00252631: z = 0.006 / SE = 2.375013
        (360, 10_000, 300, 10_000, 2.375013, 0.017548),
    ],
)
def test_pooled_ztest_matches_worked_examples(x_v, n_v, x_c, n_c, z, p):
    got_z, got_p = pooled_ztest(x_v, n_v, x_c, n_c)
    assert got_z == pytest.approx(z, abs=5e-4 if z == -0.344 else 1e-6)
    assert got_p == pytest.approx(p, abs=1e-4 if p > 0.1 else 1e-6)
    # swapping the arms flips z and keeps p
    assert pooled_ztest(x_c, n_c, x_v, n_v) == pytest.approx((-got_z, got_p), abs=1e-12)


def test_pooled_ztest_undefined_cases_are_none_not_nan():
    from statsmodels.stats.proportion import proportions_ztest

    assert pooled_ztest(0, 100, 0, 100) is None  # statsmodels gives nan here
    assert math.isnan(proportions_ztest([0, 0], [100, 100])[1])
    assert pooled_ztest(10, 10, 20, 20) is None  # everyone converted: no variance either
    assert pooled_ztest(0, 0, 5, 100) is None


def test_pooled_ztests_over_arrays_is_pooled_ztest_per_pair():
    x_v, n_v, x_c, n_c = (np.array(col) for col in zip(*PAIRS, (0, 100, 0, 100), (10, 10, 20, 20), (0, 0, 5, 100)))
    z, p = pooled_ztests(x_v, n_v, x_c, n_c)
    for i, pair in enumerate(PAIRS):
        assert (z[i], p[i]) == pytest.approx(pooled_ztest(*pair), abs=1e-9)
    assert np.isnan(z[len(PAIRS) :]).all() and np.isnan(p[len(PAIRS) :]).all()


def test_lift_interval_is_katz_log_worked_example():
    # by hand: 20 of 100 against 10 of 100 is a ratio of 2, SE(log ratio) = sqrt(1/20 - 1/100 + 1/10 - 1/100)
    # = 0.360555; 95% interval exp(ln 2 -+ 1.959964 * 0.360555) = (0.986563, 4.054479)
    lift, (lo, hi) = relative_lift(20, 100, 10, 100)
    assert lift == pytest.approx(1.0, abs=1e-12)
    assert (lo, hi) == pytest.approx((0.986563 - 1, 4.054479 - 1), abs=1e-6)
    # a 90% interval is narrower
    lo90, hi90 = relative_lift(20, 100, 10, 100, alpha=0.1)[1]
    assert lo < lo90 < lift < hi90 < hi


@pytest.mark.parametrize("x_v,n_v,x_c,n_c", [p for p in PAIRS if p[0] > 0])
def test_lift_interval_holds_the_lift(x_v, n_v, x_c, n_c):
    lift, (lo, hi) = relative_lift(x_v, n_v, x_c, n_c)
    assert lift == pytest.approx((x_v / n_v) / (x_c / n_c) - 1, abs=1e-12)
    assert lo < lift < hi


def test_lift_with_zeros():
    assert relative_lift(5, 100, 0, 100) == (None, None)  # no control rate: lift undefined
    lift, ci = relative_lift(0, 100, 5, 100)
    assert lift == -1.0 and ci is None  # log interval unbounded
    assert relative_lift(5, 0, 5, 100) == (None, None)


def test_holm_hand_checked():
    # sorted: 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> raised to 0.06 (monotone)
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # capped at 1; a single test is unchanged
    assert holm_adjust([0.6, 0.5]) == pytest.approx([1.0, 1.0])
    assert holm_adjust([0.02]) == pytest.approx([0.02])
    # undefined tests stay None and do not enlarge the family
    assert holm_adjust([0.01, None, 0.04]) == pytest.approx([0.02, None, 0.04])
    assert holm_adjust([None, None]) == [None, None] and holm_adjust([]) == []


def test_holm_worked_example():
    # the Holm-Bonferroni example with four hypotheses: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06,
    # 0.04*1 = 0.04 -> 0.06; at alpha 0.05 H1 and H4 are rejected
    adjusted = holm_adjust([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-12)
    assert [p <= 0.05 for p in adjusted] == [True, False, False, True]


# ---------- power ----------


# Cohen (1988), Statistical Power Analysis, Table 6.4.1: n per sample for the two-sided test of h at a = .05 and
# power .80 is 392 for h = 0.2, 63 for h = 0.5 and 25 for h = 0.8 (by formula 2 * ((1.96 + 0.8416) / h)^2:
# 392.4, 62.8, 24.5). On a control rate of 0.5 a relative lift of sin(h) is an effect of exactly h, since
# 2 asin(sqrt((1 + sin h) / 2)) = pi / 2 + h.
@pytest.mark.parametrize("h,n", [(0.2, 392), (0.5, 63), (0.8, 25)])
def test_sample_size_matches_cohens_table(h, n):
    assert cohens_h(0.5, 0.5 * (1 + math.sin(h))) == pytest.approx(h, abs=1e-12)
    assert round(required_n_per_arm(0.5, math.sin(h))) == n
    assert required_n_per_arm(0.5, math.sin(h)) == pytest.approx(2 * ((1.959964 + 0.841621) / h) ** 2, abs=1e-3)
    # and the other way: with the table's n per arm the smallest detectable effect is h (to the table's rounding of
    # n: 25 for 24.5 is 1% more effect)
    assert cohens_h(0.5, 0.5 * (1 + mde(0.5, n))) == pytest.approx(h, rel=1.5e-2)


@pytest.mark.parametrize("p,lift", [(0.03, 0.1), (0.1, 0.2), (0.5, -0.1), (0.02, 0.5), (0.2, 0.05)])
@pytest.mark.parametrize("alpha,power", [(0.05, 0.8), (0.01, 0.9)])
def test_sample_size_is_the_least_n_reaching_the_power(p, lift, alpha, power):
    n = required_n_per_arm(p, lift, alpha, power)
    assert power_at(p, p * (1 + lift), n, alpha) == pytest.approx(power, abs=1e-7)
    assert sample_size(p, lift, alpha, power) == math.ceil(n)
    # the integer answer really reaches the power; one visitor fewer does not
    n_int = sample_size(p, lift, alpha, power)
    assert power_at(p, p * (1 + lift), n_int, alpha) >= power > power_at(p, p * (1 + lift), n_int - 1, alpha)


@pytest.mark.parametrize("p,n", [(0.03, 20_000), (0.1, 5_000), (0.5, 400), (0.01, 1_000_000)])
def test_mde_reaches_exactly_the_power(p, n):
    lift = mde(p, n, 0.05, 0.8)
    assert lift > 0
    # the power at our effect is exactly the asked power (statsmodels' own effect-size solver stops at +- 3e-5)
    assert power_at(p, p * (1 + lift), n, 0.05) == pytest.approx(0.8, abs=1e-9)
    # the two directions agree: the n for that MDE is n
    assert required_n_per_arm(p, lift) == pytest.approx(n, rel=1e-6)


def test_power_inputs_checked():
    with pytest.raises(InputError, match="p_control"):
        sample_size(0.0, 0.1)
    with pytest.raises(InputError, match="outside 0..1"):
        sample_size(0.6, 1.0)
    with pytest.raises(InputError, match="mde_relative"):
        sample_size(0.1, 0)
    with pytest.raises(InputError, match="power"):
        sample_size(0.1, 0.1, power=1.2)
    with pytest.raises(InputError, match="no lift"):
        mde(0.5, 2)
    with pytest.raises(InputError, match="n_per_arm"):
        mde(0.1, 0)


# ---------- Bayesian ----------


def _exact_prob_b_beats_a(a_s, a_n, b_s, b_n):
    """Closed form P(theta_B > theta_A) for Beta(1+s, 1+n-s) posteriors (sum over B's alpha)."""
    aa, ba, ab, bb = 1 + a_s, 1 + a_n - a_s, 1 + b_s, 1 + b_n - b_s

    def lbeta(x, y):
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return sum(
        math.exp(lbeta(aa + i, ba + bb) - math.log(bb + i) - lbeta(1 + i, bb) - lbeta(aa, ba)) for i in range(ab)
    )


def _exact_expected_loss(a_s, a_n, b_s, b_n):
    """E[max(theta_A, theta_B) - theta_A] = E[(theta_B - theta_A)+] by 1-D integration."""
    from scipy import integrate
    from scipy.stats import beta

    a = beta(1 + a_s, 1 + a_n - a_s)
    ab, bb = 1 + b_s, 1 + b_n - b_s
    mean_b = ab / (ab + bb)

    def upside(t):  # E[(theta_B - t)+]
        return mean_b * beta(ab + 1, bb).sf(t) - t * beta(ab, bb).sf(t)

    return integrate.quad(lambda t: a.pdf(t) * upside(t), 0, 1, limit=200, points=[a.mean()])[0]


@pytest.mark.parametrize("a,b", [((30, 1000), (42, 1000)), ((5, 40), (5, 40)), ((0, 100), (2, 100))])
def test_prob_best_and_expected_loss_match_exact(a, b):
    arms = [ArmResult("A", a[1], a[0]), ArmResult("B", b[1], b[0])]
    summary = posterior_summary(arms, metric="ctr", draws=200_000, seed=7)
    exact = _exact_prob_b_beats_a(a[0], a[1], b[0], b[1])
    # 200k draws: standard error <= 0.0012, so 0.005 is > 4 sigma
    assert summary["B"]["prob_best"] == pytest.approx(exact, abs=0.005)
    assert summary["A"]["prob_best"] + summary["B"]["prob_best"] == pytest.approx(1.0)
    loss_a = _exact_expected_loss(a[0], a[1], b[0], b[1])
    assert summary["A"]["expected_loss"] == pytest.approx(loss_a, rel=0.03, abs=2e-5)


def test_bayes_is_reproducible_and_handles_zero_clicks():
    arms = [ArmResult("A", 100, 0, 0), ArmResult("B", 100, 0, 0), ArmResult("C", 0, 0, 0)]
    first = posterior_summary(arms, metric="cvr", draws=5_000, seed=3)
    assert first == posterior_summary(arms, metric="cvr", draws=5_000, seed=3)
    assert sum(v["prob_best"] for v in first.values()) == pytest.approx(1.0)
    assert all(math.isfinite(v["expected_loss"]) for v in first.values())


def test_thompson_split_and_floor():
    arms = [ArmResult("A", 5000, 100), ArmResult("B", 5000, 160), ArmResult("C", 5000, 95)]
    raw = thompson_split(arms, draws=50_000, seed=1)
    assert {k: round(v, 12) for k, v in raw.items()} == {
        k: round(v["prob_best"], 12) for k, v in posterior_summary(arms, draws=50_000, seed=1).items()
    }
    assert raw["B"] > 0.99
    floored = thompson_split(arms, draws=50_000, seed=1, floor=0.1)
    assert sum(floored.values()) == pytest.approx(1.0)
    assert floored["A"] == pytest.approx(0.1) and floored["C"] == pytest.approx(0.1)
    assert floored["B"] == pytest.approx(0.8)
    # hand-checked: c raised to 0.05, a and b share 0.95 in proportion 0.9 : 0.08
    out = apply_floor({"a": 0.9, "b": 0.08, "c": 0.02}, 0.05)
    assert out == pytest.approx({"a": 0.95 * 0.9 / 0.98, "b": 0.95 * 0.08 / 0.98, "c": 0.05})
    with pytest.raises(InputError, match="floor"):
        thompson_split(arms, draws=1000, floor=0.4)


# ---------- analyze + verdicts ----------


def _arms(*rows):
    return [ArmResult(*r) for r in rows]


def test_clear_winner_verdict_and_fields():
    report = analyze(_arms(("A", 10_000, 300, 30), ("B", 10_000, 360, 35)), **FAST)
    b = report.variants[1]
    assert b.ctr_lift == pytest.approx(0.2)
    assert b.ctr_p_value == b.ctr_p_value_holm  # one comparison: Holm changes nothing
    assert 0.001 < b.ctr_p_value < 0.05 and b.cvr_p_value > 0.05
    p_text = f"{b.ctr_p_value:.3f}"
    assert report.verdict == f"B beats control: CTR +20.0% (p = {p_text}); CVR not yet significant."
    assert report.recommended_split["B"] > report.recommended_split["A"] >= 0.05


def test_losing_variant_and_mixed_verdicts():
    loser = analyze(_arms(("A", 20_000, 800, 80), ("B", 20_000, 600, 60)), **FAST)
    assert loser.verdict.startswith("B trails control: CTR -25.0% (p < 0.001)")
    mixed = analyze(_arms(("A", 50_000, 1000, 200), ("B", 50_000, 1300, 130)), **FAST)
    assert mixed.verdict.startswith("B vs control is mixed: CTR +30.0% (p < 0.001); CVR -")


def test_no_difference_verdict():
    report = analyze(_arms(("A", 10_000, 300, 30), ("B", 10_000, 305, 29)), **FAST)
    assert report.verdict.startswith("No significant difference yet between B and control: CTR +1.7% (p = 0.")
    assert "CVR -" in report.verdict


def test_zero_click_verdict_and_no_nan():
    report = analyze(_arms(("A", 1000, 0, 0), ("B", 1000, 0, 0)), **FAST)
    assert report.verdict == "Not enough data yet: no clicks recorded in any variant."
    b = report.variants[1]
    assert b.ctr == 0.0 and b.cvr is None and b.cvr_ci is None
    assert b.ctr_lift is None and b.ctr_p_value is None and b.ctr_p_value_holm is None
    json.dumps(report.to_dict(), allow_nan=False)  # raises on NaN/inf
    assert analyze(_arms(("A", 0, 0, 0), ("B", 0, 0, 0)), **FAST).verdict.startswith(
        "Not enough data yet: no impressions"
    )


def test_zero_conversions_and_zero_control_clicks():
    report = analyze(_arms(("A", 5000, 0, 0), ("B", 5000, 40, 0)), **FAST)
    b = report.variants[1]
    assert b.ctr_lift is None and b.ctr_p_value < 0.001  # control at zero: lift undefined, test is not
    assert (
        report.verdict
        == "B beats control: CTR up from zero (p < 0.001); CVR not measurable yet (no clicks on control)."
    )
    json.dumps(report.to_dict(), allow_nan=False)


def test_holm_across_several_variants():
    report = analyze(
        _arms(("A", 10_000, 300, 30), ("B", 10_000, 360, 35), ("C", 10_000, 310, 31), ("D", 10_000, 345, 30)), **FAST
    )
    raw = [v.ctr_p_value for v in report.variants[1:]]
    assert [v.ctr_p_value_holm for v in report.variants[1:]] == pytest.approx(holm_adjust(raw))
    assert all(v.ctr_p_value_holm >= v.ctr_p_value for v in report.variants[1:])
    assert report.verdict.endswith("(p-values Holm-adjusted across 3 variants.)")


def test_analyze_rejects_bad_arms():
    with pytest.raises(InputError, match="at least 2"):
        analyze(_arms(("A", 10, 1, 0)))
    with pytest.raises(InputError, match="duplicate"):
        analyze(_arms(("A", 10, 1, 0), ("A", 10, 1, 0)))
    with pytest.raises(InputError, match="clicks"):
        ArmResult("A", 10, 11, 0)
    with pytest.raises(InputError, match="whole number"):
        ArmResult("A", 10.5, 1, 0)
    with pytest.raises(InputError, match="whole number"):
        ArmResult("A", "10", 1, 0)


def test_arm_counts_normalised_to_int():
    import numpy as np

    arm = ArmResult("A", np.int64(10), 2.0, np.int32(1))
    assert (arm.impressions, arm.clicks, arm.conversions) == (10, 2, 1)
    assert all(type(v) is int for v in (arm.impressions, arm.clicks, arm.conversions))
    json.dumps(analyze([arm, ArmResult("B", 10, 3, 1)], **FAST).to_dict(), allow_nan=False)


_count = st.integers(min_value=0, max_value=3000)


@st.composite
def _arm_lists(draw):
    k = draw(st.integers(min_value=2, max_value=4))
    arms = []
    for i in range(k):
        n = draw(_count)
        c = draw(st.integers(min_value=0, max_value=n))
        v = draw(st.integers(min_value=0, max_value=c))
        arms.append(ArmResult(f"V{i}", n, c, v))
    return arms


@settings(max_examples=60, deadline=None)
@given(_arm_lists())
def test_analyze_never_produces_nan(arms):
    report = analyze(arms, draws=500)
    json.dumps(report.to_dict(), allow_nan=False)
    assert sum(report.recommended_split.values()) == pytest.approx(1.0)
    for v in report.variants:
        for m in ("ctr", "cvr"):
            value, ci = getattr(v, m), getattr(v, f"{m}_ci")
            assert (value is None) == (ci is None)
            if ci:
                assert ci[0] - 1e-12 <= value <= ci[1] + 1e-12
            raw, adj = getattr(v, f"{m}_p_value"), getattr(v, f"{m}_p_value_holm")
            assert (raw is None) == (adj is None)
            if raw is not None:
                assert raw - 1e-15 <= adj <= 1.0
    assert isinstance(format_table(report), str)


# ---------- CSV reading ----------


def test_read_csv_sources_and_daily_rows(tmp_path):
    text = (
        "variant,day,impressions,clicks,conversions\n"
        "A,2024-05-02,1000,30,3\n"
        "B,2024-05-02,1000,40,4\n"
        "A,2024-05-01,900,25,2\n"
        "B,2024-05-01,950,20,1\n"
    )
    path = tmp_path / "r.csv"
    path.write_text(text)
    for source in (text, text.encode(), "\ufeff".encode() + text.encode(), path, str(path), io.StringIO(text)):
        arms = read_results_csv(source)
        assert [(a.variant, a.impressions, a.clicks, a.conversions) for a in arms] == [
            ("A", 1900, 55, 5),
            ("B", 1950, 60, 5),
        ]
        assert len(arms[0].daily) == 2
    series = daily_series(arms)
    assert [(r["day"], r["variant"]) for r in series] == [
        ("2024-05-01", "A"), ("2024-05-01", "B"), ("2024-05-02", "A"), ("2024-05-02", "B"),
    ]  # fmt: skip
    last_b = series[-1]
    assert (last_b["impressions"], last_b["clicks"], last_b["day_clicks"]) == (1950, 60, 40)
    assert last_b["ctr"] == pytest.approx(60 / 1950)
    assert last_b["ctr_ci"] == pytest.approx(list(wilson_interval(60, 1950)))
    report = analyze(arms, **FAST)
    assert report.to_dict()["daily"] == series


def test_daily_series_carries_forward_and_accepts_daily_rows():
    rows = [
        DailyRow("A", "1", 10, 1, 0),
        DailyRow("A", "2", 10, 0, 0),
        DailyRow("B", "2", 10, 0, 0),
        DailyRow("A", "10", 5, 5, 1),
    ]
    series = daily_series(rows)
    assert [(r["day"], r["variant"], r["clicks"]) for r in series] == [
        ("1", "A", 1), ("2", "A", 1), ("2", "B", 0), ("10", "A", 6), ("10", "B", 0),
    ]  # fmt: skip
    assert series[2]["cvr"] is None and series[2]["cvr_ci"] is None
    assert daily_series([ArmResult("A", 1, 0, 0)]) == []


def test_headline_column_kept():
    arms = read_results_csv("variant,headline,impressions,clicks,conversions\nA,Old title,10,1,0\nB,New title,10,2,1\n")
    assert [a.text for a in arms] == ["Old title", "New title"]


BAD_CSVS = {
    "negative": (
        "variant,impressions,clicks,conversions\nA,100,5,1\nB,100,-5,1\n",
        r"row 2: clicks must not be negative",
    ),
    "clicks>impr": (
        "variant,impressions,clicks,conversions\nA,100,5,1\nB,100,101,1\n",
        r"row 2: clicks \(101\) exceed impressions \(100\)",
    ),
    "conv>clicks": (
        "variant,impressions,clicks,conversions\nA,100,5,6\nB,100,5,1\n",
        r"row 1: conversions \(6\) exceed clicks \(5\)",
    ),
    "non-integer": (
        "variant,impressions,clicks,conversions\nA,100,5,1\nB,100.5,5,1\n",
        r"row 2: impressions must be a whole number, got '100.5'",
    ),
    "text count": (
        "variant,impressions,clicks,conversions\nA,100,5,1\nB,lots,5,1\n",
        r"row 2: impressions must be a whole number",
    ),
    "empty count": (
        "variant,impressions,clicks,conversions\nA,100,,1\nB,100,5,1\n",
        r"row 1: clicks must be a whole number",
    ),
    "empty": ("", r"empty"),
    "blank lines": ("\n\n  \n", r"empty"),
    "header only": ("variant,impressions,clicks,conversions\n", r"no data rows"),
    "missing column": ("variant,impressions,clicks\nA,100,5\nB,100,6\n", r"lacks column\(s\) conversions"),
    "ragged row": ("variant,impressions,clicks,conversions\nA,100,5,1\nB,100,5\n", r"row 2: expected 4 fields"),
    "duplicate": (
        "variant,impressions,clicks,conversions\nA,100,5,1\nB,100,5,1\nA,50,1,0\n",
        r"row 3: duplicate variant 'A' \(first in row 1\)",
    ),
    "duplicate day": (
        "variant,day,impressions,clicks,conversions\nA,1,100,5,1\nB,1,100,5,1\nB,1,50,1,0\n",
        r"row 3: duplicate variant 'B' on day '1'",
    ),
    "one variant": ("variant,impressions,clicks,conversions\nA,100,5,1\n", r"at least 2 variants"),
    "one variant daily": (
        "variant,day,impressions,clicks,conversions\nA,1,100,5,1\nA,2,100,5,1\n",
        r"at least 2 variants",
    ),
    "empty name": (
        "variant,impressions,clicks,conversions\nA,100,5,1\n ,100,5,1\n",
        r"row 2: the variant name is empty",
    ),
    # Windows-1252 is read like the catalog import reads it (issue 15); binary content is refused.
    "binary": (b"PK\x03\x04\x00\x00\x00\x01variant\x00\x00\x00", r"not a CSV text file"),
}


@pytest.mark.parametrize("name", sorted(BAD_CSVS))
def test_bad_csv_raises_input_error(name):
    content, pattern = BAD_CSVS[name]
    with pytest.raises(InputError, match=pattern):
        read_results_csv(content.encode() if isinstance(content, str) else content)


def test_whole_float_counts_accepted():
    arms = read_results_csv("variant,impressions,clicks,conversions\nA,100.0,5,1\nB, 100 ,5,1\n")
    assert arms[0].impressions == 100 and arms[1].impressions == 100


def test_missing_file():
    with pytest.raises(InputError, match="not found"):
        read_results_csv("/nonexistent/results.csv")


# ---------- learning rows ----------


def test_ctr_training_rows():
    arms = [ArmResult("A", 1000, 30, 1, text="Old headline"), ArmResult("B", 1000, 45, 2), ArmResult("C", 0, 0, 0)]
    rows = to_ctr_training_rows("exp-7", arms)
    assert rows == [
        {"test_id": "exp-7", "headline": "Old headline", "impressions": 1000, "clicks": 30},
        {"test_id": "exp-7", "headline": "B", "impressions": 1000, "clicks": 45},
    ]
    assert (
        to_ctr_training_rows("x", [("h1", 10, 1), {"headline": "h2", "impressions": 10, "clicks": 2}])[1]["clicks"] == 2
    )
    assert to_ctr_training_rows("x", [("h1", 10, 1), ("h2", 0, 0)]) == []  # no pair to learn from
    stored = [  # arm dicts as the experiment store returns them
        {"name": "A", "text": "Soft socks", "impressions": 50, "clicks": 5, "conversions": 1, "is_control": True},
        {"name": "B", "text": "Socks you forget", "impressions": 50, "clicks": 9, "conversions": 2},
    ]
    assert [r["headline"] for r in to_ctr_training_rows("x", stored)] == ["Soft socks", "Socks you forget"]
    with pytest.raises(InputError, match="exceed"):
        to_ctr_training_rows("x", [("h1", 10, 11), ("h2", 10, 1)])
    with pytest.raises(InputError, match="twice"):
        to_ctr_training_rows("x", [("h1", 10, 1), ("h1", 10, 2)])


def test_ctr_training_rows_use_the_ab_tests_columns(shared_data):
    with gzip.open(shared_data / "upworthy" / "ab_tests.csv.gz", "rt", encoding="utf-8") as f:
        header = next(csv.reader(f))
    rows = to_ctr_training_rows("t", [("h1", 10, 1), ("h2", 10, 2)])
    assert set(rows[0]) <= set(header)


# ---------- CLI ----------

REQUIRED_KEYS = {
    "variant", "impressions", "clicks", "conversions", "ctr", "ctr_ci", "cvr", "cvr_ci", "ctr_lift", "ctr_p_value",
    "ctr_p_value_holm", "cvr_lift", "cvr_p_value", "cvr_p_value_holm", "prob_best_ctr",
}  # fmt: skip


def _write(tmp_path, text, name="results.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def test_cli_json_shape(tmp_path, capsys):
    path = _write(tmp_path, "variant,impressions,clicks,conversions\nA,10000,300,30\nB,10000,360,35\nC,10000,310,20\n")
    assert main(["ab-report", path, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"variants", "verdict"}
    assert [v["variant"] for v in doc["variants"]] == ["A", "B", "C"]
    for v in doc["variants"]:
        assert REQUIRED_KEYS <= set(v)
        assert len(v["ctr_ci"]) == 2 and len(v["cvr_ci"]) == 2
    control, b = doc["variants"][0], doc["variants"][1]
    assert all(
        control[k] is None
        for k in ("ctr_lift", "ctr_p_value", "ctr_p_value_holm", "cvr_lift", "cvr_p_value", "cvr_p_value_holm")
    )
    # the pooled z-test worked by hand in test_pooled_ztest_matches_worked_examples: z = 2.3750133, p = 0.0175483
    assert b["ctr_p_value"] == pytest.approx(0.0175483, abs=1e-7)
    assert b["ctr_p_value_holm"] == pytest.approx(holm_adjust([b["ctr_p_value"], doc["variants"][2]["ctr_p_value"]])[0])
    assert b["ctr_lift"] == pytest.approx(0.2)
    assert sum(v["prob_best_ctr"] for v in doc["variants"]) == pytest.approx(1.0)
    assert doc["verdict"].startswith("B beats control: CTR +20.0%")


def test_cli_table_default(tmp_path, capsys):
    path = _write(tmp_path, "variant,impressions,clicks,conversions\nA,10000,300,30\nB,10000,360,35\n")
    assert main(["ab-report", path]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["variant", "impressions", "clicks"]
    assert lines[2].startswith("A ") and lines[3].startswith("B ")
    assert len(lines[2]) <= len(lines[1]) and "3.00%" in lines[2] and "+20.0%" in lines[3]
    assert any(line.startswith("Verdict: B beats control") for line in lines)


@pytest.mark.parametrize("name", sorted(BAD_CSVS))
def test_cli_bad_input_exit_2(tmp_path, capsys, name):
    content, pattern = BAD_CSVS[name]
    path = _write(tmp_path, content)
    assert main(["ab-report", path, "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ")


def test_cli_subprocess_missing_file_and_ok(tmp_path):
    env_python = ROOT / ".venv" / "bin" / "python"
    python = str(env_python) if env_python.exists() else sys.executable
    bad = subprocess.run(
        [python, "-m", "copy_engine", "ab-report", str(tmp_path / "nope.csv")], cwd=ROOT, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "not found" in bad.stderr and bad.stderr.count("\n") == 1
    path = _write(tmp_path, "variant,impressions,clicks,conversions\nA,1000,0,0\nB,1000,0,0\n")
    ok = subprocess.run(
        [python, "-m", "copy_engine", "ab-report", path, "--format", "json"], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["verdict"] == "Not enough data yet: no clicks recorded in any variant."

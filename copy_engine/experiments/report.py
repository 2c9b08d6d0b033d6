"""`analyze()`: every statistic of one experiment, its verdict and its text table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from copy_engine.errors import InputError
from copy_engine.experiments.arms import ArmResult, check_arms
from copy_engine.experiments.bayes import DEFAULT_DRAWS, DEFAULT_SEED, apply_floor, posterior_summary
from copy_engine.experiments.daily import daily_series
from copy_engine.experiments.frequentist import holm_adjust, pooled_ztest, rate, relative_lift, wilson_interval

DEFAULT_SPLIT_FLOOR = 0.05  # keep learning about every variant next period
_METRICS = {"ctr": ("CTR", "clicks", "impressions"), "cvr": ("CVR", "conversions", "clicks")}


@dataclass
class VariantStats:
    """Statistics of one variant; lifts and p-values are against the control (None for it)."""

    variant: str
    is_control: bool
    impressions: int
    clicks: int
    conversions: int
    ctr: float | None
    ctr_ci: list[float] | None
    cvr: float | None
    cvr_ci: list[float] | None
    ctr_lift: float | None = None
    ctr_lift_ci: list[float] | None = None
    ctr_z: float | None = None
    ctr_p_value: float | None = None
    ctr_p_value_holm: float | None = None
    ctr_significant: bool | None = None
    cvr_lift: float | None = None
    cvr_lift_ci: list[float] | None = None
    cvr_z: float | None = None
    cvr_p_value: float | None = None
    cvr_p_value_holm: float | None = None
    cvr_significant: bool | None = None
    prob_best_ctr: float | None = None
    expected_loss_ctr: float | None = None
    prob_best_cvr: float | None = None
    expected_loss_cvr: float | None = None
    recommended_share: float | None = None


@dataclass
class ExperimentReport:
    """Result of `analyze`; `to_dict()` is the `ab-report --format json` document."""

    control: str
    alpha: float
    variants: list[VariantStats]
    verdict: str
    recommended_split: dict[str, float]
    split_floor: float
    draws: int
    seed: int
    daily: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "control": self.control,
            "alpha": self.alpha,
            "variants": [asdict(v) for v in self.variants],
            "verdict": self.verdict,
            "recommended_split": dict(self.recommended_split),
            "methods": {
                "rate_ci": "Wilson score 95%",
                "lift_ci": "Katz log interval (delta method on the log ratio)",
                "p_value": "two-sided two-proportion z-test, pooled variance",
                "p_value_holm": "Holm step-down across the non-control variants",
                "bayes": f"Beta(1+successes, 1+failures) posteriors, {self.draws} Monte Carlo draws, seed {self.seed}",
                "recommended_split": f"Thompson sampling (share of draws best on CTR), floor {self.split_floor:g}",
            },
            "daily": self.daily,
        }


def _ci(pair) -> list[float] | None:
    return list(pair) if pair is not None else None


def analyze(
    arms: list[ArmResult],
    *,
    alpha: float = 0.05,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    split_floor: float = DEFAULT_SPLIT_FLOOR,
) -> ExperimentReport:
    """Analyze an experiment; `arms[0]` is the control.

    Per variant: CTR and CVR with Wilson intervals; against the control the
    relative lift with a Katz log interval and the pooled z-test p-value, raw and
    Holm-adjusted across the variants; probability of being best and expected
    loss from Beta posteriors; the recommended traffic share (Thompson sampling
    on CTR, floored at `split_floor`, capped at 1/variants); and a plain-language verdict.
    """
    arms = check_arms(arms)
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    control = arms[0]
    stats = []
    for arm in arms:
        ctr_ci, cvr_ci = (
            wilson_interval(arm.clicks, arm.impressions, alpha),
            wilson_interval(arm.conversions, arm.clicks, alpha),
        )
        s = VariantStats(
            variant=arm.variant,
            is_control=arm is control,
            impressions=arm.impressions,
            clicks=arm.clicks,
            conversions=arm.conversions,
            ctr=rate(arm.clicks, arm.impressions),
            ctr_ci=_ci(ctr_ci),
            cvr=rate(arm.conversions, arm.clicks),
            cvr_ci=_ci(cvr_ci),
        )
        if arm is not control:
            for m, (_, num, den) in _METRICS.items():
                x_v, n_v = getattr(arm, num), getattr(arm, den)
                x_c, n_c = getattr(control, num), getattr(control, den)
                lift, lift_ci = relative_lift(x_v, n_v, x_c, n_c, alpha)
                test = pooled_ztest(x_v, n_v, x_c, n_c)
                setattr(s, f"{m}_lift", lift)
                setattr(s, f"{m}_lift_ci", _ci(lift_ci))
                if test is not None:
                    setattr(s, f"{m}_z", test[0])
                    setattr(s, f"{m}_p_value", test[1])
        stats.append(s)
    challengers = stats[1:]
    for m in _METRICS:
        adjusted = holm_adjust([getattr(s, f"{m}_p_value") for s in challengers])
        for s, p in zip(challengers, adjusted, strict=True):
            setattr(s, f"{m}_p_value_holm", p)
            setattr(s, f"{m}_significant", None if p is None else p < alpha)
    for m in _METRICS:
        summary = posterior_summary(arms, metric=m, draws=draws, seed=seed)
        for s in stats:
            setattr(s, f"prob_best_{m}", summary[s.variant]["prob_best"])
            setattr(s, f"expected_loss_{m}", summary[s.variant]["expected_loss"])
    floor = min(split_floor, 1.0 / len(arms))
    split = apply_floor({s.variant: s.prob_best_ctr for s in stats}, floor)
    for s in stats:
        s.recommended_share = split[s.variant]
    daily = daily_series(arms) if any(a.daily for a in arms) else []
    return ExperimentReport(
        control=control.variant,
        alpha=alpha,
        variants=stats,
        verdict=verdict(stats, alpha),
        recommended_split=split,
        split_floor=floor,
        draws=draws,
        seed=seed,
        daily=daily,
    )


def format_p(p: float, alpha: float = 0.05) -> str:
    """'p = 0.014', 'p < 0.001'; an extra digit where 3 decimals would blur the alpha line."""
    if p < 0.001:
        return "p < 0.001"
    text = f"{p:.3f}"
    if (float(text) < alpha) != (p < alpha):
        text = f"{p:.4f}"
    return f"p = {text}"


def _lift_text(lift: float | None) -> str:
    return "up from zero" if lift is None else f"{lift:+.1%}"


def _unmeasurable(s: VariantStats, control: VariantStats, m: str) -> str:
    label, num, den = _METRICS[m]
    for arm in (control, s):
        if getattr(arm, den) == 0:
            name = "control" if arm is control else arm.variant
            return f"{label} not measurable yet (no {den} on {name})"
    return f"{label} not measurable yet (no {num})"


def _variant_sentence(s: VariantStats, control: VariantStats, alpha: float) -> str:
    significant, clauses = [], []
    for m, (label, _, _) in _METRICS.items():
        p = getattr(s, f"{m}_p_value_holm")
        lift = getattr(s, f"{m}_lift")
        if p is None:
            clauses.append(_unmeasurable(s, control, m))
        elif p < alpha:
            direction = 1 if (lift is None or lift > 0) else -1
            significant.append(direction)
            clauses.append(f"{label} {_lift_text(lift)} ({format_p(p, alpha)})")
        else:
            clauses.append((m, f"{label} {_lift_text(lift)} ({format_p(p, alpha)})", f"{label} not yet significant"))
    if not significant:
        parts = [c[1] if isinstance(c, tuple) else c for c in clauses]
        return f"No significant difference yet between {s.variant} and control: {'; '.join(parts)}."
    parts = [c[2] if isinstance(c, tuple) else c for c in clauses]
    if all(d > 0 for d in significant):
        head = f"{s.variant} beats control"
    elif all(d < 0 for d in significant):
        head = f"{s.variant} trails control"
    else:
        head = f"{s.variant} vs control is mixed"
    return f"{head}: {'; '.join(parts)}."


def verdict(stats: list[VariantStats], alpha: float = 0.05) -> str:
    """Plain-language verdict, one sentence per non-control variant (Holm-adjusted p-values)."""
    control, challengers = stats[0], stats[1:]
    if sum(s.impressions for s in stats) == 0:
        return "Not enough data yet: no impressions recorded."
    if sum(s.clicks for s in stats) == 0:
        return "Not enough data yet: no clicks recorded in any variant."
    sentences = [_variant_sentence(s, control, alpha) for s in challengers]
    if len(challengers) > 1:
        sentences.append(f"(p-values Holm-adjusted across {len(challengers)} variants.)")
    return " ".join(sentences)


def _pct(x: float | None, signed: bool = False, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:+.{digits}%}" if signed else f"{x:.{digits}%}"


def _interval(ci, signed: bool = False, digits: int = 2) -> str:
    return "-" if ci is None else f"[{_pct(ci[0], signed, digits)}, {_pct(ci[1], signed, digits)}]"


def _metric_cells(s: VariantStats, m: str, alpha: float) -> list[str]:
    """CTR or CVR cells of one table row: rate, its interval, lift [interval], Holm p."""
    cells = [_pct(getattr(s, m)), _interval(getattr(s, f"{m}_ci"))]
    if s.is_control:
        return cells + ["control", "-"]
    lift, ci, p = getattr(s, f"{m}_lift"), getattr(s, f"{m}_lift_ci"), getattr(s, f"{m}_p_value_holm")
    lift_text = "-" if lift is None else f"{lift:+.1%}" + (f" {_interval(ci, True, 1)}" if ci else "")
    p_text = "-" if p is None else format_p(p, alpha).removeprefix("p ").removeprefix("= ")
    return cells + [lift_text, p_text]


def format_table(report: ExperimentReport) -> str:
    """Aligned text table of the report, then the verdict and the methods in one line each."""
    headers = [
        "variant", "impressions", "clicks", "conv.", "CTR", "CTR 95% CI", "CTR lift [95% CI]", "p (Holm)",
        "CVR", "CVR 95% CI", "CVR lift [95% CI]", "p (Holm)", "P(best CTR)", "next split",
    ]  # fmt: skip
    rows = [
        [s.variant, f"{s.impressions:,}", f"{s.clicks:,}", f"{s.conversions:,}"]
        + _metric_cells(s, "ctr", report.alpha)
        + _metric_cells(s, "cvr", report.alpha)
        + [_pct(s.prob_best_ctr, digits=1), _pct(s.recommended_share, digits=1)]
        for s in report.variants
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        padded = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]
    out += ["", f"Verdict: {report.verdict}"]
    out.append(
        f"Control: {report.control}. Lift intervals: Katz log; p: two-sided pooled z-test, Holm-adjusted; "
        f"P(best): Beta posteriors, {report.draws:,} draws; "
        f"next split: Thompson sampling, floor {report.split_floor:.0%}."
    )
    return "\n".join(out)

"""Writing an evaluation's results: summary.json, report.md, tradeoff.png and CSVs.

All files are written into a temporary folder beside the output folder and
moved in only when every one of them was written, so a failed run never
leaves a half-written report.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from copy_engine.evaluation.metrics import COMPARED, METRICS
from copy_engine.evaluation.summary import Summary

# Columns of the headline table, in order.
TABLE_KEYS = (
    "predicted_ctr",
    "cta_rate",
    "faithfulness",
    "distinct_2",
    "self_bleu",
    "embedding_diversity",
    "novelty",
    "length_ok",
    "readability",
    "perplexity",
    "raw_yield",
    "judged_usable",
    "sentiment_pairwise",
)
# Columns of the per-category tables.
CATEGORY_KEYS = ("predicted_ctr", "cta_rate", "faithfulness", "distinct_2", "novelty")
SHORT = {
    "predicted_ctr": "pred. CTR",
    "cta_rate": "CTA rate",
    "faithfulness": "faithful",
    "distinct_1": "distinct-1",
    "distinct_2": "distinct-2",
    "self_bleu": "self-BLEU",
    "embedding_diversity": "emb. diversity",
    "novelty": "novelty",
    "readability": "readability",
    "reading_ease": "Flesch ease",
    "length_ok": "length OK",
    "perplexity": "perplexity",
    "raw_yield": "raw yield",
    "judged_usable": "judged usable",
    "sentiment_accuracy": "sentiment order (all 3)",
    "sentiment_pairwise": "sentiment order (pairs)",
}


def slug(text: str) -> str:
    """A file-name-safe form of a category name."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "category"


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _fmt_diff(d: dict | None) -> str:
    if not d or d.get("mean") is None:
        return "–"
    star = " *" if d["low"] is not None and (d["low"] > 0 or d["high"] < 0) else ""
    return f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]{star}"


def markdown(summary: Summary) -> str:
    """report.md: settings, the per-configuration table, differences with intervals, categories, sweep."""
    sections = (_md_header, _md_results, _md_differences, _md_categories, _md_sweep, _md_failures)
    return "\n".join(line for section in sections for line in section(summary)) + "\n"


def _md_table(columns: Sequence[str], aligns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table: the header, the alignment row ("---" or "---:" per column), one line per row."""
    header = ["| " + " | ".join(columns) + " |", "|" + "".join(f"{a}|" for a in aligns)]
    return header + ["| " + " | ".join(r) + " |" for r in rows]


def _md_header(summary: Summary) -> list[str]:
    """Title, what ran on what, whether it stopped early, and the configurations."""
    s = summary.settings
    lines = [
        "# Offline evaluation",
        "",
        (
            f"{summary.complete_products} products (of {len(summary.products)} sampled from `{s['catalog']}`, {s['sampling']}), "
            f"channel `{s['channel']}`, {s['n_variants']} variants per product, seed {s['seed']}. "
            f"Model: {summary.model['name']} (fingerprint `{summary.model['fingerprint'] or 'n/a'}`). "
            f"Adapters loaded: {', '.join(summary.adapters['loaded']) or 'none'}. "
            f"Run time {summary.seconds:.0f} s."
        ),
        "",
    ]
    if summary.stopped_early:
        reason = summary.stopped_early["reason"]
        lines += [f"**Stopped early** ({reason}): the results cover the products finished.", ""]
    lines += ["## Configurations", ""]
    lines += [f"- **{c}**: {s['config_definitions'][c]['description']}" for c in summary.configs]
    if not summary.adapters["loaded"] and "adapters" in summary.configs:
        lines += ["", "No adapters were loaded, so `adapters` differs from `baseline` by the sliders' decoding only."]
    return lines


def _md_results(summary: Summary) -> list[str]:
    """The per-configuration table of means."""
    lines = ["", "## Results (mean per product)", ""]
    rows = [[c, *(_fmt(m.get(k)) for k in TABLE_KEYS)] for c, m in summary.configs.items()]
    lines += _md_table(["config", *(SHORT[k] for k in TABLE_KEYS)], ["---"] + ["---:"] * len(TABLE_KEYS), rows)
    return lines + [
        "",
        (
            "Higher is better except self-BLEU and perplexity (perplexity under the base model, adapters off). "
            f"Sentiment order is checked on {summary.sentiment_checked} products: "
            "do the sentiment -1 / 0 / +1 generations order their mean VADER scores correctly."
        ),
    ]


def _md_differences(summary: Summary) -> list[str]:
    """Each configuration against baseline, with bootstrap intervals."""
    lines = [
        "",
        "## Differences against baseline (95% bootstrap intervals over products)",
        "",
        "`*` = interval excludes 0.",
        "",
    ]
    others = [c for c in summary.configs if c != "baseline"]
    if others:
        rows = [[SHORT[k], *(_fmt_diff(summary.differences[c].get(k)) for c in others)] for k in COMPARED]
        lines += _md_table(["metric", *(f"{c} − baseline" for c in others)], ["---"] * (len(others) + 1), rows)
    return lines


def _md_categories(summary: Summary) -> list[str]:
    """The headline metrics per category and configuration."""
    rows = [
        [cat, c, str(per[c]["products"]), *(_fmt(per[c].get(k)) for k in CATEGORY_KEYS)]
        for cat, per in summary.categories.items()
        for c in summary.configs
    ]
    columns = ["category", "config", "products", *(SHORT[k] for k in CATEGORY_KEYS)]
    aligns = ["---", "---", "---:"] + ["---:"] * len(CATEGORY_KEYS)
    return ["", "## Per category", ""] + _md_table(columns, aligns, rows)


def _md_sweep(summary: Summary) -> list[str]:
    """The trade-off table: creativity / predicted CTR per λ, the elbow and its decoding (none without a sweep)."""
    sweep = summary.sweep
    if not sweep["curves"]:
        return []
    lines = [
        "",
        "## Creativity–conversion trade-off (λ sweep of the full pipeline)",
        "",
        (
            "Creativity = mean of novelty and embedding diversity. The elbow (kneedle) is the creativity setting "
            "after which more creativity costs disproportionately more predicted clicks. See tradeoff.png."
        ),
        "",
    ]
    rows = []
    for cat, points in sweep["curves"].items():
        at = {p["lambda"]: p for p in points}
        cells = [
            f"{at[lam]['creativity']:.2f} / {at[lam]['predicted_ctr']:.2f}" if lam in at else "–"
            for lam in sweep["lambdas"]
        ]
        e = sweep["elbows"].get(cat)
        rec = summary.recommendations[cat]["decoding"] if cat in summary.recommendations else {}
        dec = f"T={rec.get('temperature')}, top-p={rec.get('top_p')}, top-k={rec.get('top_k')}" if rec else "–"
        rows.append([cat, *cells, _fmt(e["lambda"], 2) if e else "–", e["method"] if e else "–", dec])
    columns = ["category", *(f"λ={lam:g}" for lam in sweep["lambdas"]), "elbow λ", "method", "recommended decoding"]
    lines += _md_table(columns, ["---"] * (len(sweep["lambdas"]) + 1) + ["---:", "---", "---"], rows)
    return lines + ["", "Cells: creativity / predicted CTR percentile."]


def _md_failures(summary: Summary) -> list[str]:
    """Generations that wrote nothing usable, with the reason."""
    if not summary.failures:
        return []
    return ["", "## Failures", ""] + [f"- product {f['index']} ({f['config']}): {f['error']}" for f in summary.failures]


def plot_tradeoff(summary: Summary, path: Path) -> None:
    """tradeoff.png: predicted CTR against creativity per category, λ labelled, elbows starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    curves = summary.sweep["curves"]
    if not curves:
        ax.text(0.5, 0.5, "No λ sweep in this evaluation", ha="center", va="center", transform=ax.transAxes)
    for cat, points in curves.items():
        if not points:
            continue
        pts = sorted(points, key=lambda p: p["lambda"])  # the path the slider takes
        xs, ys = [p["creativity"] for p in pts], [p["predicted_ctr"] for p in pts]
        style = {"lw": 2.5, "color": "black"} if cat == "All" else {"lw": 1.2, "alpha": 0.8}
        (line,) = ax.plot(xs, ys, marker="o", label=cat, **style)
        for p in pts:
            ax.annotate(
                f"λ{p['lambda']:g}",
                (p["creativity"], p["predicted_ctr"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        e = summary.sweep["elbows"].get(cat)
        if e:
            ax.scatter(
                [e["creativity"]],
                [e["predicted_ctr"]],
                marker="*",
                s=220,
                color=line.get_color(),
                edgecolor="black",
                zorder=5,
            )
    ax.set_xlabel("creativity (mean of novelty and embedding diversity)")
    ax.set_ylabel("predicted CTR (percentile)")
    ax.set_title("Creativity–conversion trade-off (★ = elbow)")
    if curves:
        ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})


def write_all(summary: Summary, generations: Sequence, sweep_rows: Sequence[dict], out_dir: Path) -> list[Path]:
    """Write every report file into `out_dir` (created if needed); returns the paths written.

    Files: summary.json, report.md, tradeoff.png, generations.csv (every variant),
    sweep.csv, and category_<name>.csv per category (one row per configuration).
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / "summary.json").write_text(
            json.dumps(summary.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        (tmp / "report.md").write_text(markdown(summary), encoding="utf-8")
        plot_tradeoff(summary, tmp / "tradeoff.png")
        metric_cols = [*COMPARED, "products", "seconds_per_product"]
        for cat, per in summary.categories.items():
            _write_csv(
                tmp / f"category_{slug(cat)}.csv",
                [{"category": cat, "config": c, **m} for c, m in per.items()],
                ["category", "config", *metric_cols],
            )
        gen_rows = []
        for g in generations:
            base = {
                "index": g.index,
                "category": g.category,
                "product": g.product,
                "config": g.config,
                "seed": g.seed,
                "error": g.error,
            }
            for i, t in enumerate(g.texts or [""]):
                gen_rows.append(
                    {**base, "variant": i + 1 if g.texts else "", "text": t, **{k: g.metrics.get(k) for k in METRICS}}
                )
        _write_csv(
            tmp / "generations.csv",
            gen_rows,
            ["index", "category", "product", "config", "seed", "variant", "text", "error", *METRICS],
        )
        _write_csv(
            tmp / "sweep.csv",
            sweep_rows,
            [
                "category",
                "product_index",
                "lambda",
                "novelty",
                "embedding_diversity",
                "distinct_2",
                "predicted_ctr",
                "cta_rate",
                "faithfulness",
            ],
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("category_*.csv"):  # a previous run's categories must not mix with these
            old.unlink()
        written = []
        for f in sorted(tmp.iterdir()):
            target = out_dir / f.name
            f.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- reading reports back (Insights page)


def evaluations_dir(home: Path) -> Path:
    """Where the app keeps evaluation reports: COPYLAB_HOME/evaluations."""
    return Path(home) / "evaluations"


def list_reports(root: Path) -> list[Path]:
    """Folders under `root` holding a summary.json, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "summary.json").is_file()]
    return sorted(found, key=lambda p: (p / "summary.json").stat().st_mtime, reverse=True)


def load_summary(folder: Path) -> Summary:
    """summary.json of a report folder (older versions too); InputError when missing or unreadable."""
    from copy_engine.errors import InputError

    from copy_engine.jsonfile import read_json

    path = Path(folder) / "summary.json"
    data = read_json(path, "evaluation summary")
    if not isinstance(data, dict) or not isinstance(data.get("configs"), dict):
        raise InputError(f"{path} is not an evaluation summary")
    return Summary.from_json(data)


def config_rows(summary: Summary) -> list[dict]:
    """One row per configuration: its mean metrics (labelled as in the report)."""
    return [
        {"config": c, **{SHORT[k]: m.get(k) for k in TABLE_KEYS}, "products": m.get("products")}
        for c, m in summary.configs.items()
    ]


def difference_rows(summary: Summary) -> list[dict]:
    """One row per metric: each configuration's difference against baseline with its 95% interval, as text."""
    others = list(summary.differences)
    return [
        {"metric": SHORT[k], **{f"{c} − baseline": _fmt_diff(summary.differences[c].get(k)) for c in others}}
        for k in COMPARED
    ]


def category_rows(summary: Summary) -> list[dict]:
    """One row per (category, configuration) with the headline metrics."""
    return [
        {"category": cat, "config": c, "products": m.get("products"), **{SHORT[k]: m.get(k) for k in CATEGORY_KEYS}}
        for cat, per in summary.categories.items()
        for c, m in per.items()
    ]


def curve_rows(summary: Summary) -> list[dict]:
    """Sweep points (category, λ, creativity, predicted CTR, is_elbow) for charting."""
    rows = []
    for cat, points in summary.sweep["curves"].items():
        elbow = summary.sweep["elbows"].get(cat, {})
        for p in points:
            rows.append({"category": cat, **p, "elbow": bool(elbow) and p["lambda"] == elbow.get("lambda")})
    return rows


def recommendation_rows(summary: Summary) -> list[dict]:
    """Per category: the elbow's creativity setting and the decoding and adapter mix it maps to."""
    rows = []
    for cat, rec in summary.recommendations.items():
        d, a = rec["decoding"], rec["adapters"]
        method = summary.sweep["elbows"].get(cat, {}).get("method", "")
        rows.append(
            {
                "category": cat,
                "creativity slider": rec["creativity"],
                "temperature": d["temperature"],
                "top-p": d["top_p"],
                "top-k": d["top_k"],
                "repetition penalty": d["repetition_penalty"],
                "creative adapter": a["creative"],
                "found by": method,
            }
        )
    return rows

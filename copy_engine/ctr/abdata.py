"""A/B test history: reading the CSV, grouping comparable packages, pairs and their evidence.

Two headlines are comparable only when they were shown in the same test with the
same image and lede; the group key is therefore (test_id, eyecatcher_id, lede),
with the optional columns treated as empty when absent.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from copy_engine.errors import InputError

REQUIRED_SCORE_COLUMNS = ("test_id", "headline")
REQUIRED_AB_COLUMNS = ("test_id", "headline", "impressions", "clicks")
GROUP_COLUMNS = ("test_id", "eyecatcher_id", "lede")


def read_csv(path: str | Path, required: tuple[str, ...] = REQUIRED_SCORE_COLUMNS, as_text: bool = False) -> pd.DataFrame:
    """Read a CSV (or .csv.gz); InputError when the file is unreadable or required columns are missing.

    `as_text` keeps every cell as the exact string in the file (empty cells stay ''), so
    columns can be written back unchanged.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input file not found: {p}")
    try:
        if as_text:
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
        else:
            df = pd.read_csv(p, dtype={"test_id": str, "eyecatcher_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"cannot read {p} as CSV: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{p.name} lacks required column(s): {', '.join(missing)} (has: {', '.join(map(str, df.columns))})")
    return df


def read_ab_history(path: str | Path) -> pd.DataFrame:
    """Read A/B history (test_id, headline, impressions, clicks; optional lede, eyecatcher_id) and clean it.

    Rows with non-numeric or impossible counts raise InputError (never silently dropped);
    rows with zero impressions carry no evidence and are dropped.
    """
    df = read_csv(path, REQUIRED_AB_COLUMNS)
    return clean_ab_history(df, source=Path(path).name)


def clean_ab_history(df: pd.DataFrame, source: str = "input") -> pd.DataFrame:
    """Validate counts, fill optional grouping columns and drop zero-impression rows."""
    df = df.copy()
    for col in ("impressions", "clicks"):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna() | (vals < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # +1 header, +1 one-based
            raise InputError(f"{source}: column {col!r} must hold non-negative numbers (line {row}: {df[col].iloc[row - 2]!r})")
        df[col] = vals.astype(float)
    if (df["clicks"] > df["impressions"]).any():
        row = int(np.flatnonzero((df["clicks"] > df["impressions"]).to_numpy())[0]) + 2
        raise InputError(f"{source}: clicks exceed impressions on line {row}")
    for col in ("eyecatcher_id", "lede"):
        df[col] = df[col].fillna("").astype(str) if col in df.columns else ""
    df["test_id"] = df["test_id"].astype(str)
    df["headline"] = df["headline"].fillna("").astype(str)
    return df[df["impressions"] > 0].reset_index(drop=True)


def two_proportion_z(c1, n1, c2, n2):
    """Pooled two-proportion z statistic and two-sided p-value, element-wise over arrays or scalars.

    The test itself is experiments.frequentist.pooled_ztests (the A/B page's
    pooled_ztest over arrays); where it is undefined (no clicks at all, or all
    clicks) z is 0 and p is 1, so such pairs carry no evidence.
    """
    from copy_engine.experiments.frequentist import pooled_ztests

    z, p = pooled_ztests(c1, n1, c2, n2)
    undefined = np.isnan(z)
    z[undefined], p[undefined] = 0.0, 1.0
    return z, p


def evaluation_groups(df: pd.DataFrame) -> list[pd.DataFrame]:
    """Per test, the comparable packages exactly as the independent check sees them.

    The largest (eyecatcher_id, lede) group of each test, first row of each distinct
    headline, tests with fewer than two headlines left out.
    """
    out = []
    for _, x in df.groupby("test_id", sort=True):
        k = x.groupby(["eyecatcher_id", "lede"]).size().idxmax()
        x = x[(x.eyecatcher_id == k[0]) & (x.lede == k[1])].drop_duplicates("headline")
        if len(x) >= 2:
            out.append(x)
    return out


def training_groups(df: pd.DataFrame) -> list[pd.DataFrame]:
    """Every (test_id, eyecatcher_id, lede) group with >= 2 distinct headlines.

    Packages repeating a headline inside a group are pooled (clicks and impressions
    summed): they are the same treatment, so pooling only adds evidence.
    """
    agg = df.groupby(list(GROUP_COLUMNS) + ["headline"], sort=True, as_index=False)[["impressions", "clicks"]].sum()
    return [x for _, x in agg.groupby(list(GROUP_COLUMNS), sort=True) if len(x) >= 2]


def pairs_from_groups(groups: list[pd.DataFrame]) -> pd.DataFrame:
    """All within-group pairs (a, b): headlines, CTRs, z, p-value, significance and group index.

    `ctr_a == ctr_b` pairs are kept with `tie=True` so callers decide how to treat them.
    """
    rows = []
    for g, x in enumerate(groups):
        h = x["headline"].to_numpy()
        n = x["impressions"].to_numpy(dtype=float)
        c = x["clicks"].to_numpy(dtype=float)
        for i in range(len(x)):
            for j in range(i + 1, len(x)):
                rows.append((g, h[i], h[j], c[i], n[i], c[j], n[j]))
    cols = ["group", "a", "b", "clicks_a", "imp_a", "clicks_b", "imp_b"]
    p = pd.DataFrame(rows, columns=cols)
    if p.empty:
        return p.assign(ctr_a=[], ctr_b=[], z=[], p_value=[], significant=[], tie=[])
    p["ctr_a"] = p.clicks_a / p.imp_a
    p["ctr_b"] = p.clicks_b / p.imp_b
    z, pv = two_proportion_z(p.clicks_a, p.imp_a, p.clicks_b, p.imp_b)
    p["z"] = z
    p["p_value"] = pv
    p["significant"] = np.abs(z) > 1.96
    p["tie"] = p.ctr_a == p.ctr_b
    return p


def evidence_weight(z) -> np.ndarray:
    """Weight of a training pair: how sure the data are about which headline won.

    2*Phi(|z|)-1 (0 for a coin flip, -> 1 for a clear winner): pairs whose order is
    noise count little, and no single huge test dominates as raw |z| would let it.
    """
    z = np.abs(np.asarray(z, dtype=float))
    return np.vectorize(lambda v: math.erf(v / math.sqrt(2)))(z) if z.ndim else math.erf(float(z) / math.sqrt(2))


def holdout_mask(test_ids, fraction: float, salt: str = "copylab-ctr") -> np.ndarray:
    """True for tests in the held-out split: a stable hash of test_id, so every run splits the same way."""
    if fraction <= 0:
        return np.zeros(len(test_ids), dtype=bool)
    cut = int(fraction * 10_000)
    return np.array(
        [int(hashlib.sha256(f"{salt}:{t}".encode()).hexdigest()[:8], 16) % 10_000 < cut for t in test_ids], dtype=bool
    )

"""`score-headlines`: add a `ctr_score` column (higher = more clicks expected) to a CSV of headlines."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

NAME = "score-headlines"
HELP = "Score headlines with the click-through predictor: reads INPUT.csv (test_id, headline), writes OUTPUT.csv + ctr_score."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="CSV or .csv.gz with columns test_id and headline (other columns pass through)")
    parser.add_argument("output", help="CSV to write: every input row plus a ctr_score column")
    parser.add_argument("--weights", default=None, help="weights from train-ctr (default: the shipped model)")


def run(args: argparse.Namespace) -> int:
    from copy_engine.ctr.abdata import REQUIRED_SCORE_COLUMNS, read_csv
    from copy_engine.ctr.predictor import load_predictor
    from copy_engine.errors import InputError

    df = read_csv(args.input, REQUIRED_SCORE_COLUMNS, as_text=True)
    if "ctr_score" in df.columns:
        raise InputError(f"{Path(args.input).name} already has a ctr_score column")
    out = Path(args.output)
    if out.parent and not out.parent.is_dir():
        raise InputError(f"output folder does not exist: {out.parent}")
    predictor = load_predictor(args.weights)
    df["ctr_score"] = [f"{s:.6f}" for s in predictor.score(df["headline"].tolist())]
    # Write beside the target and rename, so a failure never leaves a half-written output.
    suffix = ".csv.gz" if out.name.endswith(".gz") else ".csv"
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp" + suffix)
    os.close(fd)
    try:
        df.to_csv(tmp, index=False, compression="gzip" if suffix == ".csv.gz" else None)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; an ordinary output file is readable by others
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"scored {len(df)} rows -> {out}")
    return 0

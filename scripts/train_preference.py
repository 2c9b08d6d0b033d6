"""Preference-tune the best-of continuation on labelled usable/unusable pairs (copy_engine/preference.py).

    python scripts/train_preference.py [--steps 150] [--beta 0.1] [--lr 5e-5] [--channels C1,C2]
        [--init-from copy_engine/adapters/shipped/best-of.safetensors]
        [--out copy_engine/adapters/shipped/preference.safetensors] [--catalog CSV] [--labels FILE ...]

Pairs come from every shipped label file of training-split products (judge_labels*.jsonl and
examples/best_of/labels*.jsonl), or only from the --labels files (a later round tuned on its own starting
adapter's labelled candidates); catalog rows resolve only where ../shared/data/products is present.
The shipped adapter: --steps 120 --lr 3e-5 --sft-weight 1.0 --seed 69, then scripts/convert_adapters.py. Its second
round (preference-2): --init-from copy_engine/adapters/shipped/preference.safetensors --labels
copy_engine/examples/preference/labels.jsonl --channels description,headline --steps 120 --lr 3e-5 --sft-weight 1.0
--seed 71 --out copy_engine/adapters/shipped/preference-2.safetensors (README, "A second preference round"). The
first round's own round on social posts (preference-social): --init-from
copy_engine/adapters/shipped/preference.safetensors --labels copy_engine/examples/preference/labels-social.jsonl
--channels social --steps 120 --lr 3e-5 --sft-weight 1.0 --seed 99 --out
copy_engine/adapters/shipped/preference-social.safetensors (README, "A preference round for social posts"); on ad
descriptions (preference-ad) the same with --labels copy_engine/examples/preference/labels-3.jsonl --channels
ad_description --out copy_engine/adapters/shipped/preference-ad.safetensors. The second round's own round on product
headlines (preference-headline): --init-from copy_engine/adapters/shipped/preference-2.safetensors --labels
copy_engine/examples/preference/labels-headline.jsonl --channels headline --steps 120 --lr 3e-5 --sft-weight 1.0
--seed 111 --out copy_engine/adapters/shipped/preference-headline.safetensors (README, "A preference round for
product headlines"). The best-of continuation's own round on search ad headlines (preference-ad-headline): --init-from
copy_engine/adapters/shipped/best-of.safetensors --labels copy_engine/examples/preference/labels-ad-headline.jsonl
--channels ad_headline --seed 114 --out copy_engine/adapters/shipped/preference-ad-headline.safetensors, the rest as
above (README, "A preference round for ad headlines").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from copy_engine.controls import BEST_OF_CHANNELS  # noqa: E402
from copy_engine.preference import PreferenceConfig, labelled_pairs, read_labelled, train_preference  # noqa: E402


def _in_repo(path: Path) -> str:
    """`path` relative to the repository where it lies inside it (metadata must not name this machine's paths)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def continued_from(init_from: Path, start: dict) -> dict:
    """The start adapter's file, name, best step, training time, label files and own start, for the metadata.

    More than its path, because a later round may replace the file it started from (a second social round would
    take `preference-social`'s place)."""
    data = start["training"].get("data", {})
    return {"adapter": _in_repo(init_from.resolve()), "name": start.get("name"),
            **{k: start["training"].get(k) for k in ("best_step", "seconds")},
            **{k: data.get(k) for k in ("label_files", "continued_from")}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    d = PreferenceConfig()
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--beta", type=float, default=d.beta)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--sft-weight", type=float, default=d.sft_weight)
    ap.add_argument("--batch-pairs", type=int, default=d.batch_pairs)
    ap.add_argument("--pairs-per-group", type=int, default=d.pairs_per_group)
    ap.add_argument("--eval-every", type=int, default=d.eval_every)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--channels", default=",".join(BEST_OF_CHANNELS), help="channels whose pairs train")
    ap.add_argument("--init-from", type=Path, default=ROOT / "copy_engine/adapters/shipped/best-of.safetensors")
    ap.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/data/products/amazon_products_sample.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "copy_engine/adapters/shipped/preference.safetensors")
    ap.add_argument("--labels", type=Path, nargs="+", help="label files to pair (default: every shipped one)")
    ap.add_argument("--name", default=None, help="adapter name in its metadata (default: the --out file's stem)")
    args = ap.parse_args(argv)

    from copy_engine.model import get_loaded_model
    from copy_engine.copy_deck import products_by_key
    from copy_engine.scoring.reader_train import label_files

    start = json.loads(args.init_from.with_suffix(".json").read_text(encoding="utf-8"))
    lora = start["lora"]
    files = args.labels or label_files() + sorted((ROOT / "copy_engine/examples/best_of").glob("labels*.jsonl"))
    files = [f.resolve() for f in files]
    examples = read_labelled(files, products_by_key(args.catalog))
    channels = tuple(c for c in args.channels.split(",") if c)
    pairs = labelled_pairs(examples, channels, args.pairs_per_group, args.seed)
    print(f"{len(pairs)} pairs from {len(examples)} labelled candidates, {len({p.product for p in pairs})} products",
          flush=True)
    cfg = PreferenceConfig(
        r=lora["r"], alpha=lora["alpha"], target_modules=tuple(lora["target_modules"]), steps=args.steps,
        batch_pairs=args.batch_pairs, lr=args.lr, beta=args.beta, sft_weight=args.sft_weight,
        pairs_per_group=args.pairs_per_group, eval_every=args.eval_every, seed=args.seed, init_from=str(args.init_from),
    )
    info = {
        "pairs": len(pairs),
        "channels": list(channels),
        "label_files": [_in_repo(f) for f in files],
        "continued_from": continued_from(args.init_from, start),
    }
    result = train_preference(get_loaded_model(), pairs, cfg, args.out, data_info=info,
                              progress=lambda r: print(json.dumps(r), flush=True), name=args.name or args.out.stem)
    summary = {"out": str(result.path), "best_step": result.best_step, "best_val_loss": result.best_val_loss}
    print(json.dumps({**summary, "stopped": result.stopped, "seconds": round(result.seconds, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the copywriter adapter on the copy deck and print its validation loss and training time.

    python scripts/train_copywriter.py [--steps 300] [--r 16] [--modules attention|attention+mlp]
        [--init-from ADAPTER.safetensors] [--val-products KEYS.json] [--channels C1,C2] [--sources csv,own]
        [--warmup N] [--seed S] [--deck FOLDER ...]
        [--catalog CSV] [--out copy_engine/adapters/shipped/copywriter.safetensors]

The deck's catalog rows resolve only where the catalog CSV is present (../shared/data/products).
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

from copy_engine.copywriter import ATTENTION, MLP, CopywriterConfig, deck_examples, train_copywriter  # noqa: E402

MODULES = {"attention": ATTENTION, "attention+mlp": ATTENTION + MLP}


def _names(arg: str) -> tuple[str, ...]:
    """A comma-separated option as a tuple of names ("" = none, so no filter)."""
    return tuple(n for n in arg.split(",") if n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--r", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=None, help="default 2 x r")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--modules", choices=sorted(MODULES), default="attention+mlp")
    ap.add_argument("--init-from", default="", help="continue training from this adapter's weights")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0, help="data order (a continued run wants a new one)")
    ap.add_argument("--channels", default="", help="train on these deck channels only (comma-separated)")
    ap.add_argument("--sources", default="", help="train on the deck's csv (catalog rows) or own products only")
    ap.add_argument("--max-val-examples", type=int, default=96)
    ap.add_argument("--val-products", type=Path, default=None, help="JSON list of product keys to validate on")
    ap.add_argument("--deck", type=Path, action="append", default=[],
                    help="train on this deck folder's part*.jsonl instead of the copy deck (repeatable)")
    ap.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/data/products/amazon_products_sample.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "copy_engine/adapters/shipped/copywriter.safetensors")
    ap.add_argument("--name", default=None, help="adapter name in its metadata (default: the --out file's stem)")
    args = ap.parse_args(argv)
    name = args.name or args.out.stem

    from copy_engine.model import get_loaded_model

    channels, sources = _names(args.channels), _names(args.sources)
    examples = [e for folder in args.deck or [None] for e in deck_examples(args.catalog, folder, channels, sources)]
    print(f"{len(examples)} deck examples for {len({e.product for e in examples})} products", flush=True)
    cfg = CopywriterConfig(
        r=args.r,
        alpha=args.alpha or 2.0 * args.r,
        target_modules=MODULES[args.modules],
        steps=args.steps,
        lr=args.lr,
        batch_size=args.batch_size,
        eval_every=args.eval_every,
        warmup_steps=args.warmup,
        seed=args.seed,
        init_from=args.init_from,
        max_val_examples=args.max_val_examples,
        val_products=tuple(json.loads(args.val_products.read_text(encoding="utf-8"))) if args.val_products else (),
    )
    loaded = get_loaded_model()
    info = {
        "examples": len(examples),
        "channels": args.channels or "all",
        "sources": args.sources or "all",
        "catalog_rows": sum(e.product.startswith("csv:") for e in examples),
        "decks": [str(f.relative_to(ROOT)) if f.is_relative_to(ROOT) else str(f) for f in args.deck] or ["copy_deck"],
    }
    if args.init_from:  # the run this one continues, so the metadata tells the whole training story
        first = json.loads(Path(args.init_from).with_suffix(".json").read_text(encoding="utf-8"))["training"]
        keep = ("steps_done", "best_step", "best_val_loss", "seconds", "examples", "data")
        info["continued_from"] = {"adapter": args.init_from, **{k: first.get(k) for k in keep}}
    from copy_engine.adapters.lora_run import save_trained_adapter

    def checkpoint(state, step, val):
        lora = {"r": cfg.r, "alpha": cfg.alpha, "target_modules": list(cfg.target_modules)}
        meta = {"name": name, "objective": "copywriter", "step": step, "val_loss": val}
        meta.update(base={"name": loaded.name}, lora=lora)
        save_trained_adapter(args.out.with_name(args.out.stem + "-best.safetensors"), state, meta, convert=False)

    def show(record):
        print(json.dumps(record), flush=True)

    result = train_copywriter(
        loaded, examples, cfg, args.out, progress=show, data_info=info, checkpoint=checkpoint, name=name
    )
    summary = {"out": str(result.path), "best_step": result.best_step, "best_val_loss": result.best_val_loss}
    summary.update(stopped=result.stopped, seconds=round(result.seconds, 1), r=args.r, modules=args.modules)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Blind read of one adapter change: the app's shown variants before and after, merged per product, labelled blind.

    python scripts/adapter_read.py shown --channel social --products 20 --seed 105 --condition "before" --out A.json
        the app's 4 shown variants at default sliders for evaluation-split products drawn with --seed (run it
        once per setting, each from a checkout holding that setting's adapters)
    python scripts/adapter_read.py sets A.json B.json --read 105 --dir DIR
        DIR/set.md (per product: its facts and the union of both settings' variants, shuffled, ids P<i>.<j>)
        and DIR/key.json (which setting showed each id, at which rank); the reader never sees the key
    python scripts/adapter_read.py count DIR
        joins the readers' labels (DIR/r*.jsonl, a line {"id", "usable", "reason", "bad"} per id) with the key:
        shown usable per setting and reader, the top pick's usable count, products better and worse
    python scripts/adapter_read.py export DIR --set NAME > docs/reads/readNNN_labels.jsonl
        the labelled variants in the docs/reads format (text, conditions with rank and scores, every label)

The sets quote catalog facts, so DIR belongs outside the repository (the catalog never goes into it); only the
labelled copy is exported into docs/reads.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
CATALOG = ROOT.parent / "shared/data/products/amazon_products_sample.csv"


def shown(channel: str, n_products: int, seed: int, condition: str, out: Path, catalog: Path) -> None:
    """The app's default request for `n_products` evaluation-split products; written after each product."""
    from copy_engine.adapters.data import products_from_csv
    from copy_engine.controls import Controls
    from copy_engine.copy_deck import product_key, visible_product
    from copy_engine.evaluation.sampling import sample_products
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.generator import get_default_generator

    drawn = sample_products(products_from_csv(catalog, 100_000, "eval"), n_products, seed=seed)
    generator = get_default_generator()
    rows = []
    for sp in drawn:
        p, t0 = sp.product, time.perf_counter()
        result = generate(p, channel, Controls(), GenerateOptions(n=4, seed=0), generator=generator)
        v = visible_product(p)
        rows.append({
            "product": product_key(p, "csv"), "name": p.name, "condition": condition, "channel": channel,
            "facts": {"brand": v.brand, "category": v.category, "price": v.price, "features": v.features,
                      "description": v.description},
            "seconds": round(time.perf_counter() - t0, 2),
            "shown": [{"text": x.text, "rank": i + 1, "scores": {k: round(s, 4) for k, s in x.scores.items()}}
                      for i, x in enumerate(result.variants)],
        })
        out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        print(f"{len(rows)}/{len(drawn)} {rows[-1]['seconds']} s", file=sys.stderr, flush=True)


def sets(before: Path, after: Path, read: str, folder: Path) -> None:
    """One blind set per product: the union of both settings' variants in a shuffled order."""
    runs = [json.loads(before.read_text()), json.loads(after.read_text())]
    by_product = {}
    for run in runs:
        for row in run:
            by_product.setdefault(row["product"], []).append(row)
    rng = random.Random(int(read) if read.isdigit() else read)
    lines, key = [f"# Set {read}", ""], {}
    for i, (pkey, rows) in enumerate(by_product.items(), 1):
        f = rows[0]["facts"]
        lines += [f"## P{i}: {rows[0]['name']}", ""]
        lines += [f"- {k.capitalize()}: {f[k]}" for k in ("brand", "category", "price") if f.get(k)]
        lines += [f"- Feature: {x}" for x in f["features"]]
        lines += [f"- Description: {f['description']}"] if f.get("description") else []
        texts = {}
        for row in rows:
            for v in row["shown"]:
                texts.setdefault(v["text"], {})[row["condition"]] = {"shown_rank": v["rank"], "scores": v["scores"]}
        order = list(texts)
        rng.shuffle(order)
        lines += ["", "Copy:", ""]
        for j, text in enumerate(order, 1):
            key[f"P{i}.{j}"] = {"product": pkey, "channel": rows[0]["channel"], "text": text, "conditions": texts[text]}
            lines.append(f"- **P{i}.{j}**: {text}")
        lines.append("")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "set.md").write_text("\n".join(lines), encoding="utf-8")
    (folder / "key.json").write_text(json.dumps({"read": read, "conditions": [r[0]["condition"] for r in runs],
                                                 "ids": key}, indent=1), encoding="utf-8")
    print(f"{folder / 'set.md'}: {len(by_product)} products, {len(key)} variants")


def readers(folder: Path) -> list[dict]:
    """Each reader's labels by id (DIR/r*.jsonl, in name order)."""
    return [{r["id"]: r for r in (json.loads(line) for line in p.read_text().splitlines() if line.strip())}
            for p in sorted(folder.glob("r*.jsonl"))]


def count(folder: Path) -> None:
    """Shown usable per setting and reader, top-pick usable, and products better or worse (by the readers' sum)."""
    key = json.loads((folder / "key.json").read_text())
    conds, labels = key["conditions"], readers(folder)
    missing = [len(set(key["ids"]) - set(r)) for r in labels]
    print(f"readers: {len(labels)}; ids without a label per reader: {missing}")
    per_product: dict = {}
    for vid, v in key["ids"].items():
        for c, at in v["conditions"].items():
            row = per_product.setdefault(v["product"], {}).setdefault(c, {"shown": 0, "usable": [0] * len(labels),
                                                                         "top": [0] * len(labels)})
            row["shown"] += 1
            for k, r in enumerate(labels):
                ok = bool(r.get(vid, {}).get("usable"))
                row["usable"][k] += ok
                row["top"][k] += ok and at["shown_rank"] == 1
    for c in conds:
        rows = [p[c] for p in per_product.values() if c in p]
        shown_n = sum(r["shown"] for r in rows)
        usable = [sum(r["usable"][k] for r in rows) for k in range(len(labels))]
        top = [sum(r["top"][k] for r in rows) for k in range(len(labels))]
        print(f"{c}: shown {shown_n}, usable {usable}, top pick usable {top} of {len(rows)}")
    better = sum(sum(p[conds[1]]["usable"]) > sum(p[conds[0]]["usable"]) for p in per_product.values())
    worse = sum(sum(p[conds[1]]["usable"]) < sum(p[conds[0]]["usable"]) for p in per_product.values())
    print(f"products better / worse ({conds[1]} against {conds[0]}): {better} / {worse}")


def export(folder: Path, set_name: str) -> None:
    """The labelled variants as docs/reads lines, in the key's order."""
    key = json.loads((folder / "key.json").read_text())
    labels = readers(folder)
    for vid, v in key["ids"].items():
        row = {"read": key["read"], "set": set_name, "channel": v["channel"], "product": v["product"],
               "text": v["text"], "conditions": v["conditions"],
               "labels": [{k: r.get(vid, {}).get(k) for k in ("usable", "reason", "bad")} for r in labels]}
        print(json.dumps(row, ensure_ascii=False))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("shown")
    s.add_argument("--channel", required=True)
    s.add_argument("--products", type=int, default=20)
    s.add_argument("--seed", type=int, required=True, help="draw seed (use one no earlier read used)")
    s.add_argument("--condition", required=True, help="the setting's name, as the count and export report it")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--catalog", type=Path, default=CATALOG)
    m = sub.add_parser("sets")
    m.add_argument("before", type=Path)
    m.add_argument("after", type=Path)
    m.add_argument("--read", required=True, help="the read's name (its number); also seeds the shuffle")
    m.add_argument("--dir", type=Path, required=True)
    c = sub.add_parser("count")
    c.add_argument("dir", type=Path)
    e = sub.add_parser("export")
    e.add_argument("dir", type=Path)
    e.add_argument("--set", required=True, help="the set's name in docs/reads")
    args = ap.parse_args(argv)
    if args.cmd == "shown":
        if not args.catalog.is_file():
            print(f"catalog not found: {args.catalog}", file=sys.stderr)
            return 2
        shown(args.channel, args.products, args.seed, args.condition, args.out, args.catalog)
    elif args.cmd == "sets":
        sets(args.before, args.after, args.read, args.dir)
    elif args.cmd == "count":
        count(args.dir)
    else:
        export(args.dir, args.set)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

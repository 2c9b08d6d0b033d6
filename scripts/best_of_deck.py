"""The best-of deck: the copywriter's own copy for training-split catalog rows, kept where a reader would publish it.

The copywriter learned from copy our writers wrote; what it writes on real listings is rejected mostly for
garbles and misused facts that a lower loss on our writing did not remove (README, reads 32-43). This deck
holds the model's own candidates that a reader labelled usable, so a continued run learns from copy it can
write (rejection sampling, as the slider adapters were trained), three steps:

    python scripts/best_of_deck.py sample --channel description --out CANDS.jsonl [--products 398]
        every scored candidate of the app's default request, for training-split rows of the catalog
    python scripts/best_of_deck.py sets CANDS.jsonl --channel description --dir LABELS/ [--per-product 4]
        the reader's best unflagged candidates per product as blind labelling sets (sets_*.md, keys_*.json)
    python scripts/best_of_deck.py collect LABELS/ [--out copy_engine/examples/best_of]
        the labelled-usable ones (l_*.json: {"P1.2": {"usable": true}, ...}) and the usable candidates of
        copy_engine/examples/judge_labels*.jsonl as part-<channel>.jsonl deck files (tone and CTA of the
        default sliders, the prompt they were written from)

    python scripts/best_of_deck.py deck FILE.jsonl --channel description --out DIR
        one channel's usable-labelled candidates of a label file as a deck (a channel's own best-of round)

    python scripts/best_of_deck.py labels LABELS/ --cands CANDS.jsonl [...] --out FILE.jsonl
        every labelled candidate, usable or not, with its reason and reading: the pairs of a preference round
        (scripts/train_preference.py --labels FILE.jsonl; README, "A second preference round")

Then `python scripts/train_copywriter.py --init-from copy_engine/adapters/shipped/copywriter.safetensors
--deck copy_engine/examples/best_of --out copy_engine/adapters/shipped/best-of.safetensors` (its name in the
metadata is the file's stem). The shipped deck's labels, usable or not, with the reader's reading of each, are in
copy_engine/examples/best_of/labels.jsonl (README, "The best-of continuation").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CATALOG = ROOT.parent / "shared/data/products/amazon_products_sample.csv"
SHIPPED = ROOT / "copy_engine/examples/best_of"
MIN_READING = 0.25  # below it a candidate is nearly always unusable (README, "The reader"): not worth a label


def sample(channel: str, out: Path, n_products: int, catalog: Path) -> None:
    """Append every scored candidate of the default request for each training-split row (resumes where it was)."""
    from copy_engine.controls import Controls
    from copy_engine.copy_deck import csv_products, product_key
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.generator import get_default_generator

    done = {json.loads(line)["product"] for line in out.open()} if out.exists() else set()
    generator = get_default_generator()
    with out.open("a", encoding="utf-8") as f:
        for product in csv_products(catalog)[:n_products]:
            key = product_key(product, "csv")
            if key in done:
                continue
            result = generate(product, channel, Controls(), GenerateOptions(n=4, seed=0), generator=generator)
            shown = [v.text for v in result.variants]
            pool = [
                {"text": t, "reading": card.scores.get("reading"), "flags": sorted({fl.kind for fl in card.flags}),
                 "shown": t in shown}
                for t, card in result.pool
            ]
            f.write(json.dumps({"product": key, "name": product.name, "channel": channel, "pool": pool}) + "\n")
            f.flush()
            print(f"{result.seconds:5.1f}s {len(pool):3d} candidates  {product.name[:60]}", flush=True)


def best_unflagged(pool: list[dict], k: int) -> list[str]:
    """The k candidates the reader rates highest among those with no flag (a doubt is not a flag here)."""
    ok = [c for c in pool if set(c["flags"]) <= {"doubtful"} and (c["reading"] or 0) >= MIN_READING]
    return [c["text"] for c in sorted(ok, key=lambda c: -c["reading"])[:k]]


def sets(cands: Path, channel: str, folder: Path, per_product: int, parts: int, catalog: Path) -> None:
    """Blind labelling sets: each product's facts (as in the catalog) and its best candidates, shuffled."""
    from copy_engine.copy_deck import csv_products, product_key

    products = {product_key(p, "csv"): p for p in csv_products(catalog)}
    rows = [r for r in map(json.loads, cands.open()) if r["channel"] == channel]
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(64)
    size = -(-len(rows) // parts)
    for part in range(parts):
        lines, key = [f"# {channel} candidates to label", ""], {}
        for i, row in enumerate(rows[part * size : (part + 1) * size], 1):
            texts = best_unflagged(row["pool"], per_product)
            rng.shuffle(texts)
            p = products[row["product"]]
            facts = (("Brand", p.brand), ("Category", p.category), ("Price", p.price))
            lines += [f"## P{i}: {p.name}", ""] + [f"- {k}: {v}" for k, v in facts if v]
            lines += [f"- Feature: {f}" for f in p.features]
            lines += [f"- Description: {p.description[:400]}"] if p.description else []
            lines += ["", "Candidates:", ""]
            for j, text in enumerate(texts, 1):
                key[f"P{i}.{j}"] = [row["product"], channel, text]
                lines.append(f"- **P{i}.{j}**: {text}")
            lines.append("")
        (folder / f"set_{channel}_{part}.md").write_text("\n".join(lines), encoding="utf-8")
        (folder / f"key_{channel}_{part}.json").write_text(json.dumps(key), encoding="utf-8")
        print(f"set_{channel}_{part}.md: {len(key)} candidates")


def labelled_sets(folder: Path):
    """(key, labels) of every labelling set under `folder` (key_*.json with its l_*.json; a set without labels is
    reported and skipped)."""
    for key_file in sorted(folder.rglob("key_*.json")):
        labels_file = key_file.with_name("l_" + key_file.name[len("key_"):])
        if not labels_file.exists():
            print(f"skipped {key_file.name}: no {labels_file.name}")
            continue
        yield json.loads(key_file.read_text()), json.loads(labels_file.read_text())


def collect(folder: Path, out: Path) -> None:
    """Usable-labelled candidates (the sets' labels and the judge's labelled candidates) as deck files."""
    from copy_engine.controls import Controls
    from copy_engine.copy_deck import DeckExample
    from copy_engine.prompts import cta_label, tone_label
    from copy_engine.scoring.reader_train import label_files

    tone, cta = tone_label(Controls().sentiment), cta_label(Controls().cta)  # the prompt they were written from
    kept: dict[tuple, None] = {}
    for key, labels in labelled_sets(folder):
        kept.update({tuple(key[i]): None for i, lab in labels.items() if lab.get("usable") is True and i in key})
    for path in label_files():
        for d in map(json.loads, path.open()):
            if d["label"] == "usable" and d["product"].startswith("csv:"):
                kept[(d["product"], d["channel"], d["text"])] = None
    out.mkdir(parents=True, exist_ok=True)
    by_channel: dict[str, list[str]] = {}
    for product, channel, text in kept:
        line = DeckExample(product, channel, tone, cta, text).to_dict()
        by_channel.setdefault(channel, []).append(json.dumps(line, ensure_ascii=False))
    for channel, lines in sorted(by_channel.items()):
        (out / f"part-{channel}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"part-{channel}.jsonl: {len(lines)} examples")


def deck(label_file: Path, channel: str, out: Path) -> None:
    """The usable-labelled candidates of one channel in a label file (as `labels` writes) as a deck file: the
    rejection-sampling deck of a channel's own continuation (README, "descriptions by their own best-of round",
    tried and not kept)."""
    from copy_engine.controls import Controls
    from copy_engine.copy_deck import DeckExample
    from copy_engine.prompts import cta_label, tone_label

    tone, cta = tone_label(Controls().sentiment), cta_label(Controls().cta)  # the prompt they were written from
    kept = {(d["product"], d["text"]): None for d in map(json.loads, label_file.open())
            if d["channel"] == channel and d["label"] == "usable" and d["product"].startswith("csv:")}
    out.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(DeckExample(product, channel, tone, cta, text).to_dict(), ensure_ascii=False)
             for product, text in kept]
    (out / f"part-{channel}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"part-{channel}.jsonl: {len(lines)} examples of {len({k[0] for k in kept})} products")


def labels(folder: Path, cands: list[Path], out: Path) -> None:
    """Every labelled candidate of the sets under `folder` as label-file lines (product, channel, text, label,
    reason, bad, reading). A product headline rejected only as "wrong channel" for quoting the price is left
    out: the labelling brief says "no price needed", yet blind readers kept 140 of 228 labels of priced
    headlines (reads 68-69), so such a label would teach the model against the readers."""
    reading = {(r["product"], r["channel"], c["text"]): c["reading"] for f in cands for r in map(json.loads, f.open())
               for c in r["pool"]}  # fmt: skip
    lines = []
    for key, got in labelled_sets(folder):
        for i, (product, channel, text) in key.items():
            lab = got.get(i, {})
            if "usable" not in lab:
                continue
            line = {"product": product, "channel": channel, "text": text,
                    "label": "usable" if lab["usable"] else "unusable"}  # fmt: skip
            if not lab["usable"]:
                if channel == "headline" and lab.get("reason") == "wrong channel" and "$" in text:
                    continue
                line.update(reason=lab.get("reason", "other"), bad=lab.get("bad", ""))
            lines.append(json.dumps({**line, "reading": reading.get((product, channel, text))}, ensure_ascii=False))
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{out}: {len(lines)} labelled candidates")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--channel", required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--products", type=int, default=10_000)
    t = sub.add_parser("sets")
    t.add_argument("cands", type=Path)
    t.add_argument("--channel", required=True)
    t.add_argument("--dir", type=Path, required=True)
    t.add_argument("--per-product", type=int, default=4)
    t.add_argument("--parts", type=int, default=8)
    c = sub.add_parser("collect")
    c.add_argument("dir", type=Path)
    c.add_argument("--out", type=Path, default=SHIPPED)
    lab = sub.add_parser("labels")
    lab.add_argument("dir", type=Path)
    lab.add_argument("--cands", type=Path, nargs="+", required=True)
    lab.add_argument("--out", type=Path, required=True)
    d = sub.add_parser("deck")
    d.add_argument("labels", type=Path)
    d.add_argument("--channel", required=True)
    d.add_argument("--out", type=Path, required=True)
    for p in (s, t):
        p.add_argument("--catalog", type=Path, default=CATALOG)
    args = ap.parse_args(argv)
    if args.step == "sample":
        sample(args.channel, args.out, args.products, args.catalog)
    elif args.step == "sets":
        sets(args.cands, args.channel, args.dir, args.per_product, args.parts, args.catalog)
    elif args.step == "labels":
        labels(args.dir, args.cands, args.out)
    elif args.step == "deck":
        deck(args.labels, args.channel, args.out)
    else:
        collect(args.dir, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

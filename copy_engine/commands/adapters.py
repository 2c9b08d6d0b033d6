"""`adapters`: list the LoRA adapters (shipped and the user's) or choose the user's default one."""

from __future__ import annotations

import argparse
import json

NAME = "adapters"
HELP = "List LoRA adapters (name, objective, base model, file, measured metrics) or set the default user adapter."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "set-default", "clear-default"), help="what to do")
    parser.add_argument("name", nargs="?", help="adapter name (for set-default)")
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    from copy_engine.adapters.registry import default_adapter, list_adapters, set_default_adapter
    from copy_engine.errors import InputError

    if args.action == "set-default":
        if not args.name:
            raise InputError("set-default needs an adapter name")
        set_default_adapter(args.name)
        print(f"default adapter: {args.name}")
        return 0
    if args.action == "clear-default":
        set_default_adapter(None)
        print("default adapter cleared")
        return 0
    infos = list_adapters()
    default = default_adapter()
    rows = [
        {
            "name": i.name,
            "objective": i.objective,
            "base_model": i.base_model,
            "file": i.file,
            "shipped": i.shipped,
            "default": i.name == default,
            "r": i.r,
            "metrics": i.metrics,
        }
        for i in infos
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no adapters found")
        return 0
    print(f"{'name':<14}{'objective':<11}{'shipped':<9}{'effect':<34}file")
    for r in rows:
        m = r["metrics"]
        effect = f"{m.get('metric', '')} {m.get('delta', 0):+.3f}" if m.get("metric") else "not measured"
        print(f"{r['name'] + (' *' if r['default'] else ''):<14}{r['objective']:<11}{'yes' if r['shipped'] else 'no':<9}{effect:<34}{r['file']}")
    return 0

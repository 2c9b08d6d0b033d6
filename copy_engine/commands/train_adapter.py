"""`train-adapter`: train a LoRA copy adapter from approved favourites, a CSV of past copy, or self-distillation."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

NAME = "train-adapter"
HELP = ("Train a LoRA adapter (tone|cta|creative|brand) from approved favourites, a CSV of past copy "
        "(product_name, channel, text, optional ctr) or self-distillation, saved to the adapters folder.")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="adapter name (lower-case letters, digits, - and _)")
    from copy_engine.adapters.requests import OBJECTIVES

    parser.add_argument("--objective", required=True, choices=OBJECTIVES)
    parser.add_argument("--from", dest="source", required=True,
                        help="'favourites' (approved favourites in the database), a .csv of past copy, "
                             "or 'distill' (self-distillation with reward ranking; how the shipped adapters are built)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank r (alpha = 2r)")
    parser.add_argument("--out", help="folder to save into (default: the user adapters folder, COPYLAB_HOME/adapters)")
    parser.add_argument("--catalog", help="with --from distill: catalog CSV whose training-split rows join the training catalog")
    parser.add_argument("--per-objective", type=int, default=60, help="with --from distill: products to over-generate for")
    parser.add_argument("--catalog-rows", type=int, default=None,
                        help="with --from distill: training-split rows taken from --catalog (default 24)")
    parser.add_argument("--sample-with", metavar="ADAPTER_FILE",
                        help="with --from distill: candidates are this adapter's own neutral samples at weight 1 "
                             "(a second rejection-sampling round, e.g. on the objective's shipped adapter)")
    parser.add_argument("--candidates", type=int, default=20, help="with --from distill: samples per product")
    parser.add_argument("--data-cache", help="with --from distill: folder for the distilled data (reused when present)")
    parser.add_argument("--kl", type=float, default=None,
                        help="weight of the KL-to-base-model fluency term (default: the objective's)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--on", choices=("auto", "base", "copywriter"), default="auto",
                        help="train on top of the base model (the few-shot pipeline's adapters) or of the copywriter "
                             "fine-tune (the copywriter pipeline's; shipped ones are named copywriter-cta, ...); "
                             "auto = the copywriter when it is installed, as the app writes with it")  # fmt: skip


def _distill_generator(args, loaded):
    """(generator, adapter weights): the base model, or with --sample-with that adapter at weight 1.

    On the copywriter: the default generator (llama.cpp on a CPU: distillation in minutes), copywriter on.
    """
    from copy_engine.generator import LocalGenerator, get_default_generator

    if args.on == "copywriter":
        return get_default_generator(), None

    if not args.sample_with:
        return LocalGenerator(loaded), None
    import copy

    from copy_engine.adapters.evaluate import SETTINGS
    from copy_engine.adapters.mixing import AdapterMixer, attach_adapters
    from copy_engine.errors import InputError

    setting = {"calm": "tone_neg"}.get(args.objective, args.objective)
    if setting not in SETTINGS:
        raise InputError(f"--sample-with supports objectives tone, calm, cta and creative, not {args.objective!r}")
    # A copy of the model carries the adapter, so the cached base model stays untouched.
    mine = copy.copy(loaded)
    model, info = attach_adapters(copy.deepcopy(loaded.model), {args.objective: args.sample_with}, dtype=loaded.model.dtype)
    mine.model = model
    return LocalGenerator(mine, AdapterMixer(model, info)), SETTINGS[setting]


def _examples(args, settings, progress_line):
    from copy_engine.adapters import data
    from copy_engine.errors import InputError

    src = args.source
    if src == "favourites":
        from copy_engine.store.db import open_db

        examples = data.examples_from_favourites(open_db(settings.db_path), on_copywriter=args.on == "copywriter")
        if not examples:
            raise InputError("there are no approved favourites to train on; approve some copy first")
        return examples, {"source": "favourites", "n": len(examples)}
    if src == "distill":
        cache = Path(args.data_cache) / f"{args.objective}.jsonl" if args.data_cache else None
        if cache is not None and cache.is_file():
            examples = data.load_examples(cache)
        else:
            if args.objective not in data.TEACHER_WISHES:
                raise InputError(f"self-distillation supports objectives {', '.join(data.TEACHER_WISHES)}")
            from copy_engine.model import get_loaded_model

            rows = data.CATALOG_TRAIN_ROWS if args.catalog_rows is None else args.catalog_rows
            if not 0 <= rows <= 10_000:
                raise InputError(f"--catalog-rows must be between 0 and 10000, got {rows}")
            products = data.distill_products(args.objective, data.distill_pool(args.catalog, rows), args.per_objective)
            seed = data.SHIPPED_OBJECTIVES.index(args.objective) if args.objective in data.SHIPPED_OBJECTIVES else 0
            generator, weights = _distill_generator(args, None if args.on == "copywriter" else get_loaded_model(settings))
            examples = data.distill(args.objective, products, generator, n_candidates=args.candidates, keep=4,
                                    seed=seed, adapter_weights=weights, on_copywriter=args.on == "copywriter",
                                    progress=lambda i, n, m: progress_line(f"distilling {i}/{n}: {m}"))  # fmt: skip
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                data.save_examples(examples, cache)
        # Name only our own catalog's products in the shipped metadata; the shared
        # catalog's rows are counted, not copied into the repository.
        own = {p.name for p in data.load_training_catalog()}
        used = {e.product for e in examples}
        info = {"source": "self-distillation", "n": len(examples), "products": sorted(used & own),
                "shared_catalog_products": len(used - own),
                "mean_score": round(sum(e.score for e in examples) / max(1, len(examples)), 4)}  # fmt: skip
        if args.sample_with:
            info["sampled_with"] = Path(args.sample_with).name
        return examples, info
    path = Path(src)
    if path.suffix.lower() != ".csv":
        raise InputError(f"--from must be 'favourites', 'distill' or a .csv file, got {src!r}")
    from copy_engine.store.db import open_db

    db = open_db(settings.db_path) if settings.db_path.exists() else None
    examples = data.examples_from_csv(path, db, on_copywriter=args.on == "copywriter")
    return examples, {"source": f"csv:{path.name}", "n": len(examples)}


def run(args: argparse.Namespace) -> int:
    from copy_engine.adapters.requests import check_training_request
    from copy_engine.adapters.train import AdapterTrainConfig, train_adapter
    from copy_engine.errors import InputError
    from copy_engine.settings import get_settings

    check_training_request(args.name, args.objective, args.steps, args.batch_size, args.rank, user_folder=not args.out)
    from copy_engine.adapters.registry import copywriter_fits
    from copy_engine.model import get_loaded_model

    settings = get_settings()
    loaded = get_loaded_model(settings)
    fits = copywriter_fits(loaded.model)
    if args.on == "auto":  # the pipeline the app writes with
        args.on = "copywriter" if fits and not args.sample_with else "base"
    if args.on == "copywriter":
        if not fits:
            raise InputError("--on copywriter needs the copywriter fine-tune (copy_engine/adapters/shipped/copywriter.*) "
                             "made for the configured model")  # fmt: skip
        if args.sample_with:
            raise InputError("--sample-with is not supported with --on copywriter")
    out_dir = Path(args.out) if args.out else settings.adapters_dir
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)
    examples, info = _examples(args, settings, say)
    cfg = AdapterTrainConfig(name=args.name, objective=args.objective, steps=args.steps, batch_size=args.batch_size,
                             lr=args.lr, r=args.rank, alpha=2.0 * args.rank, seed=args.seed)  # fmt: skip
    if args.kl is not None:
        if not 0.0 <= args.kl <= 100.0:
            raise InputError(f"--kl must be between 0 and 100, got {args.kl}")
        cfg.loss_weights = dataclasses.replace(cfg.weights(), kl=args.kl)

    from copy_engine.adapters.losses import TERMS

    def progress(rec: dict) -> None:
        terms = " ".join(f"{k}={rec[k]:.3f}" for k in TERMS)
        val = f" val={rec['val_loss']:.3f}" if "val_loss" in rec else ""
        say(f"step {rec['step']}/{rec['steps']} loss={rec['loss']:.3f} ({terms}){val} lr={rec['lr']:.2e} eta {rec['eta_s']:.0f}s")

    result = train_adapter(loaded, examples, cfg, out_dir / f"{args.name}.safetensors", progress=progress,
                           data_info=info, on_copywriter=args.on == "copywriter")  # fmt: skip
    print(f"saved {result.path} ({result.steps_done} steps, best step {result.best_step}, "
          f"stopped: {result.stopped}, {result.seconds:.0f}s, {len(examples)} examples)")  # fmt: skip
    return 0

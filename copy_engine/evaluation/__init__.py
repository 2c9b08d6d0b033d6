"""Offline evaluation: how much each part of the pipeline (reranking, adapters, post-processing) helps.

`run.evaluate` samples products from a catalog CSV (stratified by top-level
category), generates copy with each configuration under the same seeds,
measures every variant set (metrics.py), puts bootstrap intervals on the
differences against the baseline (bootstrap.py), sweeps the creativity slider
to draw the creativity-conversion trade-off and find its elbow (sweep.py), and
writes summary.json, report.md, tradeoff.png and per-category CSVs (report.py).
"""

"""scripts/train_preference.py: what a round's metadata says about the adapter it started from."""

import json
from pathlib import Path

import scripts.train_preference as script

ROOT = Path(__file__).resolve().parents[1]


def test_continued_from_keeps_the_start_adapters_whole_line():
    # a round that later replaces its start's file (a second social round) must still name what that file held
    path = ROOT / "copy_engine" / "adapters" / "shipped" / "preference-2.safetensors"
    start = json.loads(path.with_suffix(".json").read_text())
    got = script.continued_from(path, start)
    assert got["adapter"] == "copy_engine/adapters/shipped/preference-2.safetensors"  # in-repo, not this machine's
    assert got["name"] == "preference-2" and got["best_step"] == start["training"]["best_step"]
    assert got["label_files"] == ["copy_engine/examples/preference/labels.jsonl"]
    assert got["continued_from"]["adapter"] == "copy_engine/adapters/shipped/preference.safetensors"


def test_continued_from_a_start_without_training_data(tmp_path):
    start = {"name": "old", "training": {"best_step": 5, "seconds": 1.0}}
    got = script.continued_from(tmp_path / "old.safetensors", start)
    assert got["adapter"] == str((tmp_path / "old.safetensors").resolve())  # outside the repository: as given
    assert got["label_files"] is None and got["continued_from"] is None and got["best_step"] == 5

"""`python -m copy_engine generate`: output shape and clear errors (exit 2, one line, no traceback)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copy_engine.cli import main

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, data, name="p.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(p)


def test_json_output_shape(tmp_path, fake_engine, capsys):
    f = write(tmp_path, {"name": "Trail Bottle", "brand": "Hydra", "features": ["Leak-proof lid"], "colour": "ignored"})
    rc = main(["generate", "--product", f, "--channel", "ad_headline", "--n", "3", "--sentiment", "0.5",
               "--creativity", "0.7", "--cta", "0.8", "--seed", "1", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["variants"]) == 3
    for v in out["variants"]:
        assert v["channel"] == "ad_headline" and len(v["text"]) <= 30 and "overall" in v["scores"]
    s = out["settings"]
    assert {"model", "device", "decoding", "adapters", "seed"} <= set(s) and s["seed"] == 1


def test_table_output(tmp_path, fake_engine, capsys):
    f = write(tmp_path, {"name": "Trail Bottle"})
    assert main(["generate", "--product", f, "--n", "2", "--format", "table"]) == 0
    assert "1. " in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--product", "/nope.json"], "not found"),
        (["--product", "{bad}"], "not valid JSON"),
        (["--product", "{noname}"], "no name"),
        (["--product", "{ok}", "--channel", "billboard"], "unknown channel"),
        (["--product", "{ok}", "--sentiment", "3"], "sentiment must be between"),
        (["--product", "{ok}", "--cta", "-1"], "cta must be between"),
        (["--product", "{ok}", "--n", "20"], "between 1 and 8"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    files = {"{bad}": write(tmp_path, "{not json", "bad.json"), "{noname}": write(tmp_path, {"brand": "X"}, "nn.json"),
             "{ok}": write(tmp_path, {"name": "Tea"}, "ok.json")}
    argv = [files.get(a, a) for a in args]
    r = subprocess.run([sys.executable, "-m", "copy_engine", "generate", *argv], cwd=ROOT, capture_output=True, text=True,
                       env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "COPYLAB_HOME": str(tmp_path / "h")})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


def test_unloadable_model_path_exits_2(tmp_path):
    f = write(tmp_path, {"name": "Tea"})
    r = subprocess.run([sys.executable, "-m", "copy_engine", "generate", "--product", f], cwd=ROOT, capture_output=True,
                       text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "COPYLAB_HOME": str(tmp_path / "h"),
                                       "COPYLAB_MODEL": str(tmp_path / "no-such-model")})
    assert r.returncode == 2 and "could not load model" in r.stderr and "Traceback" not in r.stderr

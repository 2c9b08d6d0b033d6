"""Generator backends: the Protocol, COPYLAB_BACKEND, LoRA -> GGUF, the llama.cpp request, and (real_model)
llama.cpp vs transformers equivalence, reproducibility and the team server over real HTTP."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import socket
import statistics
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from copy_engine.controls import AdapterWeights, Controls, DecodingParams, map_controls
from copy_engine.errors import InputError, ModelLoadError
from copy_engine.generator import LocalGenerator, TextGenerator
from copy_engine.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "copy_engine" / "adapters" / "shipped"
PROTOCOL_MEMBERS = ("name", "device", "dtype", "backend", "adapter_names", "always_on", "max_concurrency",
                    "complete", "complete_scored", "count_new_tokens", "has_base_model", "base_model", "fingerprint")  # fmt: skip


# ------------------------------------------------------------- Protocol and settings


def test_protocol_declares_what_callers_use():
    declared = set(TextGenerator.__annotations__) | {n for n, _ in inspect.getmembers(TextGenerator, inspect.isfunction)}
    assert set(PROTOCOL_MEMBERS) <= declared


def test_no_getattr_probing_of_generators():
    """Callers use the Protocol: no getattr(generator, ...) / adapter_mixer / .loaded / private-lock probing left."""
    callers = [ROOT / "app.py", ROOT / "copy_engine" / "bulk.py", *ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py")]
    for rel in ("copy_engine/evaluation/run.py", "copy_engine/adapters/data.py", "copy_engine/adapters/evaluate.py",
                "copy_engine/generate.py", "copy_engine/commands/evaluate_adapters.py"):  # fmt: skip
        callers.append(ROOT / rel)
    for path in callers:
        src = path.read_text()
        for probe in ("getattr(generator", "hasattr(generator", "adapter_mixer", "generator.loaded", "._lock"):
            assert probe not in src, f"{path.relative_to(ROOT)}: {probe}"


@pytest.mark.parametrize("cls_path", ["conftest:FakeGenerator", "copy_engine.generator:LocalGenerator",
                                      "copy_engine.backends.llamacpp:LlamaCppGenerator",
                                      "copy_engine.backends.remote:RemoteGenerator"])  # fmt: skip
def test_every_backend_has_every_protocol_method(cls_path):
    import importlib

    mod, name = cls_path.split(":")
    cls = getattr(importlib.import_module(mod), name)
    for m in ("complete", "complete_scored", "count_new_tokens", "has_base_model", "base_model", "fingerprint"):
        assert callable(getattr(cls, m, None)), f"{name}.{m}"


def test_fake_generator_satisfies_protocol(fake_generator):
    for member in PROTOCOL_MEMBERS:
        assert hasattr(fake_generator, member), member
    assert isinstance(fake_generator, TextGenerator)
    with fake_generator.base_model() as base:
        assert base is None


class _RecordingMixer:
    """An adapter mixer that records what it was set to."""

    names = ["tone", "cta"]

    def __init__(self):
        self.calls = []

    def apply(self, weights):
        self.calls.append(("apply", weights))

    def apply_named(self, scales):
        if set(scales) - set(self.names):
            raise ModelLoadError("no adapter loaded named x")
        self.calls.append(("named", dict(scales)))


def _local_generator(mixer):
    loaded = type("Loaded", (), {"name": "tiny", "device": "cpu", "dtype": "float32", "always_on": ()})()
    return LocalGenerator(loaded, mixer)


def test_base_model_switches_adapters_off_under_the_generators_lock():
    """One way to the bare base model: adapters off, the generation lock held, adapters off again afterwards."""
    mixer = _RecordingMixer()
    gen = _local_generator(mixer)
    assert isinstance(gen, TextGenerator)

    def other_request():
        with gen.adapters_at({"cta": 1.0}):
            pass

    with gen.base_model() as base:
        assert base is gen.loaded and mixer.calls == [("named", {})]
        blocked = threading.Thread(target=other_request)
        blocked.start()
        blocked.join(0.2)
        assert blocked.is_alive()  # anything else that sets the adapters waits for the block to end
        mixer.calls.append(("still inside", None))
    blocked.join(5)
    assert not blocked.is_alive()
    assert mixer.calls == [
        ("named", {}), ("still inside", None), ("apply", None), ("named", {"cta": 1.0}), ("apply", None)
    ]
    with gen.adapters_at({"tone": 0.5}):
        assert mixer.calls[-1] == ("named", {"tone": 0.5})
    assert mixer.calls[-1] == ("apply", None)
    with pytest.raises(ModelLoadError):
        with gen.adapters_at({"x": 1.0}):
            pass
    with _local_generator(None).base_model() as base:  # no adapters: the model as loaded
        assert base.name == "tiny"
    with pytest.raises(ModelLoadError, match="no adapters"):
        with _local_generator(None).adapters_at({"tone": 1.0}):
            pass


@pytest.mark.parametrize("value,kind", [("auto", None), ("llamacpp", "llamacpp"), ("TRANSFORMERS", "transformers"),
                                        ("http://127.0.0.1:8080/", "http"), ("https://gpu-box.example:443", "http")])  # fmt: skip
def test_backend_setting(value, kind):
    s = Settings.from_env({"COPYLAB_BACKEND": value, "COPYLAB_DEVICE": "cpu"})
    assert s.backend_kind == (kind or "llamacpp")  # auto on a CPU is llama.cpp
    if kind == "http":
        assert not s.backend.endswith("/")


def test_auto_backend_uses_transformers_for_other_models_and_cuda():
    assert Settings.from_env({"COPYLAB_MODEL": "/models/my-hf-model"}).backend_kind == "transformers"
    assert Settings.from_env({"COPYLAB_DEVICE": "cuda"}).backend_kind == "transformers"


@pytest.mark.parametrize("env", [{"COPYLAB_BACKEND": "vllm"}, {"COPYLAB_BACKEND": "ftp://x:1"}, {"COPYLAB_THREADS": "-2"}])
def test_bad_backend_settings_are_input_errors(env):
    with pytest.raises(InputError):
        Settings.from_env(env)


# ------------------------------------------------------------- llama.cpp request


def test_completion_body_maps_decoding_and_sends_every_adapter_scale():
    from copy_engine.backends.llamacpp import LlamaCppBase, completion_body, llama_seed

    base = LlamaCppBase(Settings.from_env({}), {"tone": 0, "calm": 1, "cta": 2, "creative": 3, "copywriter": 4}, ["copywriter"])
    assert base.adapter_names == ("tone", "calm", "cta", "creative") and base.always_on == ("copywriter",)
    lora = base.lora_scales(AdapterWeights(tone=-0.5, creative=0.25, cta=0.0))
    # every adapter, zeros included (llama.cpp would run an omitted one at its load scale); calm carries negative tone
    assert lora == [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.5}, {"id": 2, "scale": 0.0},
                    {"id": 3, "scale": 0.25}, {"id": 4, "scale": 1.0}]  # fmt: skip
    assert [d["scale"] for d in base.lora_scales(None)] == [0.0, 0.0, 0.0, 0.0, 1.0]  # always-on stays on
    d = DecodingParams(temperature=0.8, top_p=0.9, top_k=40, repetition_penalty=1.2, no_repeat_ngram_size=3, max_new_tokens=16)
    body = completion_body("Copy:", 12, d, 3, lora)
    assert body["n"] == 12 and body["max_tokens"] == 16 and body["stop"] == ["\n"]
    assert (body["temperature"], body["top_k"], body["top_p"]) == (0.8, 40, 0.9)
    assert body["min_p"] == 0.0 and body["samplers"] == ["top_k", "temperature", "top_p"]
    # No repetition penalty of any kind, however long the copy: llama.cpp feeds the prompt through its samplers,
    # so their windows would start on the product's facts; they are sent switched off so that a team server's
    # own defaults cannot turn them on.
    long = completion_body("Copy:", 4, dataclasses.replace(d, max_new_tokens=80), 3, lora)
    for b in (body, long):
        assert (b["repeat_penalty"], b["repeat_last_n"], b["frequency_penalty"], b["presence_penalty"]) == (1.0, 0, 0.0, 0.0)
        assert b["dry_multiplier"] == 0.0 and "penalties" not in b["samplers"] and "dry" not in b["samplers"]
    assert body["lora"] is lora and body["seed"] == llama_seed(3)
    # each drawn token's probability after the samplers (free; the raw-logit one sorts the vocabulary per token)
    assert body["n_probs"] == 1 and body["post_sampling_probs"] is True
    # llama.cpp seeds the i-th sample with seed + i: consecutive request seeds must not overlap
    assert abs(llama_seed(1) - llama_seed(0)) > 1000 and llama_seed(0) != 0xFFFFFFFF
    with pytest.raises(ModelLoadError):
        base.named_lora({"nope": 1.0})


# ------------------------------------------------------------- LoRA -> GGUF


def test_lora_gguf_has_llama_cpp_metadata_and_tensor_names(tmp_path):
    import gguf
    import torch
    from safetensors.torch import load_file

    from copy_engine.adapters.gguf_lora import convert_lora, gguf_tensor_name

    assert gguf_tensor_name("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight", 18) == "blk.3.attn_q.weight.lora_a"
    assert gguf_tensor_name("base_model.model.model.layers.17.self_attn.o_proj.lora_B.weight", 18) == "blk.17.attn_output.weight.lora_b"
    out = convert_lora(SHIPPED / "cta.safetensors", tmp_path / "cta.gguf")
    r = gguf.GGUFReader(str(out))

    def field(key):
        f = r.get_field(key)
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else float(v[0])

    meta = json.loads((SHIPPED / "cta.json").read_text())
    assert field("general.architecture") == "gemma3"
    assert field("general.type") == "adapter" and field("adapter.type") == "lora"
    assert field("adapter.lora.alpha") == pytest.approx(meta["lora"]["alpha"])
    src = load_file(str(SHIPPED / "cta.safetensors"))
    tensors = {t.name: t for t in r.tensors}
    assert len(tensors) == len(src)
    a = tensors["blk.0.attn_q.weight.lora_a"]
    assert list(a.shape) == [640, meta["lora"]["r"]]  # ggml order (ne0 = in): peft's (r, in) matrix
    raw = src["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]
    back = torch.from_numpy(a.data.copy()).reshape(raw.shape)
    assert back.dtype == torch.float32 and torch.equal(back, raw.float())  # bf16 -> F32 is exact


def test_shipped_gguf_is_current_and_conversions_are_cached_by_content(tmp_path):
    import shutil

    from copy_engine.adapters.gguf_lora import gguf_for

    shipped = sorted(p.stem for p in SHIPPED.glob("*.safetensors"))
    assert {"tone", "copywriter", "best-of", "preference", "preference-2", "preference-social",
            "preference-ad", "preference-headline", "preference-ad-headline"} <= set(shipped)
    for name in shipped:
        assert gguf_for(SHIPPED / f"{name}.safetensors", tmp_path) == SHIPPED / f"{name}.gguf"  # shipped, not reconverted
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(SHIPPED / "tone.safetensors", mine / "x.safetensors")
    meta = json.loads((SHIPPED / "tone.json").read_text())
    meta["name"] = "x"
    (mine / "x.json").write_text(json.dumps(meta))
    first = gguf_for(mine / "x.safetensors", tmp_path / "cache")
    assert first.parent == tmp_path / "cache" / "lora" and first.is_file()
    assert gguf_for(mine / "x.safetensors", tmp_path / "cache") == first
    data = bytearray((mine / "x.safetensors").read_bytes())
    data[-1] ^= 1  # retrained: new content, new conversion
    (mine / "x.safetensors").write_bytes(bytes(data))
    assert gguf_for(mine / "x.safetensors", tmp_path / "cache") != first


def test_always_on_adapter_found_by_flag_and_copywriter_mixed_per_request(tmp_path, monkeypatch, tmp_home):
    import shutil

    from copy_engine.adapters import mixing, registry
    from copy_engine.controls import AdapterWeights

    shipped = tmp_path / "shipped"
    shutil.copytree(SHIPPED, shipped)
    meta = json.loads((shipped / "cta.json").read_text())
    meta["name"], meta["always_on"] = "house", True
    shutil.copy(shipped / "cta.safetensors", shipped / "house.safetensors")
    (shipped / "house.json").write_text(json.dumps(meta))
    monkeypatch.setattr(registry, "SHIPPED_DIR", shipped)
    mixed, always = mixing.adapter_files()
    assert list(always) == ["house"] and "house" not in mixed
    # The copywriter is switched per request (the few-shot pipeline runs with it off in the same process).
    assert list(mixed) == ["tone", "calm", "cta", "creative", "copywriter", "copywriter-cta", "best-of", "preference",
                           "preference-2", "preference-social", "preference-ad", "preference-headline",
                           "preference-ad-headline"]
    names = list(mixed)
    assert mixing.slider_scales(names, AdapterWeights(0, 0, 0, copywriter=1.0))["copywriter"] == 1.0
    assert mixing.slider_scales(names, AdapterWeights(0.5, 0, 0))["copywriter"] == 0.0


# ------------------------------------------------------------- team server errors (no model needed)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_team_server_down_is_a_clear_error():
    from copy_engine.backends.remote import RemoteGenerator

    port = _free_port()  # nothing listens there
    with pytest.raises(ModelLoadError, match=r"not reachable at http://127.0.0.1:\d+"):
        RemoteGenerator(f"http://127.0.0.1:{port}", Settings.from_env({}))


def test_team_server_that_never_answers_times_out_with_a_clear_error(monkeypatch):
    from copy_engine.backends import remote

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)  # accepts connections, never answers
    monkeypatch.setattr(remote, "CONNECT_TIMEOUT_S", 0.5)
    try:
        with pytest.raises(ModelLoadError, match="did not answer /health within 0.5 s"):
            remote.RemoteGenerator(f"http://127.0.0.1:{srv.getsockname()[1]}", Settings.from_env({}))
    finally:
        srv.close()


def test_cli_with_server_down_exits_2_without_traceback(tmp_path):
    prod = tmp_path / "p.json"
    prod.write_text(json.dumps({"name": "Trail Bottle", "features": ["Leak-proof lid"]}))
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "COPYLAB_HOME": str(tmp_path / "home"),
           "COPYLAB_BACKEND": f"http://127.0.0.1:{_free_port()}"}  # fmt: skip
    r = subprocess.run([sys.executable, "-m", "copy_engine", "generate", "--product", str(prod), "--channel", "headline"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "llama.cpp server" in r.stderr and "not reachable" in r.stderr


# ------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def llamacpp(real_settings):
    from copy_engine.generator import get_default_generator

    return get_default_generator(dataclasses.replace(real_settings, backend="llamacpp"))


@pytest.mark.real_model
def test_llamacpp_loads_every_adapter_and_reproduces_with_a_seed(llamacpp):
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.product import Product

    assert llamacpp.backend == "llamacpp"
    assert set(llamacpp.adapter_names) >= {"tone", "calm", "cta", "creative"}
    product = Product(name="Organic Green Tea, 20 Pyramid Bags", brand="Leafwell", features=["USDA certified organic"])
    controls = Controls(0.5, 0.5, 0.7)
    a = generate(product, "ad_headline", controls, GenerateOptions(n=4, seed=5), generator=llamacpp)
    b = generate(product, "ad_headline", controls, GenerateOptions(n=4, seed=5), generator=llamacpp)
    assert [v.text for v in a.variants] == [v.text for v in b.variants]  # repeat: answered from memory
    # Not from memory: after another product the slots hold only the shared few-shot head, as in a
    # fresh process, and the same seed gives the same copy again.
    other = Product(name="Merino Wool Hiking Socks, 3 Pairs", brand="Trailborn", features=["Cushioned sole"])
    generate(other, "ad_headline", controls, GenerateOptions(n=4, seed=5), generator=llamacpp)
    llamacpp._answers.clear()
    c = generate(product, "ad_headline", controls, GenerateOptions(n=4, seed=5), generator=llamacpp)
    assert [v.text for v in c.variants] == [v.text for v in a.variants]
    assert a.settings.backend == "llamacpp" and len(a.variants) == 4
    d = map_controls(controls, "ad_headline").decoding
    outs = llamacpp.complete("Product: Leafwell green tea\nHeadline:", 6, d, seed=1, adapter_weights=None)
    assert len(outs) == 6 and all("\n" not in t.rstrip("\n") for t in outs)  # one line each
    assert llamacpp.count_new_tokens(outs) > 0
    scored = llamacpp.complete_scored("Product: Leafwell green tea\nHeadline:", 6, d, seed=1, adapter_weights=None)
    assert [s.text for s in scored] == outs  # the same samples, with the sampler's confidence in each
    lines = [s for s in scored if s.text.strip()]  # (a sample that stopped at once has no token of its own: None)
    assert all(0.0 < s.confidence <= 1.0 for s in lines) and len({round(s.confidence, 6) for s in lines}) > 1
    assert all(0.0 < v.scores["confidence"] <= 1.0 for v in a.variants)


def _copy_tokens(tokenizer):
    from copy_engine.product import Product
    from copy_engine.prompts import build_prompt

    product = Product(name="Merino Wool Hiking Socks, 3 Pairs", brand="Trailborn", category="Sports & Outdoors | Socks",
                      features=["Cushioned sole", "Moisture-wicking merino", "Reinforced heel and toe"], price="$29.99")  # fmt: skip
    prefix = build_prompt(product, "headline", Controls(0.0, 0.5, 0.5))
    text = "Warm, dry feet on every trail: merino socks that go the distance. Shop the 3-pack today."
    ids = tokenizer(prefix + " " + text).input_ids
    return ids, len(tokenizer(prefix).input_ids)


@pytest.mark.real_model
def test_llamacpp_and_transformers_agree_on_mixed_adapters(llamacpp, real_settings):
    """Mean per-token log-prob of a fixed copy line under tone 0.35, cta 0.25, creative 0.5: transformers+peft and
    llama.cpp (Q4_K_M GGUF + LoRA GGUF) within 0.05 nats/token, and both clearly away from the unmixed base.
    Measured (README; Q8_0 keys in llama.cpp's cache): base gap 0.019, mix gap 0.008, mix - base -0.26 vs -0.28."""
    import torch

    from copy_engine.generator import get_transformers_generator

    hf = get_transformers_generator(real_settings)
    ids, start = _copy_tokens(hf.loaded.tokenizer)
    mix = {"tone": 0.35, "cta": 0.25, "creative": 0.5}

    def hf_mean(scales):
        with (hf.adapters_at(scales) if scales else hf.base_model()) as loaded, torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([ids], device=hf.device)).logits[0].float()
        lp = torch.log_softmax(logits, -1)
        return sum(float(lp[i - 1, ids[i]]) for i in range(start, len(ids))) / (len(ids) - start)

    def lc_mean(scales):
        lps = llamacpp.token_logprobs(ids, start, scales)
        return sum(lps) / len(lps)

    hf_base, hf_mix = hf_mean({}), hf_mean(mix)
    lc_base, lc_mix = lc_mean({}), lc_mean(mix)
    assert abs(hf_base - lc_base) < 0.05  # quantization alone (Q4_K_M vs its dequantized copy) is small here
    assert abs(hf_mix - lc_mix) < 0.05
    assert abs(hf_mix - hf_base) > 0.1 and abs(lc_mix - lc_base) > 0.1
    assert (hf_mix - hf_base) * (lc_mix - lc_base) > 0  # the mix moves both the same way


@pytest.mark.real_model
def test_transformers_sampler_reports_its_confidence_like_llamacpp(llamacpp, real_settings):
    """Both backends report the probability their samplers gave each drawn token (after top-k, temperature and
    top-p): the same kind of number, so the reranker can use it whichever backend sampled."""
    from copy_engine.generator import get_transformers_generator

    hf = get_transformers_generator(real_settings)
    # the same samplers on both: llama.cpp runs no repetition penalty (backends/llamacpp.py SAMPLERS)
    d = dataclasses.replace(map_controls(Controls(), "headline").decoding, repetition_penalty=1.0, no_repeat_ngram_size=0)
    prompt = "Product: Leafwell green tea, 20 pyramid bags\nHeadline:"
    scored = hf.complete_scored(prompt, 6, d, seed=3)
    assert [s.text for s in scored] == hf.complete(prompt, 6, d, seed=3)
    lc = llamacpp.complete_scored(prompt, 6, d, seed=3)
    for samples in (scored, lc):  # (a sample that stopped at once has no token of its own: None)
        assert all(0.0 < s.confidence <= 1.0 for s in samples if s.text.strip())
    # same model, same samplers: their typical confidence is alike (measured here: medians within 0.1)
    med = lambda xs: statistics.median(s.confidence for s in xs if s.confidence)  # noqa: E731
    assert abs(med(scored) - med(lc)) < 0.25


@pytest.mark.real_model
def test_team_server_over_real_http(llamacpp, real_settings):
    """The in-process llama.cpp server also listens on 127.0.0.1 (llama.cpp's own HTTP server): the HTTP backend
    finds the adapters by name from GET /lora-adapters and gets the same samples as in-process for the same seed."""
    from copy_engine.backends.remote import RemoteGenerator

    assert llamacpp.url.startswith("http://127.0.0.1:")
    remote = RemoteGenerator(llamacpp.url, real_settings)
    assert remote.backend == "http"
    assert set(remote.adapter_names) == set(llamacpp.adapter_names)
    d = map_controls(Controls(0.5, 0.5, 0.7), "ad_headline").decoding
    w = AdapterWeights(tone=0.5, creative=0.25, cta=0.5)
    prompt = "Product: Trailborn merino hiking socks\nHeadline:"
    local = llamacpp.complete(prompt, 4, d, seed=9, adapter_weights=w)
    over_http = remote.complete(prompt, 4, d, seed=9, adapter_weights=w)
    assert len(over_http) == 4 and over_http == local
    assert remote.count_new_tokens(over_http) == llamacpp.count_new_tokens(local)


def test_cpu_dtype_follows_whether_the_cpu_runs_bf16_natively(monkeypatch):
    """bf16 only where it is fast: an AVX2-only CPU multiplies bf16 ~200x slower than fp32 (model.cpu_bf16_is_fast)."""
    import torch

    from copy_engine import model

    monkeypatch.delenv("COPYLAB_DTYPE", raising=False)
    monkeypatch.setattr(model, "cpu_bf16_is_fast", lambda: False)
    assert model.pick_dtype("cpu") is torch.float32
    assert model.pick_dtype("cuda") is torch.bfloat16  # the probe is about CPUs
    monkeypatch.setattr(model, "cpu_bf16_is_fast", lambda: True)
    assert model.pick_dtype("cpu") is torch.bfloat16
    assert model.pick_dtype("mps") is torch.float32
    monkeypatch.setenv("COPYLAB_DTYPE", "float32")  # the override wins over the probe
    assert model.pick_dtype("cpu") is torch.float32


def test_the_bf16_answer_agrees_with_a_timed_product_on_this_cpu():
    """Whatever kind of CPU runs the suite, the flags' answer matches a measured bf16/fp32 product here."""
    from copy_engine.model import bf16_matmul_ratio, cpu_bf16_is_fast

    ratio = bf16_matmul_ratio(256)
    if 1.2 < ratio < 4.0:
        pytest.skip(f"bf16/fp32 ratio {ratio:.1f}: neither clearly native nor clearly emulated on this CPU")
    assert cpu_bf16_is_fast() == (ratio <= 1.2), ratio

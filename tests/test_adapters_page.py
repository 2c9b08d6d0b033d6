"""AppTest smoke test of the Adapters page, with the language model faked by a tiny random Gemma 3."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("peft")
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
JOB = "adapter_training_job"


@pytest.fixture
def tiny_model(tmp_home, monkeypatch):
    """get_loaded_model and the fp32 training copy both return a tiny model."""
    from test_adapters import make_tiny
    from transformers import Gemma3ForCausalLM

    from copy_engine import model
    from copy_engine.adapters import lora_run

    loaded, cfg = make_tiny()

    def fresh(*a, **k):
        m = Gemma3ForCausalLM(cfg)
        m.load_state_dict(loaded.model.state_dict())
        return m

    monkeypatch.setattr(model, "get_loaded_model", lambda *a, **k: loaded)
    monkeypatch.setattr(lora_run, "load_training_base", fresh)
    st.cache_resource.clear()
    yield loaded
    st.cache_resource.clear()


def _approve_favourites(n: int) -> None:
    from copy_engine.store import open_db
    from copy_engine.store.favourites import save_favourite, set_status
    from copy_engine.store.products import add_product

    db = open_db()
    p = add_product(db, {"name": "Oat Milk Barista 1 L", "brand": "Morning Field", "features": ["Foams for latte art"]})
    for i in range(n):
        fid = save_favourite(db, p.id, "headline", f"Oat milk that foams like a dream, take {i}", {}, {})
        set_status(db, fid, "approved")


def test_adapters_page_lists_trains_and_sets_default(tiny_model):
    at = AppTest.from_file(str(ROOT / "pages" / "4_Adapters.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]

    # too few approved favourites: a clear message, no job
    at.text_input(key="train_name").set_value("house-voice")
    submit = next(b for b in at.get("form_submit_button") if b.label == "Start training")
    at = submit.click().run()
    assert any("approve at least" in e.value for e in at.error)
    assert JOB not in at.session_state

    _approve_favourites(6)
    at.slider(key="train_steps").set_value(5)
    at = next(b for b in at.get("form_submit_button") if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state[JOB]
    job.join(120)
    assert job.status == "done", job.error
    assert [r["step"] for r in job.records] == [1, 2, 3, 4, 5]
    at = at.run()
    assert any("Trained" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert "house-voice" in set(table["name"])

    at.selectbox(key="default_pick").set_value("house-voice")
    at = at.button(key="save_default").click().run()
    from copy_engine.adapters.registry import default_adapter

    assert default_adapter() == "house-voice"


@pytest.mark.parametrize(
    "name, message",
    [("calm", "'calm' is the name of a shipped adapter"), ("Bad Name", "adapter name must be 1-40 lower-case")],
)
def test_adapters_page_refuses_what_the_train_adapter_command_refuses(tmp_home, capsys, name, message):
    """The page and `train-adapter` share one check; `calm` is offered as an objective (and not a free name)."""
    from copy_engine.cli import main

    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "4_Adapters.py"), default_timeout=60).run()
    assert "calm" in at.selectbox(key="train_objective").options
    assert at.selectbox(key="train_objective").value == "brand"
    at.text_input(key="train_name").set_value(name)
    at = next(b for b in at.get("form_submit_button") if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]  # unescaped
    assert JOB not in at.session_state

    assert main(["train-adapter", "--name", name, "--objective", "calm", "--from", "favourites"]) == 2
    assert message in capsys.readouterr().err

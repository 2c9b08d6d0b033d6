"""Adapters: the LoRA adapters behind the sliders, their measured effect, and training your own."""

import pandas as pd
import streamlit as st

from copy_engine.adapters.losses import TERMS
from copy_engine.adapters.registry import copywriter_fits, default_adapter, list_adapters, set_default_adapter
from copy_engine.adapters.requests import OBJECTIVES, check_training_request
from ui.db import get_db
from ui.feedback import flash, show_flashes, user_errors
from ui.text import escape_md

st.set_page_config(page_title="CopyLab · Adapters", page_icon="🎛️", layout="wide")
db = get_db()
ss = st.session_state
JOB = "adapter_training_job"

st.title("Adapters")
st.caption(
    "Small LoRA adapters on the language model. The shipped ones follow the sliders (tone and calm for "
    "sentiment, CTA, creativity); "
    "your own, trained on approved favourites, can be made the default voice."
)
show_flashes()


def _effect(m: dict) -> str:
    if not m.get("metric"):
        return "not measured"
    text = f"{m['metric']} {m['off']:.2f} → {m['on']:.2f} ({m['delta']:+.2f})"
    if "neg_delta" in m:
        text += f"; at -1: {m['neg_delta']:+.2f}"
    return text


infos = list_adapters()
current_default = default_adapter()
if infos:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": i.name + (" (default)" if i.name == current_default else ""),
                    "objective": i.objective,
                    "kind": "shipped" if i.shipped else "yours",
                    "measured effect (on vs off)": _effect(i.metrics),
                    "products measured": i.metrics.get("n_products", ""),
                    "base model": i.base_model,
                }
                for i in infos
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.info("No adapters found. The shipped ones are built by `scripts/train_shipped_adapters.sh`.")

mine = [i.name for i in infos if not i.shipped]
if mine:
    st.subheader("Default adapter")
    options = ["(none)"] + mine
    pick = st.selectbox("Apply this adapter to every generation", options, key="default_pick",
                        index=options.index(current_default) if current_default in options else 0)  # fmt: skip
    if st.button("Save default", key="save_default"):
        with user_errors("Could not set the default adapter") as done:
            set_default_adapter(None if pick == "(none)" else pick)
        if done.ok:
            flash("success", "Default adapter saved. It is used after the app restarts the model.")
            st.rerun()

st.subheader("Train an adapter from approved favourites")
job = ss.get(JOB)
running = job is not None and job.status == "running"
with st.form("train_adapter"):
    name = st.text_input("Name", key="train_name", placeholder="e.g. brand-voice")
    objective = st.selectbox("Objective", OBJECTIVES, index=OBJECTIVES.index("brand"), key="train_objective")
    steps = st.slider("Training steps", 5, 200, 40, step=5, key="train_steps",
                      help="About 5-50 seconds a step on a laptop CPU; seconds on a GPU.")  # fmt: skip
    start = st.form_submit_button("Start training", disabled=running)
if start:
    with user_errors("Could not start training") as done:
        from copy_engine.adapters.data import examples_from_favourites
        from copy_engine.adapters.train import MIN_EXAMPLES, AdapterTrainConfig, TrainingJob
        from copy_engine.errors import InputError
        from copy_engine.model import get_loaded_model
        from copy_engine.settings import get_settings

        # The command's checks, with the batch size and rank the page trains with (AdapterTrainConfig's defaults).
        cfg = AdapterTrainConfig(name=check_training_request(name, objective, int(steps)), objective=objective,
                                 steps=int(steps))  # fmt: skip
        # On top of the copywriter fine-tune when it is installed (and fits the model): the pipeline the app writes with.
        loaded = get_loaded_model()
        on_copywriter = copywriter_fits(loaded.model)
        examples = examples_from_favourites(db, on_copywriter=on_copywriter)
        if len(examples) < MIN_EXAMPLES:
            raise InputError(f"approve at least {MIN_EXAMPLES} favourites first (there are {len(examples)})")
        out = get_settings().adapters_dir / f"{cfg.name}.safetensors"
        ss[JOB] = TrainingJob(loaded, examples, cfg, out, {"source": "favourites", "n": len(examples)},
                              on_copywriter=on_copywriter)  # fmt: skip
    if done.ok:
        st.rerun()


@st.fragment(run_every=2)
def _progress() -> None:
    job = ss.get(JOB)
    if job is None:
        return
    last = job.records[-1] if job.records else None
    if job.status == "running":
        if last:
            terms = ", ".join(f"{k} {last[k]:.3f}" for k in TERMS)
            text = f"Step {last['step']}/{last['steps']} · loss {last['loss']:.3f} ({terms}) · ETA {last['eta_s']:.0f} s"
        else:
            text = "Loading the model for training…"
        st.progress(job.fraction, text=text)
        if st.button("Cancel training", key="cancel_training"):
            job.cancel()
            st.info("Cancelling after the current step…")
    elif job.status == "done":
        st.success(f"Trained **{escape_md(job.config.name)}** in {job.result.seconds:.0f} s "
                   f"({job.result.steps_done} steps, best at step {job.result.best_step}).")  # fmt: skip
    elif job.status == "cancelled":
        st.warning("Training cancelled; nothing was saved.")
    else:
        st.error(f"Training failed: {escape_md(job.error)}")
    if job.records:
        st.line_chart(pd.DataFrame(job.records).set_index("step")[["loss", *TERMS]])


_progress()

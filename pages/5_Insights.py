"""Insights: offline evaluation of the pipeline and the creativity–conversion trade-off per category."""

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from copy_engine.channels import CHANNELS
from copy_engine.evaluation.configs import CONFIGS, DEFAULT_CONFIGS
from copy_engine.evaluation.report import (
    category_rows,
    config_rows,
    curve_rows,
    difference_rows,
    evaluations_dir,
    list_reports,
    load_summary,
    recommendation_rows,
)
from copy_engine.evaluation.summary import Summary
from copy_engine.settings import Settings
from ui.feedback import user_errors
from ui.server_files import server_catalog_path
from ui.text import escape_md

st.set_page_config(page_title="CopyLab · Insights", page_icon="📈", layout="wide")
ss = st.session_state
root = evaluations_dir(Settings.from_env().home)

st.title("📈 Insights")
st.caption(
    "How much each part of the pipeline helps (reranking, adapters, post-processing), measured offline on "
    "catalog products, and where more creativity starts to cost clicks in each category."
)


def tradeoff_chart(rows: list[dict]) -> alt.Chart:
    """Predicted CTR against creativity per category; λ in the tooltip, elbows as large stars."""
    df = pd.DataFrame(rows)
    base = alt.Chart(df).encode(
        x=alt.X("creativity:Q", title="creativity (novelty + diversity)", scale=alt.Scale(zero=False)),
        y=alt.Y("predicted_ctr:Q", title="predicted CTR (percentile)", scale=alt.Scale(zero=False)),
        color=alt.Color("category:N", title="category"),
        tooltip=[
            "category",
            alt.Tooltip("lambda:Q", title="λ (creativity slider)"),
            alt.Tooltip("creativity:Q", format=".3f"),
            alt.Tooltip("predicted_ctr:Q", format=".3f"),
            alt.Tooltip("distinct_2:Q", format=".3f"),
            "products",
        ],
    )
    lines = base.mark_line(point=True).encode(order="lambda:Q")  # the path the slider takes
    elbows = base.transform_filter(alt.datum.elbow).mark_point(shape="diamond", size=260, filled=True, stroke="black")
    labels = base.mark_text(dx=8, dy=-8, fontSize=10).encode(text=alt.Text("lambda:Q", format=".2f"))
    return (lines + elbows + labels).properties(height=420).interactive()


def show_report(summary: Summary, folder: Path | None, where: str) -> None:
    """Tables, trade-off curves and recommendations of one evaluation (`where` keeps widget keys unique per tab)."""
    adapters = ", ".join(summary.adapters["loaded"]) or "none loaded"
    products = "?" if summary.complete_products is None else summary.complete_products
    st.markdown(
        f"**{products} products** · channel `{escape_md(summary.channel)}` · "
        f"{summary.n_variants} variants each · seed {summary.seed} · model {escape_md(summary.model['name'])} · "
        f"adapters: {escape_md(adapters)} · {summary.seconds:.0f} s"
    )
    st.subheader("Per configuration")
    st.dataframe(pd.DataFrame(config_rows(summary)), hide_index=True, width="stretch")
    with st.expander("What the configurations are"):
        for name, d in summary.config_definitions.items():
            st.markdown(f"- **{name}**: {escape_md(d.get('description', ''))}")
    if summary.differences:
        st.subheader("Differences against baseline")
        st.caption("Mean difference per product with a 95% bootstrap interval; * = the interval excludes 0.")
        st.dataframe(pd.DataFrame(difference_rows(summary)), hide_index=True, width="stretch")
    cats = category_rows(summary)
    if cats:
        st.subheader("Per category")
        st.dataframe(pd.DataFrame(cats), hide_index=True, width="stretch")
    curves = curve_rows(summary)
    st.subheader("Creativity–conversion trade-off")
    if curves:
        st.caption("Each point is one setting of the creativity slider λ (full pipeline); ◆ marks the elbow (kneedle).")
        st.altair_chart(tradeoff_chart(curves), width="stretch")
        recs = recommendation_rows(summary)
        if recs:
            st.markdown(
                "**Recommended settings per category** (the elbow: more creativity beyond it costs clicks fast)"
            )
            st.dataframe(pd.DataFrame(recs), hide_index=True, width="stretch")
    else:
        st.info("This evaluation ran without the λ sweep.")
    if folder is not None:
        report_md = folder / "report.md"
        png = folder / "tradeoff.png"
        c1, c2 = st.columns(2)
        if report_md.is_file():
            c1.download_button(
                "Download report.md", report_md.read_bytes(), file_name="report.md", key=f"{where}_dl_report"
            )
        if png.is_file():
            c2.download_button(
                "Download tradeoff.png", png.read_bytes(), file_name="tradeoff.png", key=f"{where}_dl_png"
            )


open_tab, run_tab = st.tabs(["Open a report", "Run a small evaluation"])

with run_tab:
    st.caption(
        "Runs every chosen configuration on a few catalog products with the local model. On a laptop CPU count "
        "about half a minute per product and configuration; the command line (`python -m copy_engine evaluate`) runs bigger ones."
    )
    upload = st.file_uploader("Catalog CSV", type=["csv", "tsv", "txt"], key="ins_upload", max_upload_size=20)
    path_text = st.text_input(
        "…or the path of a catalog CSV in COPYLAB_HOME on the server",
        key="ins_path",
        help=f"Only files inside {Settings.from_env().home} can be opened by path; upload any other file.",
    )
    c1, c2, c3 = st.columns(3)
    n_products = c1.number_input("Products", min_value=1, max_value=50, value=5, step=1, key="ins_n")
    channel = c2.selectbox("Channel", list(CHANNELS), format_func=lambda c: CHANNELS[c].label, key="ins_channel")
    sweep_products = c3.number_input(
        "λ sweep products per category (0 = no sweep)", min_value=0, max_value=5, value=1, key="ins_sweep"
    )
    configs = st.multiselect("Configurations", list(CONFIGS), default=list(DEFAULT_CONFIGS), key="ins_configs")
    sentiment_check = st.number_input(
        "Sentiment check products (0 = off)", min_value=0, max_value=20, value=0, key="ins_sent"
    )
    if st.button("Run evaluation", type="primary", key="ins_run"):
        upload_dir = None  # private copy of an upload, removed when the run ends (however it ends)
        with user_errors("Could not run the evaluation") as done:
            from copy_engine.catalog import MAX_BYTES
            from copy_engine.errors import InputError
            from copy_engine.evaluation.run import EvalSettings, evaluate
            from ui.engine import get_ctr_predictor, get_embedder, get_generator

            try:
                if upload is not None:
                    if upload.size > MAX_BYTES:
                        raise InputError(f"the catalog is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                                         f"{MAX_BYTES // 1024 // 1024} MB")  # fmt: skip
                    # A fixed name: the uploaded name is the user's text ('../../x.csv').
                    upload_dir = Path(tempfile.mkdtemp(prefix="copylab-eval-"))
                    tmp = upload_dir / "catalog.csv"
                    tmp.write_bytes(upload.getvalue())
                    catalog = str(tmp)
                elif path_text.strip():
                    catalog = server_catalog_path(path_text, Settings.from_env().home)
                else:
                    raise InputError("upload a catalog CSV or type its path")
                if not configs:
                    raise InputError("choose at least one configuration")
                settings = EvalSettings(
                    catalog=catalog,
                    n_products=int(n_products),
                    configs=tuple(["baseline"] + [c for c in configs if c != "baseline"]),
                    channel=channel,
                    sentiment_check=int(sentiment_check),
                    sweep_products=int(sweep_products),
                )
                settings.validate()
                bar = st.progress(0.0, text="Starting…")
                out = root / datetime.now().strftime("%Y%m%d-%H%M%S")
                k = 2
                while out.exists():  # two runs started in the same second (two tabs) keep their own folders
                    out = root / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{k}"
                    k += 1
                summary = evaluate(
                    settings,
                    out,
                    generator=get_generator(),
                    embedder=get_embedder(),
                    ctr_predictor=get_ctr_predictor(),
                    progress=lambda f, m: bar.progress(min(1.0, max(0.0, f)), text=m),
                )
                ss["ins_last"] = str(out)
                ss["ins_open"] = out.name  # the new report is the one selected under 'Open a report'
            finally:
                if upload_dir is not None:
                    shutil.rmtree(upload_dir, ignore_errors=True)
        if done.ok:
            st.success(f"Evaluation saved in {escape_md(out)}. It is also listed under 'Open a report'.")
            show_report(summary, out, "run")

with open_tab:
    reports = list_reports(root)
    if not reports:
        st.info(
            f"No evaluations yet. Run one in the next tab, or with `python -m copy_engine evaluate --out {root}/NAME`."
        )
    else:
        names = [p.name for p in reports]
        last = Path(ss["ins_last"]).name if ss.get("ins_last") else None
        choice = st.selectbox("Evaluation", names, index=names.index(last) if last in names else 0, key="ins_open")
        folder = root / choice
        with user_errors("Could not open the report") as done:
            summary = load_summary(folder)
        if done.ok:
            show_report(summary, folder, "open")

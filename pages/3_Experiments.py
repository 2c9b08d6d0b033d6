"""Experiments: A/B test approved copy against what runs today, enter results, read the verdict."""

import datetime as dt

import streamlit as st

from copy_engine.channels import CHANNELS
from copy_engine.experiments import analyze, mde, sample_size
from copy_engine.store.experiments import (
    RepeatedResultsError,
    add_results,
    create_experiment,
    get_experiment,
    list_experiments,
    set_experiment_status,
)
from copy_engine.store.favourites import list_favourites
from copy_engine.store.products import list_products
from ui.db import get_db
from ui.experiments import (
    arm_results,
    build_arms,
    control_first,
    editor_frame,
    has_results,
    results_csv,
    rows_from_editor,
    rows_from_results_csv,
    stats_table,
    totals_chart,
    trend_chart,
    typed_variants,
)
from ui.feedback import flash, show_flashes, user_errors
from ui.text import escape_md, short

st.set_page_config(page_title="CopyLab · Experiments", page_icon="🧪", layout="wide")
db = get_db()
ss = st.session_state

st.title("Experiments")
st.caption(
    "Test approved copy against the copy running today. Enter the numbers as they come in; the page says when a winner is clear."
)
show_flashes()

results_tab, new_tab, calculator_tab = st.tabs(["Experiments", "New experiment", "Sample size calculator"])

# ---------------------------------------------------------------- new experiment

with new_tab:
    products = {p.id: p.name for p in list_products(db)}
    if not products:
        st.info("Add a product first (Products page), then generate and approve copy to test.")
    else:
        ids = list(products)
        default = ids.index(ss["current_product_id"]) if ss.get("current_product_id") in ids else 0
        c1, c2 = st.columns(2)
        product_id = c1.selectbox(
            "Product", ids, index=default, format_func=lambda i: short(products[i], 80), key="new_exp_product"
        )
        channel = c2.selectbox(
            "Channel", list(CHANNELS), format_func=lambda c: CHANNELS[c].label, key="new_exp_channel"
        )
        approved = {
            f["id"]: f["text"] for f in list_favourites(db, product_id=product_id, channel=channel, status="approved")
        }
        if not approved:
            st.caption(
                "No approved favourites for this product and channel: type the copy to test, or approve some on the Favourites page."
            )
        options = ["typed", *approved]
        label = lambda o: "Type the current copy" if o == "typed" else f"#{o} · {short(approved[o], 80)}"
        control_choice = st.selectbox(
            "Control (the copy running today)", options, format_func=label, key="new_exp_control"
        )
        if control_choice == "typed":
            control_text = st.text_area("Control copy", key="new_exp_control_text", height=70)
            control = {"text": control_text, "favourite_id": None}
        else:
            control = {"text": approved[control_choice], "favourite_id": control_choice}
        choices = {f"#{i} · {short(approved[i], 80)}": i for i in approved if i != control_choice}
        chosen = [
            choices[label]
            for label in st.multiselect("Approved variants to test", list(choices), key="new_exp_variants")
        ]
        extra = st.text_area("Other variants, one per line (optional)", key="new_exp_typed", height=70)
        name = st.text_input(
            "Experiment name",
            value=f"{short(products[product_id], 40)} · {CHANNELS[channel].label}",
            key="new_exp_name",
        )
        if st.button("Create experiment", type="primary"):
            variants = [{"text": approved[i], "favourite_id": i} for i in chosen] + typed_variants(extra)
            with user_errors("Could not create the experiment") as done:
                new_id = create_experiment(db, name, product_id, channel, build_arms(control, variants))
            if done.ok:
                ss.experiment_select = new_id
                flash(
                    "success",
                    f"Created **{escape_md(name)}**: arm A is the control. Enter results on the Experiments tab.",
                )
                st.rerun()

# ---------------------------------------------------------------- one experiment

with results_tab:
    experiments = {e["id"]: e for e in list_experiments(db)}
    if not experiments:
        st.info("No experiments yet. Create one in the **New experiment** tab from approved favourites or typed copy.")
    else:
        if ss.get("experiment_select") not in experiments:
            ss.experiment_select = next(iter(experiments))
        eid = st.selectbox(
            "Experiment",
            list(experiments),
            format_func=lambda i: (
                f"{short(experiments[i]['name'], 60)} · {experiments[i]['status']} · {short(experiments[i]['product_name'], 40)}"
            ),
            key="experiment_select",
        )
        exp = get_experiment(db, eid)
        st.markdown(
            f"**{escape_md(exp['name'])}** · {CHANNELS[exp['channel']].label} · status **{exp['status']}**"
            + (f" · started {exp['start_date']}" if exp["start_date"] else "")
            + (f" · finished {exp['end_date']}" if exp["end_date"] else "")
        )
        for arm in control_first(exp["arms"]):
            role = "control" if arm["is_control"] else "variant"
            source = f" (favourite #{arm['favourite_id']})" if arm["favourite_id"] else ""
            st.markdown(f"**{escape_md(arm['name'])}** · {role}{source}: {escape_md(arm['text'])}")

        next_status = {"draft": ("▶ Start: mark running", "running"), "running": ("■ Finish", "finished")}.get(
            exp["status"]
        )
        if next_status and st.button(next_status[0]):
            with user_errors("Could not change the status") as done:
                set_experiment_status(db, eid, next_status[1])
            if done.ok:
                st.rerun()

        repeat_key = f"results_repeat_{eid}"

        def saved_text(n: int, source: str | None) -> str:
            """The success message for `n` stored rows, from an upload called `source` or typed in."""
            if source:
                return f"Imported {n} result row(s) from **{escape_md(source)}**."
            return f"Saved {n} result row(s)."

        def save_or_ask(rows: list[dict], source: str | None) -> int | None:
            """Store result rows; a repeat of recorded results is parked to ask replace or add (returns None)."""
            try:
                added = add_results(db, eid, rows)
                ss.pop(repeat_key, None)  # a question left from an earlier upload no longer applies
                return added
            except RepeatedResultsError as exc:
                ss[repeat_key] = {"rows": rows, "message": str(exc), "source": source}
                return None

        entry, upload_col = st.columns(2)
        with entry, st.expander("Enter results by hand", expanded=not has_results(exp)):
            arm_names = [a["name"] for a in control_first(exp["arms"])]
            edited = st.data_editor(
                editor_frame(exp, dt.date.today()),
                num_rows="dynamic",
                hide_index=True,
                key=f"editor_{eid}",
                column_config={
                    "arm": st.column_config.SelectboxColumn("arm", options=arm_names, required=True),
                    "day": st.column_config.DateColumn("day", help="Leave empty for totals without a date"),
                    "impressions": st.column_config.NumberColumn("impressions", min_value=0, step=1),
                    "clicks": st.column_config.NumberColumn("clicks", min_value=0, step=1),
                    "conversions": st.column_config.NumberColumn("conversions", min_value=0, step=1),
                },
            )
            if st.button("Save these results"):
                with user_errors("Could not save the results") as done:
                    added = save_or_ask(rows_from_editor(edited), None)
                if done.ok:
                    if added is not None:
                        flash("success", saved_text(added, None))
                    st.rerun()
        with upload_col, st.expander("Import results from a CSV", expanded=not has_results(exp)):
            st.caption(
                f"Columns: variant ({', '.join(escape_md(n) for n in arm_names)}), impressions, clicks, conversions, optional day (YYYY-MM-DD)."
            )
            upload = st.file_uploader("Results CSV", type=["csv"], key=f"results_upload_{eid}")
            if upload is not None and st.button("Import results", type="primary"):
                with user_errors("Could not import the results") as done:
                    added = save_or_ask(rows_from_results_csv(upload.getvalue()), upload.name)
                if done.ok:
                    if added is not None:
                        flash("success", saved_text(added, upload.name))
                    st.rerun()

        repeat = ss.get(repeat_key)
        if repeat:
            # Results already recorded: counting them again must be the user's choice.
            st.warning(escape_md(repeat["message"]), icon="⚠️")
            replace_col, add_col, cancel_col = st.columns(3)
            choice = None
            if replace_col.button("Replace the recorded numbers", key=f"repeat_replace_{eid}", type="primary"):
                choice = "replace"
            if add_col.button("Add them on top (new traffic)", key=f"repeat_add_{eid}"):
                choice = "add"
            if cancel_col.button("Cancel: keep what is recorded", key=f"repeat_cancel_{eid}"):
                ss.pop(repeat_key, None)
                st.rerun()
            if choice:
                with user_errors("Could not save the results") as done:
                    added = add_results(db, eid, repeat["rows"], on_repeat=choice)
                if done.ok:
                    ss.pop(repeat_key, None)
                    how = " They replace the numbers recorded before." if choice == "replace" else " Added on top."
                    flash("success", saved_text(added, repeat["source"]) + how)
                    st.rerun()

        if not has_results(exp):
            st.info("No results yet. Run the test, then enter impressions, clicks and conversions per arm.")
        else:
            with user_errors("Could not analyse the results") as done:
                report = analyze(arm_results(exp)).to_dict()
            if done.ok:
                st.subheader("Verdict")
                st.info(escape_md(report["verdict"]))
                split = " · ".join(
                    f"{escape_md(arm)} {share:.0%}" for arm, share in report["recommended_split"].items()
                )
                st.markdown(f"**Recommended traffic split for the next period:** {split}")
                st.caption(
                    escape_md(f"{report['methods']['recommended_split']}; P(best) from {report['methods']['bayes']}.")
                )
                st.dataframe(stats_table(report), hide_index=True, width="stretch")
                st.caption(
                    escape_md(
                        f"Rates: {report['methods']['rate_ci']} intervals. Lift: {report['methods']['lift_ci']}. "
                        f"p: {report['methods']['p_value']}, {report['methods']['p_value_holm']}."
                    )
                )
                ctr_col, cvr_col = st.columns(2)
                for column, metric in ((ctr_col, "ctr"), (cvr_col, "cvr")):
                    chart = trend_chart(report["daily"], metric) if report["daily"] else totals_chart(report, metric)
                    column.altair_chart(chart, width="stretch")
            st.download_button(
                "⬇ Download results CSV",
                data=results_csv(exp).encode("utf-8-sig"),
                file_name=f"experiment_{eid}_results.csv",
                mime="text/csv",
            )

# ---------------------------------------------------------------- calculator

with calculator_tab:
    st.markdown(
        "How many visitors each arm needs, or the smallest lift a test of a given size can detect (two-sided test)."
    )
    c1, c2, c3 = st.columns(3)
    baseline = c1.number_input("Control rate today (%)", 0.01, 99.0, 2.0, 0.1, key="calc_baseline") / 100
    alpha = c2.number_input("Significance level α", 0.001, 0.5, 0.05, 0.01, key="calc_alpha")
    power = c3.number_input("Power", 0.5, 0.99, 0.8, 0.05, key="calc_power")
    left, right = st.columns(2)
    with left, st.container(border=True):
        lift = st.number_input("Lift to detect (%)", -90.0, 500.0, 10.0, 1.0, key="calc_lift") / 100
        with user_errors("Cannot compute the sample size") as done:
            n = sample_size(baseline, lift, alpha, power)
        if done.ok:
            st.metric("Visitors per arm", f"{n:,}")
    with right, st.container(border=True):
        visitors = st.number_input("Visitors per arm", 10, 100_000_000, 10_000, 1000, key="calc_visitors")
        with user_errors("Cannot compute the detectable lift") as done:
            smallest = mde(baseline, int(visitors), alpha, power)
        if done.ok:
            st.metric("Smallest detectable lift", f"{smallest:+.1%}")

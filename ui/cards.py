"""Variant cards: the copy with flagged spans highlighted, score badges and explanations.

`variant_card` draws any variant (Draft and Favourites pages); `render_card` adds the Draft page's buttons.
"""

from __future__ import annotations

import streamlit as st

from copy_engine.channels import get_channel
from copy_engine.generate import Variant
from ui import draft as drafts
from ui.draft import Card, Draft
from ui.feedback import flash, guarded, user_errors
from ui.text import escape_md, flag_lines, highlight_flags

# Badges on every card, in this order: (score key, short label).
BADGES = (
    ("overall", "Overall"),
    ("quality", "Usable"),
    ("predicted_ctr", "Predicted CTR"),
    ("cta", "CTA"),
    ("faithfulness", "Faithful"),
    ("novelty", "Novelty"),
    ("tone_match", "Tone"),
)
# Every score with a readable name, for the explanations list.
SCORE_LABELS = {
    "overall": "Overall",
    "conversion": "Conversion",
    "creativity": "Creativity",
    "predicted_ctr": "Predicted CTR (percentile)",
    "quality": "Usable as it stands (judge)",
    "reading": "Usable as it stands (the copywriter model's reading)",
    "confidence": "Model confidence",
    "faithfulness": "Faithfulness",
    "cta": "Call to action",
    "novelty": "Novelty",
    "diversity": "Diversity",
    "tone_match": "Tone match",
    "sentiment": "Sentiment",
    "readability": "Readability",
    "channel_fit": "Length fit",
}


def score_colour(value: float) -> str:
    """Badge colour for a score in [0, 1]."""
    if value >= 0.7:
        return "green"
    if value >= 0.4:
        return "orange"
    return "red"


def judged_unusable(scores: dict) -> bool:
    """True when the usable-copy judge rejects the variant (its quality is below the threshold)."""
    from copy_engine.scoring.judge import THRESHOLD

    return "quality" in scores and float(scores["quality"]) < THRESHOLD


def badges_markdown(scores: dict) -> str:
    """Score badges as one Markdown line (labels are ours; values are numbers).

    A variant the usable-copy judge rejects leads with a warning badge, and its predicted CTR is shown
    grey and marked as not counting: a high click prediction on copy nobody would publish must not read
    as a recommendation.
    """
    rejected = judged_unusable(scores)
    parts = [":red-badge[⚠ Judge: not usable as it stands]"] if rejected else []
    for key, label in BADGES:
        if key in scores:
            value = float(scores[key])
            if key == "predicted_ctr" and rejected:
                parts.append(f":gray-badge[{label} {round(value * 100)} (ignored: not usable)]")
            else:
                parts.append(f":{score_colour(value)}-badge[{label} {round(value * 100)}]")
    return " ".join(parts)


def variant_card(variant: Variant, *, title: str, channel: str) -> None:
    """Draw one variant (inside the caller's container): title, text, length, badges, flags, explanations."""
    text, scores = variant.text, variant.scores or {}
    limit = get_channel(channel).limit
    over = len(text) > limit
    st.markdown(f"**{escape_md(title)}** · {len(text)}/{limit} characters" + (" · :red[too long]" if over else ""))
    st.markdown(highlight_flags(text, variant.flags))
    st.markdown(badges_markdown(scores))
    explanations = variant.explanations or {}
    if judged_unusable(scores):
        st.warning(explanations.get("quality") or "The usable-copy judge rejects this variant.")
    for line in flag_lines(variant.flags):
        st.caption(line)
    with st.expander("Why these scores"):
        for key, label in SCORE_LABELS.items():
            if key in scores:
                st.markdown(f"**{label} {round(float(scores[key]) * 100)}**: {escape_md(explanations.get(key, ''))}")


# ---------------------------------------------------------------- Draft-page cards


def render_card(db, draft: Draft, card: Card, number: int) -> None:
    """One card of the Draft page (inside the caller's container): the variant, then its editor or its buttons."""
    variant_card(card.variant, title=f"Variant {number}" + (" (edited)" if card.edited else ""), channel=draft.channel)
    if st.session_state.get(f"editing_{card.uid}"):
        _editor(db, draft, card.uid)
    else:
        _buttons(db, draft, card)


def _editor(db, draft: Draft, uid: int) -> None:
    """The text box of a card being edited, with Re-score and Cancel."""
    st.text_area("Edit the copy", key=f"edit_text_{uid}")
    buttons = st.container(horizontal=True)
    buttons.button("Re-score", key=f"apply_{uid}", on_click=_finish_edit, args=(db, draft, uid), type="primary")
    buttons.button("Cancel", key=f"cancel_{uid}", on_click=_set_editing, args=(uid, False))


def _buttons(db, draft: Draft, card: Card) -> None:
    """Save, Edit, Copy and New for a card that is not being edited."""
    uid = card.uid
    buttons = st.container(horizontal=True)
    if card.saved_id:
        buttons.button("Saved", key=f"saved_{uid}", icon=":material/star:", disabled=True)
    else:
        buttons.button("Save", key=f"save_{uid}", icon=":material/star_border:", on_click=_save, args=(db, draft, uid))
    buttons.button("Edit", key=f"edit_{uid}", icon=":material/edit:", on_click=_start_edit, args=(uid, card.text))
    with buttons.popover("Copy", icon=":material/content_copy:"):
        st.code(card.text, language=None, wrap_lines=True)
    new_help = "Replace just this variant by a new one (new seed)"
    if buttons.button("New", key=f"regen_{uid}", icon=":material/refresh:", help=new_help):
        with st.spinner("Writing a new variant…"), user_errors("Could not regenerate") as done:
            drafts.regenerate_card(db, draft, uid)
        if done.ok:
            st.rerun()


def _set_editing(uid: int, editing: bool) -> None:
    st.session_state[f"editing_{uid}"] = editing


def _start_edit(uid: int, text: str) -> None:
    """Button callback: open the editor on the card's current text."""
    st.session_state[f"edit_text_{uid}"] = text
    _set_editing(uid, True)


def _finish_edit(db, draft: Draft, uid: int) -> None:
    """Button callback: re-score the edited text and close the editor when that worked."""
    if guarded("Could not re-score the edit", drafts.apply_edit, db, draft, uid, st.session_state[f"edit_text_{uid}"]):
        _set_editing(uid, False)
        flash("success", "Edit re-scored.")


def _save(db, draft: Draft, uid: int) -> None:
    """Button callback: save the card as a favourite."""
    if guarded("Could not save", drafts.save_card, db, draft, uid):
        flash("success", "Saved to **Favourites**.")

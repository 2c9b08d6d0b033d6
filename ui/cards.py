"""Variant cards: the copy with flagged spans highlighted, score badges and explanations."""

from __future__ import annotations

import streamlit as st

from copy_engine.channels import get_channel
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


def variant_card(variant: dict, *, title: str, channel: str) -> None:
    """Draw one variant (inside the caller's container): title, text, length, badges, flags, explanations.

    `variant` has text, scores, explanations and flags, like copy_engine.generate.Variant.to_dict().
    """
    text = variant["text"]
    limit = get_channel(channel).limit
    over = len(text) > limit
    st.markdown(f"**{escape_md(title)}** · {len(text)}/{limit} characters" + (" · :red[too long]" if over else ""))
    st.markdown(highlight_flags(text, variant.get("flags") or []))
    st.markdown(badges_markdown(variant.get("scores") or {}))
    if judged_unusable(variant.get("scores") or {}):
        st.warning((variant.get("explanations") or {}).get("quality") or "The usable-copy judge rejects this variant.")
    for line in flag_lines(variant.get("flags") or []):
        st.caption(line)
    with st.expander("Why these scores"):
        explanations = variant.get("explanations") or {}
        for key, label in SCORE_LABELS.items():
            if key in (variant.get("scores") or {}):
                value = round(float(variant["scores"][key]) * 100)
                st.markdown(f"**{label} {value}**: {escape_md(explanations.get(key, ''))}")

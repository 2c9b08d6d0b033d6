"""Length of a variant against its channel's limits."""

from __future__ import annotations

from copy_engine.channels import Channel

# Using at least this share of the limit counts as a full-length variant.
FULL_SHARE = 0.5


def score_channel_fit(text: str, channel: Channel) -> tuple[float, str]:
    """1 for a comfortable length, falling toward 0 when too short, 0 over the hard limit."""
    n = len(text.strip())
    where = f"{n} of {channel.limit} characters"
    if n > channel.limit:
        return 0.0, f"Too long for a {channel.label.lower()}: {where}; it would be cut off."
    if n < channel.min_chars:
        return (
            0.5 * n / channel.min_chars,
            f"Too short for a {channel.label.lower()}: {where} (aim for {channel.min_chars}+).",
        )
    full = max(channel.min_chars, int(FULL_SHARE * channel.limit))
    if n >= full:
        return 1.0, f"Good length for a {channel.label.lower()}: {where}."
    score = 0.5 + 0.5 * (n - channel.min_chars) / max(1, full - channel.min_chars)
    return score, f"Fits, but uses little of the space: {where}."

"""Copy channels and their hard character limits."""

from __future__ import annotations

from dataclasses import dataclass

from copy_engine.errors import InputError


@dataclass(frozen=True)
class Channel:
    name: str  # machine name used in CLI, database and CSV
    label: str  # human label for the UI
    limit: int  # hard character limit of one variant
    min_chars: int  # shorter output is treated as a failed generation
    max_new_tokens: int  # decoding budget; ~4 chars per token plus slack for cleanup


CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in [
        Channel("headline", "Product headline", 80, 24, 32),
        Channel("description", "Product description", 400, 100, 120),
        # 12 tokens (~45 characters): a longer raw line can only be cut back at a phrase start, and stopping
        # there saved 13 % of an ad-headline request (7.7 vs 8.9 s, same copy, one run on 2 threads).
        Channel("ad_headline", "Search ad headline", 30, 12, 12),
        Channel("ad_description", "Search ad description", 90, 40, 40),
        Channel("email_subject", "Email subject line", 60, 18, 26),
        Channel("social", "Social post", 280, 60, 90),
    ]
}


def get_channel(name: str) -> Channel:
    """Return the channel called `name`, or raise InputError listing the valid ones."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise InputError(f"unknown channel {name!r}; choose one of: {', '.join(CHANNELS)}") from None


def channel_limit(name: str) -> int:
    """Character limit of the named channel."""
    return get_channel(name).limit

"""User-facing messages: engine errors as st.error (never a traceback) and messages that survive a rerun."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import streamlit as st

from copy_engine.errors import CopyLabError
from ui.text import escape_md

log = logging.getLogger("copylab.ui")
_FLASH = "_copylab_flash"


class Outcome:
    """Whether the guarded block finished; set by `user_errors`."""

    ok = False


def error_message(what: str, exc: BaseException) -> str:
    """The text shown for an exception: the CopyLabError's own words, or a generic line for bugs."""
    if isinstance(exc, CopyLabError):
        return f"{what}: {exc}"
    from copy_engine.store.transactions import BUSY_MESSAGE, is_busy

    if is_busy(exc):  # another writer's lock, met outside store.transaction (which retries)
        return f"{what}: {BUSY_MESSAGE}"
    # Unexpected: the details go to the server log, not to the page.
    log.exception("%s", what, exc_info=exc)
    return f"{what}: something unexpected went wrong ({type(exc).__name__}); the details are in the server log."


@contextlib.contextmanager
def user_errors(what: str) -> Iterator[Outcome]:
    """Run a block; show any error as one st.error line (escaped) and carry on.

    `with user_errors("Could not import") as done: ...` then `if done.ok: ...`.
    Streamlit's own rerun/stop signals are BaseExceptions and pass through.
    """
    outcome = Outcome()
    try:
        yield outcome
        outcome.ok = True
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a traceback
        st.error(escape_md(error_message(what, exc)), icon="⚠️")


def flash(kind: str, message: str) -> None:
    """Queue a message (success, info, warning, error) to show on the next run of the page.

    Used from widget callbacks, which run before the page is drawn. `message` is
    Markdown written by the page; escape any untrusted part before passing it.
    """
    st.session_state.setdefault(_FLASH, []).append((kind, message))


def show_flashes() -> None:
    """Show and forget the queued messages."""
    for kind, message in st.session_state.pop(_FLASH, []):
        getattr(st, kind)(message)


def guarded(what: str, fn: Callable, *args, **kwargs):
    """Call `fn` (typically from a callback); on failure queue an error message and return None."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        flash("error", escape_md(error_message(what, exc)))
        return None

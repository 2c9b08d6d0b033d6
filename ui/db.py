"""The database connection of the current browser session."""

from __future__ import annotations

import streamlit as st

from copy_engine.errors import CopyLabError
from copy_engine.settings import Settings
from copy_engine.store import open_db
from ui.text import escape_md


def get_db():
    """This session's connection to the CopyLab database (COPYLAB_DB), opened on first use.

    Each session gets its own connection (copy_engine.store.db: WAL mode plus a
    busy timeout let sessions write side by side); a process-wide cached
    connection would be shared by concurrently running reruns. When the
    database cannot be opened (not a database, a folder, busy migrating) the
    page shows why and stops, instead of a traceback.
    """
    path = str(Settings.from_env().db_path)
    key = f"_copylab_db::{path}"
    if key not in st.session_state:
        try:
            st.session_state[key] = open_db(path)
        except CopyLabError as exc:
            st.error(escape_md(f"Cannot open the CopyLab database: {exc}"), icon="⚠️")
            st.caption("Check COPYLAB_DB (or COPYLAB_HOME), then reload the page.")
            st.stop()
    return st.session_state[key]

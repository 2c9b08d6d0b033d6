"""Shared pieces of the Streamlit pages: database and engine access, cards, badges, safe text.

Pages stay a plain description of the UI; anything more than a few lines of
logic lives here or in copy_engine. This package may import streamlit;
copy_engine never does.
"""

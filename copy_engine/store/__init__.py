"""SQLite storage for products, generation runs, favourites and experiments.

One module per area (products, runs, favourites, experiments, export); all of
them are plain functions that take the `sqlite_utils.Database` returned by
`open_db` as their first argument.
"""

from copy_engine.store.db import open_db
from copy_engine.store.transactions import transaction

__all__ = ["open_db", "transaction"]

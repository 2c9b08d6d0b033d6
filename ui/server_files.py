"""Files on the server that a page may open by path: only those inside COPYLAB_HOME.

Anyone who can reach the app can type a path; without this check they could
point an evaluation at any file the server can read (/etc/passwd, another
user's data). Uploads need no check: their bytes come from the user.
"""

from __future__ import annotations

from pathlib import Path

from copy_engine.errors import InputError


def server_catalog_path(text: str, home: str | Path) -> str:
    """The resolved path of a catalog file typed by a user, or InputError unless it lies inside `home`.

    Relative paths are taken from `home`; symbolic links and '..' are resolved
    before the check, so neither can lead outside.
    """
    home = Path(home).expanduser().resolve()
    typed = Path(text.strip()).expanduser()
    path = (typed if typed.is_absolute() else home / typed).resolve()
    if not path.is_relative_to(home):
        raise InputError(
            f"only files inside COPYLAB_HOME ({home}) can be opened by path; upload the CSV instead"
        )
    if not path.is_file():
        raise InputError(f"catalog not found: {text.strip()} (paths are relative to COPYLAB_HOME, {home})")
    return str(path)

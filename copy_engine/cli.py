"""Command line: `python -m copy_engine COMMAND ...`.

Each command lives in its own module under copy_engine/commands/ and exposes
`NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`. Commands are
discovered here, so adding one never touches this file. Errors that users
cause (CopyLabError) become one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sqlite3
import sys

from copy_engine import commands
from copy_engine.errors import CopyLabError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + exits 2; keep it to one clear line
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m copy_engine", description="CopyLab engine command line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"copy_engine.commands.{info.name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except CopyLabError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except sqlite3.OperationalError as exc:
        from copy_engine.store.transactions import BUSY_MESSAGE, is_busy

        if not is_busy(exc):
            raise
        # a write outside store.transaction (which retries) met another writer's lock
        sys.stderr.write(f"error: {BUSY_MESSAGE}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0

"""CLI commands, one module each (see copy_engine/cli.py)."""

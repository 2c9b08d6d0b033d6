"""`python -m copy_engine ...` entry point."""

import sys

from copy_engine.cli import main

sys.exit(main())

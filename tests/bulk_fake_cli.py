"""`python tests/bulk_fake_cli.py ARGS...`: the real CLI with conftest's fake models, for tests that
kill the process (kill -9) mid-job. COPYLAB_FAKE_DELAY_S slows each sampling call so a test can
stop the process while products are in flight."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import conftest  # noqa: E402
import pytest  # noqa: E402


class SlowFakeGenerator(conftest.FakeGenerator):
    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        time.sleep(float(os.environ.get("COPYLAB_FAKE_DELAY_S", "0")))
        return super().complete(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)


conftest.use_fake_engine(pytest.MonkeyPatch(), generator=SlowFakeGenerator())

from copy_engine.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

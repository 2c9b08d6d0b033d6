"""Benchmark: a 50,000-row catalog import beside another writer (issue 15, finding 1).

Prints the import's duration, how long the other writer's saves waited (median
and worst) and how many failed. Run: `.venv/bin/python bench/import_lock.py [ROWS]`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copy_engine import catalog  # noqa: E402
from copy_engine.store import favourites as fv  # noqa: E402
from copy_engine.store import open_db  # noqa: E402
from copy_engine.store import products as pr  # noqa: E402


def main(rows: int = 50_000) -> None:
    folder = Path(tempfile.mkdtemp(prefix="copylab-bench-"))
    path = folder / "bench.db"
    db = open_db(path)
    kettle = pr.add_product(db, {"name": "Kettle"})
    lines = (f"Mug {i},Acme,Keeps coffee hot | 350 ml | steel,${i % 90 + 5}.99\n" for i in range(rows))
    data = ("name,brand,features,price\n" + "".join(lines)).encode()
    waits: list[float] = []
    failures: list[str] = []
    done = threading.Event()

    def other_writer() -> None:
        other = open_db(path)
        while not done.is_set():
            t = time.perf_counter()
            try:
                fv.save_favourite(other, kettle.id, "headline", "Boil fast", {}, {})
            except Exception as exc:  # noqa: BLE001 - counted, that is the measurement
                failures.append(type(exc).__name__)
            waits.append(time.perf_counter() - t)
            time.sleep(0.05)

    thread = threading.Thread(target=other_writer)
    thread.start()
    t = time.perf_counter()
    mapping = {"name": "name", "brand": "brand", "features": "features", "price": "price"}
    report = catalog.import_products(db, data, mapping)
    seconds = time.perf_counter() - t
    done.set()
    thread.join()
    print(f"rows {rows:,}: imported {report.imported:,} in {seconds:.1f} s (batches of {catalog.BATCH_ROWS})")
    print(f"other writer: {len(waits)} saves, median {statistics.median(waits) * 1000:.0f} ms, "
          f"worst {max(waits) * 1000:.0f} ms, failed {len(failures)} {sorted(set(failures))}")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)

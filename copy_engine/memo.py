"""A small thread-safe memo of recent per-item results (texts read or encoded lately)."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

_ALL: weakref.WeakSet = weakref.WeakSet()


def forget_all() -> None:
    """Empty every memo of this process (a benchmark times the models, not the memos)."""
    for memo in list(_ALL):
        memo.clear()


class Memo:
    """The last `size` results by key, least recently used dropped first.

    Why: a request scores its whole pool, then its shown four again (diversity is a property of the set shown
    together), and the UI re-scores a set after an edit; the models' part of each text need not run twice.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        _ALL.add(self)

    def clear(self) -> None:
        """Forget every result held."""
        with self._lock:
            self._data.clear()

    def get_many(self, keys: Sequence[Hashable], compute: Callable[[list], Sequence]) -> list:
        """The values of `keys`, in order; `compute(missing)` gives those of the keys not held (each key once)."""
        with self._lock:
            known = {k: self._data[k] for k in keys if k in self._data}
        todo = list(dict.fromkeys(k for k in keys if k not in known))
        if todo:
            known.update(zip(todo, compute(todo)))
        with self._lock:
            for k in keys:
                self._data[k] = known[k]
                self._data.move_to_end(k)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return [known[k] for k in keys]

from copy_engine.memo import Memo


def test_memo_computes_each_missing_key_once_in_order_and_drops_the_least_recent():
    calls = []

    def square(keys):
        calls.append(list(keys))
        return [k * k for k in keys]

    memo = Memo(3)
    assert memo.get_many([2, 3, 2], square) == [4, 9, 4]
    assert calls == [[2, 3]]  # a key asked twice is computed once
    assert memo.get_many([3, 4], square) == [9, 16]
    assert calls[-1] == [4]  # 3 was held
    memo.get_many([5], square)  # holds 3, 4, 5 now: 2 was the least recently used
    assert memo.get_many([2, 5], square) == [4, 25] and calls[-1] == [2]


def test_the_embedder_returns_the_same_rows_from_its_memo(monkeypatch):
    import numpy as np

    from copy_engine.embeddings import MiniLMEmbedder

    emb = MiniLMEmbedder.__new__(MiniLMEmbedder)  # no model: the encoding below is counted instead
    seen = []
    emb._memo = Memo(8)
    def encode(texts):
        seen.extend(texts)
        return [np.full(384, len(t), np.float32) for t in texts]

    monkeypatch.setattr(emb, "_encode", encode)
    first = emb.encode(["a", "bb"])
    again = emb.encode(["bb", "ccc", "a"])
    assert seen == ["a", "bb", "ccc"]
    assert again.shape == (3, 384) and again[0, 0] == 2 and again[2, 0] == 1 and first[1, 0] == 2


def test_forget_all_empties_every_memo():
    from copy_engine.memo import forget_all

    memo, calls = Memo(4), []
    memo.get_many(["a"], lambda keys: calls.append(keys) or ["A"])
    forget_all()
    memo.get_many(["a"], lambda keys: calls.append(keys) or ["A"])
    assert calls == [["a"], ["a"]]

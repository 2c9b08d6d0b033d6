"""Write copy_engine/backends/sampling_vocab.bin: the Gemma tokens llama.cpp may sample (copy_engine/backends/vocab.py).

    pip install wordfreq   # once: English word frequencies (a 57 MB wheel; only this script needs it)
    .venv/bin/python scripts/prune_vocab.py

Kept: Gemma's control, newline and byte tokens (not the 6,000 unused ones); every token made only of punctuation,
symbols and spaces; and every token llama.cpp's tokenizer forms, as a final token or on the way to one, when it
tokenizes this repository's own text (copy deck, examples, docs, labelled reads, code, tests), the 50,000 most frequent
English words (with a leading space, lower case and capitalised) and the 20,000 most frequent in other casings.
Closing the set under the tokenizer's merges is what makes a prompt of those words tokenize exactly as with the
full vocabulary: llama.cpp's SPM tokenizer builds a token by merging smaller ones that must be in the vocabulary.
Then it prints how many of the catalog's product prompts (../shared/data, when present) tokenize unchanged.
"""

from __future__ import annotations

import heapq
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from copy_engine.backends.vocab import KEEP_FILE, TOKEN_ARRAYS, field_value  # noqa: E402

TOP_WORDS = 50_000  # with a leading space, lower case and capitalised
TOP_WORDS_OTHER_CASINGS = 20_000  # also without the space, and upper case
OWN_TEXT = ("copy_engine/**/*.jsonl", "copy_engine/**/*.json", "copy_engine/**/*.py", "docs/**/*.md",
            "docs/reads/*.jsonl", "examples/**/*", "tests/**/*.py", "README.md")  # fmt: skip
CONTROL, USER_DEFINED, BYTE = 3, 4, 6  # llama.cpp token types


class SpmTokenizer:
    """llama.cpp's SPM tokenizer (llm_tokenizer_spm), recording every merged symbol it forms."""

    def __init__(self, tokens: list[str], scores: list[float]):
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.scores = scores

    def tokenize(self, text: str, formed: set | None = None, vocab: dict | None = None) -> list[int]:
        """Token ids of `text` (no BOS); merged symbols go to `formed`; `vocab` restricts the vocabulary."""
        vocab = self.ids if vocab is None else vocab
        syms = list(text.replace(" ", "\u2581"))
        n = len(syms)
        prev, nxt, alive = list(range(-1, n - 1)), list(range(1, n + 1)), [True] * n
        if n:
            nxt[-1] = -1
        heap: list = []

        def push(left: int, right: int) -> None:
            if left != -1 and right != -1 and (i := vocab.get(syms[left] + syms[right])) is not None:
                # best score first, then the leftmost pair (llama.cpp's comparator)
                heapq.heappush(heap, (-self.scores[i], left, syms[left] + syms[right]))

        for i in range(n - 1):
            push(i, i + 1)
        while heap:
            _, left, merged = heapq.heappop(heap)
            right = nxt[left]
            if not alive[left] or right == -1 or syms[left] + syms[right] != merged:
                continue  # a stale pair: one side has merged since
            syms[left], alive[right] = merged, False
            if formed is not None:
                formed.add(merged)
            nxt[left] = nxt[right]
            if nxt[right] != -1:
                prev[nxt[right]] = left
            push(prev[left], left)
            push(left, nxt[left])
        out, i = [], 0 if n else -1
        while i != -1:
            s = syms[i]
            out.extend([vocab[s]] if s in vocab else [vocab.get(f"<0x{b:02X}>", -1) for b in s.encode("utf-8")])
            i = nxt[i]
        return out


def read_vocab(path: Path) -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types of a GGUF."""
    from gguf import GGUFReader

    fields = GGUFReader(str(path)).fields
    tokens, scores, types = (field_value(fields[key])[0] for key in TOKEN_ARRAYS)
    return [t.decode("utf-8") for t in tokens], [float(x) for x in scores], [int(x) for x in types]


def own_text() -> list[str]:
    """Lines of this repository's own text files."""
    lines = []
    for pattern in OWN_TEXT:
        for f in sorted(ROOT.glob(pattern)):
            if f.is_file():
                lines += [line for line in f.read_text(encoding="utf-8", errors="ignore").splitlines() if line.strip()]
    return lines


def english_words() -> list[str]:
    """The frequent English words in the casings copy uses."""
    import wordfreq

    words = wordfreq.top_n_list("en", TOP_WORDS)
    texts = [v for w in words for v in (" " + w, " " + w.capitalize())]
    texts += [v for w in words[:TOP_WORDS_OTHER_CASINGS] for v in (w, w.capitalize(), " " + w.upper())]
    return texts


def is_symbolic(token: str) -> bool:
    """Punctuation, symbols and spaces only (emoji included; CJK punctuation not)."""
    return bool(token) and all(
        (unicodedata.category(c)[0] in "PSZ" or c == "\u2581") and ord(c) < 0x3000 for c in token
    )


def keep_set(spm: SpmTokenizer, tokens: list[str], types: list[int]) -> set[int]:
    """The kept ids (see the module docstring)."""
    keep = {i for i, (t, k) in enumerate(zip(tokens, types)) if k in (CONTROL, USER_DEFINED, BYTE)}
    keep -= {i for i in keep if tokens[i].startswith("<unused")}
    formed: set[str] = set()
    for text in own_text() + english_words() + [t for t in tokens if is_symbolic(t)]:
        keep.update(spm.tokenize(text, formed))
    keep.update(spm.ids[s] for s in formed)
    keep.discard(-1)
    return keep


def main() -> None:
    import numpy as np

    from copy_engine.backends.llamacpp import embedded_gguf
    from copy_engine.settings import get_settings

    tokens, scores, types = read_vocab(embedded_gguf(get_settings()))
    spm = SpmTokenizer(tokens, scores)
    keep = keep_set(spm, tokens, types)
    bits = np.zeros(len(tokens), dtype=np.uint8)
    bits[sorted(keep)] = 1
    KEEP_FILE.write_bytes(np.packbits(bits).tobytes())
    print(f"kept {len(keep):,} of {len(tokens):,} tokens -> {KEEP_FILE.relative_to(ROOT)}")
    catalog = ROOT.parent / "shared" / "data" / "products" / "amazon_products_sample.csv"
    if catalog.is_file():
        from copy_engine.catalog import read_products
        from copy_engine.controls import Controls
        from copy_engine.prompts import build_copywriter_prompt

        vocab = {tokens[i]: i for i in keep}
        prompts = [build_copywriter_prompt(p, "description", Controls()) for p in read_products(catalog)]
        same = sum(spm.tokenize(p) == spm.tokenize(p, vocab=vocab) for p in prompts)
        print(f"catalog description prompts tokenized unchanged: {same} of {len(prompts)}")


if __name__ == "__main__":
    main()

"""Which of a fixed set of words occur in a text: one Aho-Corasick pass.

Used for the file prefilter (the packs' keywords), the keyword-anchored rules of a segment,
the call-site names that make a syntax-tree parse worthwhile and the key-shaped candidates
whose assignments it looks at. The automaton is
ahocorasick-rs (the Rust `aho-corasick` crate): on 42 MB of quantum code it finds the ~90
call-site names in 0.12 s, where a trie-shaped `re` pattern took 1.45 s (sre tries a branch at
every position whose character starts some word) and pyahocorasick 0.74 s
(bench/packs_cost.py measures the prefilter).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import ahocorasick_rs

# A file's first keyword is usually near its top: search a growing prefix, so a long file
# that passes costs a few KB, and one that fails costs at most ~1.15 passes.
_FIRST_CHUNK = 1 << 16
_GROWTH = 8
_DFA = ahocorasick_rs.Implementation.DFA


class Keywords:
    """A fixed, non-empty-string word list and the searches over it.

    `present(text)`: the words occurring in `text`, overlapping ones too (`Service` inside
    `QiskitRuntimeService`); the same set as `{w for w in words if w in text}`.
    `occurrences(text)`: (word, start) of every occurrence.
    `present_in_bytes(data)`: the same over bytes (words encoded as UTF-8).
    `any_in(data)`: whether any word occurs in `data` (bytes).
    Matching is exact (case-sensitive): lower-case the text for case-insensitive words.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w))
        # A DFA explicitly: the library's default picks an NFA from ~100 words on, 4x slower
        # here (0.42 s against 0.11 s for the ~150 hints of the syntax-tree gate on 42 MB).
        self._text = ahocorasick_rs.AhoCorasick(
            list(self.words), store_patterns=True, implementation=_DFA) if self.words else None
        self._bytes: ahocorasick_rs.BytesAhoCorasick | None = None

    def present(self, text: str) -> set[str]:
        if self._text is None:
            return set()
        return set(self._text.find_matches_as_strings(text, overlapping=True))

    def occurrences(self, text: str) -> Iterator[tuple[str, int]]:
        """(word, start) of every occurrence of every word, overlapping ones too, in order of
        their end; `start` counts characters."""
        if self._text is None:
            return
        words = self.words
        for index, start, _ in self._text.find_matches_as_indexes(text, overlapping=True):
            yield words[index], start

    def present_in_bytes(self, data: bytes) -> set[str]:
        """The words occurring in `data` (bytes), overlapping ones too."""
        if not self.words:
            return set()
        words = self.words
        return {words[i] for i, _, _ in self._bytes_automaton().find_matches_as_indexes(data, overlapping=True)}

    def _bytes_automaton(self) -> ahocorasick_rs.BytesAhoCorasick:
        if self._bytes is None:
            self._bytes = ahocorasick_rs.BytesAhoCorasick([w.encode() for w in self.words], implementation=_DFA)
        return self._bytes

    def any_in(self, data: bytes) -> bool:
        if not self.words:
            return False
        automaton = self._bytes_automaton()
        view = memoryview(data)
        size = _FIRST_CHUNK
        while True:
            # Each prefix is searched from its start, so a word across a chunk edge is found.
            if automaton.find_matches_as_indexes(view[:size]):
                return True
            if size >= len(data):
                return False
            size *= _GROWTH

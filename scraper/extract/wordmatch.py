"""Fast "does this class/id string contain any of these words" tests.

A regular expression written as ``comment|share|sidebar|…`` makes Python's engine
try every alternative at every position of the string: tens of microseconds for a
long class attribute, and the extractor asks this of every element it looks at.
The same words arranged as a trie (``s(?:hare|idebar)|comment``) let the engine skip
positions whose first character starts no word, and follow one branch otherwise;
the language matched is exactly the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["any_word", "trie_pattern"]

_Trie = dict[str, "_Trie"]


def _expand(word: str) -> list[str]:
    """``more-?stories`` → ``morestories``, ``more-stories`` (the only regex syntax
    allowed in a word, besides ``x?`` at its end)."""
    if "-?" in word:
        head, tail = word.split("-?", 1)
        return [v for rest in _expand(tail) for v in (head + rest, head + "-" + rest)]
    if word.endswith("?"):
        return [word[:-2], word[:-1]]
    return [word]


def trie_pattern(words: Iterable[str], *, prune: bool = False) -> str:
    """A regex source matching exactly the literal ``words`` (each may use ``-?``
    inside or ``?`` on its last character), as a trie. ``prune``: drop words that
    hold another word (only right for an unanchored search)."""
    literals = sorted({v for word in words for v in _expand(word)})
    if prune:
        literals = [w for w in literals if not any(o != w and o in w for o in literals)]
    trie: _Trie = {}
    for literal in literals:
        node = trie
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = {}
    return _emit(trie)


def _emit(node: _Trie) -> str:
    branches = [re.escape(char) + _emit(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    ends_here = "" in node
    if len(branches) == 1 and not ends_here:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if ends_here else group


def any_word(
    words: Iterable[str] = (), bounded: Iterable[str] = (), tokens: Iterable[str] = ()
) -> Callable[[str], bool]:
    """A test whether a string holds any of ``words`` anywhere, any of ``bounded``
    as a whole run of letters a-z, or any of ``tokens`` as a whole space-separated
    token. Each kind is its own pattern: a lookbehind in front of the trie would
    keep the engine from skipping to the words' first characters."""
    searches = []
    words = list(words)
    if words:
        searches.append(re.compile(trie_pattern(words, prune=True)).search)
    bounded = list(bounded)
    if bounded:
        searches.append(re.compile(f"(?<![a-z]){trie_pattern(bounded)}(?![a-z])").search)
    tokens = list(tokens)
    if tokens:
        searches.append(re.compile(f"(?<![^ ]){trie_pattern(tokens)}(?![^ ])").search)

    # (spelled out: a generator over the searches costs more than the searches)
    if len(searches) == 1:
        only = searches[0]
        return lambda text: only(text) is not None
    if len(searches) == 2:
        first, second = searches
        return lambda text: first(text) is not None or second(text) is not None
    return lambda text: any(search(text) is not None for search in searches)

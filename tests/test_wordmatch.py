"""The trie patterns match exactly what the plain alternations they replace match."""

from __future__ import annotations

import random
import re

from scraper.extract.wordmatch import any_word, trie_pattern

WORDS = ("comment", "share", "sharing", "social", "more-?stories", "ad-slot", "sr-only", "foot")
BOUNDED = ("ads?", "nav", "tags?")
PIECES = (*(w.replace("-?", "-") for w in WORDS), "ad", "ads", "nav", "tag", "x", " ", "-", "_")


def _plain(words: tuple[str, ...], bounded: tuple[str, ...], tokens: tuple[str, ...]) -> re.Pattern:
    alternatives = list(words)
    alternatives += [f"(?:^|[^a-z])(?:{w})(?:[^a-z]|$)" for w in bounded]
    alternatives += [f"(?:^| ){w}(?: |$)" for w in tokens]
    return re.compile("|".join(alternatives))


def test_trie_matches_the_same_strings_as_the_alternation() -> None:
    test = any_word(words=WORDS, bounded=BOUNDED, tokens=("hid",))
    plain = _plain(WORDS, BOUNDED, ("hid",))
    rnd = random.Random(20261126)
    checked = 0
    for _ in range(20_000):
        text = "".join(rnd.choice(PIECES)[: rnd.randint(1, 9)] for _ in range(rnd.randint(0, 6)))
        assert test(text) is (plain.search(text) is not None), text
        checked += test(text)
    assert checked > 1000  # the sample holds matches, not only misses


def test_trie_shape() -> None:
    assert trie_pattern(["share", "sharing", "social"]) == "s(?:har(?:e|ing)|ocial)"
    assert trie_pattern(["ads?"]) == "ad(?:s)?"
    # a word holding another cannot change an unanchored search's answer
    assert trie_pattern(["foot", "footer"], prune=True) == "foot"
    assert trie_pattern(["more-?stories"]) == r"more(?:\-stories|stories)"


def test_bounded_words_need_whole_runs_of_letters() -> None:
    test = any_word(bounded=("ads?",))
    assert test("top-ad") and test("ads_box") and test("ad")
    assert not test("header") and not test("loads") and not test("adsx")


def test_tokens_need_spaces_or_ends() -> None:
    test = any_word(tokens=("hid",))
    assert test("hid") and test("a hid b") and test("x hid")
    assert not test("hidden") and not test("a-hid")

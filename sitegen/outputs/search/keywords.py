"""A segment's keywords: the words related stories are matched on, besides tags and section.

The most frequent analysed words of its title and text (the search's own normalisation and
stemming, so that "حمص" and "بحمص" are one word), leaving out the words every Arabic text
is made of. Their rarity across the site is weighed later (``pages/related.py``): this only
has to pick a handful per segment, in the worker that reads the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache
from operator import itemgetter

from .analyser import IndexedDocument, tokenize
from .postings import MAX_WEIGHT

KEYWORDS = 4
SHORTEST = 3  # letters: shorter stems are mostly particles

# Function words, as written; compared after analysis (``_stop_words``).
_FUNCTION_WORDS = """
في من على إلى الى عن مع أن ان إن لا ما لم لن قد كان كانت يكون تكون هذا هذه ذلك تلك هؤلاء
الذي التي الذين اللذين اللتين وقد وقال قال قالت بعد قبل بين عند حتى حيث كل كما أو ثم منذ
خلال أي غير بعض أيضا ايضا هو هي هم نحن أنا انت أنت إذا اذا لكن ولكن لقد عليه عليها فيه فيها
منه منها إليه اليه وهو وهي وفي ومن وعلى وأن وإن كلا عدة نحو دون لدى أمام فوق تحت حول ضد
the and for that with from this were was are have has not but his her they their which
""".split()


@cache
def _stop_words() -> frozenset[str]:
    return frozenset(token for word in _FUNCTION_WORDS for token in tokenize(word))


def keywords(title: str, text: str) -> tuple[str, ...]:
    """Up to ``KEYWORDS`` analysed words of a segment's title and text (a title word counts
    twice more, as in the search's documents)."""
    counts = Counter(tokenize(text))
    for token in set(tokenize(title)):
        counts[token] += 2
    return keywords_of(counts.items())


def keywords_of(terms: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """The best of analysed (word, weight) pairs, such as a search document's terms: the
    heaviest first, longer before shorter, then in code point order (the same for the same
    text). Only words in the site's script count: Latin ones are those of the English
    companion, which the search document holds too."""
    stop = _stop_words()
    # Judged from the heaviest down (sorted by weight in C), up to the weight of the
    # KEYWORDS-th word kept: a lighter word cannot be among the best. Judging and ordering
    # all of a document's 150 words cost every segment 50 µs, this 13.
    best: list[tuple[str, int]] = []
    for word, weight in sorted(terms, key=_WEIGHT, reverse=True):
        if len(best) >= KEYWORDS and weight < best[KEYWORDS - 1][1]:
            break
        if _counts(word, stop):
            best.append((word, weight))
    return _the_best(best)


_WEIGHT = itemgetter(1)


def _counts(word: str, stop: frozenset[str]) -> bool:
    """Whether a word may be a keyword: long enough, in the site's script, not a function word
    nor a number."""
    return len(word) >= SHORTEST and not word.isascii() and word not in stop and not word.isdigit()


def _the_best(candidates: list[tuple[str, int]]) -> tuple[str, ...]:
    """The ``KEYWORDS`` best (word, weight) pairs' words: the heaviest, longer before shorter,
    then in code point order."""
    candidates.sort(key=lambda item: (-item[1], -len(item[0]), item[0]))
    return tuple(word for word, _ in candidates[:KEYWORDS])


def document_keywords(document: IndexedDocument) -> tuple[str, ...]:
    """:func:`keywords_of` a search document's terms, read in its packed form: its words
    weight by weight from the heaviest (each weight found in its bytes in C), until
    ``KEYWORDS`` are found, rather than every (word, weight) pair made and sorted. Among a
    document's 200 to 400 terms, the words kept are nearly always among the few of weight
    two and over (repeated, or in a title)."""
    stop = _stop_words()
    words, weights = document.term_words(), document.weights
    best: list[tuple[str, int]] = []
    for weight in range(MAX_WEIGHT, 0, -1):
        if len(best) >= KEYWORDS:
            break  # every word kept so far weighs more than any left: keywords_of stops here too
        mark = bytes((weight,))
        at = weights.find(mark)
        while at >= 0:
            if _counts(words[at], stop):
                best.append((words[at], weight))
            at = weights.find(mark, at + 1)
    return _the_best(best)

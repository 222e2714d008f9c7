"""The text form the triage model sees, and a few lexical signals it uses beside the encoder.

TweetEval, our main training set, masks user mentions as ``@user`` and drops URL
tokens. Doing the same at run time keeps live mentions in the form the model was
trained on (``prepare``). The lexical signals (``lexical_features``) carry what a
WordPiece encoder with an uncased, emoji-less vocabulary cannot see: question
marks, exclamation, shouting, and VADER's lexicon, which knows emoji and
emoticons.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

# The encoder never needs more than this: tweets are at most a few hundred
# characters, and cutting a 20,000-character paste early keeps tokenising fast.
MAX_CHARS = 2_000

_MENTION = re.compile(r"(?<![\w@])@\w{1,50}")
_URL = re.compile(r"(?:https?://|www\.)\S*", re.IGNORECASE)
_RT_PREFIX = re.compile(r"^\s*RT\s+@user:?\s*", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_USER_MASK = re.compile(r"@user\b")
_WORD_CHARACTER = re.compile(r"[^\W_]")

_QUESTION_OPENERS = frozenset(
    """what whats what's when where wheres where's which who whos who's whom whose why how hows how's
    is isnt isn't are arent aren't am was wasnt wasn't were werent weren't do does doesnt doesn't did
    didnt didn't dont don't can cant can't could couldnt couldn't will wont won't would wouldnt wouldn't
    should shouldnt shouldn't shall may might have havent haven't has hasnt hasn't had any anyone
    anybody u ur""".split()
)

LEXICAL_FEATURES = (
    "vader_neg",
    "vader_neu",
    "vader_pos",
    "vader_compound",
    "has_question_mark",
    "ends_with_question_mark",
    "question_marks",
    "opens_like_question",
    "exclamations",
    "uppercase_ratio",
    "log_length",
)


def prepare(text: str) -> str:
    """Mask @mentions as ``@user``, drop URL tokens and retweet prefixes, tidy spaces.

    Never raises: any string (empty, huge, control characters, lone surrogates)
    comes back as a string the tokenizer accepts.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_CHARS]
    text = _LONE_SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub(" ", text)
    text = _MENTION.sub("@user", text)
    text = _URL.sub("", text)
    text = _RT_PREFIX.sub("", text)
    text = _SPACES.sub(" ", text)
    return text.strip()


def encoder_text(prepared: str) -> str:
    """The text the encoder reads, from a text already passed through ``prepare``.

    A text made only of emoji (besides ``@user`` masks, spaces and punctuation) is spelled out
    with the emoji's names: "😡😡" → "enraged face enraged face". The encoder's uncased WordPiece
    vocabulary reads every emoji as ``[UNK]``, so otherwise every such reply, furious or
    delighted, would get one and the same reading. Texts with words keep their emoji as they
    are, as the model was trained (spelling emoji out in every text measured no better; none of
    the training or validation texts is emoji-only, so the trained model is unchanged).
    """
    import emoji

    if not emoji.emoji_count(prepared):
        return prepared
    if _WORD_CHARACTER.search(emoji.replace_emoji(_USER_MASK.sub(" ", prepared), "")):
        return prepared
    spelled = emoji.demojize(prepared, delimiters=(" ", " ")).replace("_", " ")
    return _SPACES.sub(" ", spelled).strip()


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _opens_like_question(text: str) -> bool:
    words = re.findall(r"[a-z']+", text.lower()[:80])
    # Skip a leading "@user" mask and greetings such as "hey"/"hi" before the verb.
    while words and words[0] in {"user", "hey", "hi", "hello", "so", "ok", "okay", "um", "and", "but"}:
        words = words[1:]
    return bool(words) and words[0] in _QUESTION_OPENERS


def lexical_features(prepared_texts: Sequence[str]) -> np.ndarray:
    """One row of ``LEXICAL_FEATURES`` per text already passed through ``prepare``."""
    vader = _vader()
    rows = np.zeros((len(prepared_texts), len(LEXICAL_FEATURES)), dtype=np.float32)
    for i, text in enumerate(prepared_texts):
        scores = (
            vader.polarity_scores(text[:500])
            if text
            else {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}
        )
        stripped = text.rstrip(" .!)\"'")
        letters = [c for c in text if c.isalpha()]
        upper = sum(1 for c in letters if c.isupper()) / len(letters) if letters else 0.0
        rows[i] = (
            scores["neg"],
            scores["neu"],
            scores["pos"],
            scores["compound"],
            1.0 if "?" in text else 0.0,
            1.0 if stripped.endswith("?") else 0.0,
            min(text.count("?"), 5) / 5.0,
            1.0 if _opens_like_question(text) else 0.0,
            min(text.count("!"), 5) / 5.0,
            upper,
            float(np.log1p(len(text))) / 6.0,
        )
    return rows

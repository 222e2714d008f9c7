"""Training and validation sets for the triage heads, and agents' corrections as extra examples.

Sources (read ``../shared/data/README.md``; they are needed for training only,
never at run time):

  sentiment   tweeteval/sentiment_{train,val}.csv  +  airline/tweets.csv
  emotion     tweeteval/emotion_{train,val}.csv
  question    questions/train.csv (speech acts reduced to "is a question")

TweetEval ships a validation split. Airline and questions do not, so a fixed
validation part is cut from them here: a stable hash of the tweet id (airline)
or of the text (questions) puts about 15% / 20% on the validation side, the
same rows on every machine and every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desk.config import PROJECT_ROOT, get_settings
from desk.errors import Fatal

SENTIMENT_LABELS = ("negative", "neutral", "positive")
EMOTION_LABELS = ("anger", "joy", "optimism", "sadness")
QUESTION_LABELS = ("no", "yes")
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENT_LABELS,
    "emotion": EMOTION_LABELS,
    "question": QUESTION_LABELS,
}
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
AIRLINE_VAL_PERCENT = 15
QUESTION_VAL_PERCENT = 20


@dataclass
class Examples:
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def extend(self, other: Examples) -> None:
        self.texts.extend(other.texts)
        self.labels.extend(other.labels)

    def head(self, n: int) -> Examples:
        return Examples(self.texts[:n], self.labels[:n])


@dataclass
class TrainingData:
    """``train[task]`` feeds the heads; ``val`` holds the named validation splits used for selection."""

    train: dict[str, Examples]
    val: dict[str, Examples]
    corrections_used: int = 0
    # Where each train["sentiment"] row comes from: 0 TweetEval, 1 airline, 2 agents' corrections.
    sentiment_sources: list[int] = field(default_factory=list)

    def add_corrections(self, corrections: dict[str, Examples]) -> None:
        for task, examples in corrections.items():
            self.train[task].extend(examples)
            self.corrections_used += len(examples)
            if task == "sentiment":
                self.sentiment_sources.extend([2] * len(examples))

    def limited(self, per_task: int) -> TrainingData:
        """A small slice of every split (tests and quick trials)."""
        return TrainingData(
            {k: v.head(per_task) for k, v in self.train.items()},
            {k: v.head(per_task) for k, v in self.val.items()},
            self.corrections_used,
            self.sentiment_sources[:per_task],
        )


# Which head each validation split measures.
VAL_TASK = {"sentiment": "sentiment", "airline": "sentiment", "emotion": "emotion", "question": "question"}


def data_dir(explicit: str | Path | None = None) -> Path:
    path = Path(explicit or get_settings().triage_data or DEFAULT_DATA_DIR).expanduser()
    if not (path / "tweeteval").is_dir():
        raise Fatal(
            f"No training data at {path} (expected tweeteval/, airline/, questions/ as in ../shared/data)."
        )
    return path


def _percent_bucket(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100


def _read(path: Path, columns: Sequence[str]):  # type: ignore[no-untyped-def]
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise Fatal(f"Could not read {path}: {exc}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise Fatal(f"{path} lacks the column(s) {', '.join(missing)}.")
    return frame


def _labelled(texts: Sequence[str], labels: Sequence[str], names: Sequence[str], where: Path) -> Examples:
    index = {name: i for i, name in enumerate(names)}
    out = Examples()
    for text, label in zip(texts, labels, strict=True):
        if label not in index:
            raise Fatal(f"{where}: unknown label {label!r} (expected one of {', '.join(names)}).")
        out.texts.append(text)
        out.labels.append(index[label])
    return out


def load_training_data(directory: str | Path | None = None) -> TrainingData:
    root = data_dir(directory)
    train: dict[str, Examples] = {}
    val: dict[str, Examples] = {}

    for task, names in (("sentiment", SENTIMENT_LABELS), ("emotion", EMOTION_LABELS)):
        for split, target in (("train", train), ("val", val)):
            path = root / "tweeteval" / f"{task}_{split}.csv"
            frame = _read(path, ["text", "label"])
            target[task] = _labelled(frame["text"].tolist(), frame["label"].tolist(), names, path)

    path = root / "airline" / "tweets.csv"
    frame = _read(path, ["tweet_id", "airline_sentiment", "text"])
    is_val = [(_percent_bucket(i) < AIRLINE_VAL_PERCENT) for i in frame["tweet_id"]]
    airline = _labelled(frame["text"].tolist(), frame["airline_sentiment"].tolist(), SENTIMENT_LABELS, path)
    val["airline"] = Examples(
        [t for t, v in zip(airline.texts, is_val, strict=True) if v],
        [y for y, v in zip(airline.labels, is_val, strict=True) if v],
    )
    sources = [0] * len(train["sentiment"])
    train["sentiment"].extend(
        Examples(
            [t for t, v in zip(airline.texts, is_val, strict=True) if not v],
            [y for y, v in zip(airline.labels, is_val, strict=True) if not v],
        )
    )

    path = root / "questions" / "train.csv"
    frame = _read(path, ["text", "is_question"])
    qtrain, qval = Examples(), Examples()
    for text, flag in zip(frame["text"], frame["is_question"], strict=True):
        if flag not in {"0", "1"}:
            raise Fatal(f"{path}: is_question must be 0 or 1, got {flag!r}.")
        target_split = qval if _percent_bucket(text) < QUESTION_VAL_PERCENT else qtrain
        target_split.texts.append(text)
        target_split.labels.append(int(flag))
    train["question"], val["question"] = qtrain, qval
    sources += [1] * (len(train["sentiment"]) - len(sources))
    return TrainingData(train, val, sentiment_sources=sources)


def load_corrections(database_url: str) -> dict[str, Examples]:
    """Agents' corrections as training examples: the newest correction per mention and field wins."""
    from sqlalchemy import select

    from desk.store.engine import make_engine
    from desk.store.schema import MentionRow, TriageCorrection

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    TriageCorrection.mention_id,
                    TriageCorrection.field,
                    TriageCorrection.new_value,
                    MentionRow.text,
                )
                .join(MentionRow, MentionRow.id == TriageCorrection.mention_id)
                .order_by(TriageCorrection.created_at, TriageCorrection.id)
            ).all()
    except Exception as exc:  # noqa: BLE001 - any database problem is one plain sentence for the user
        raise Fatal(
            f"Could not read triage corrections from the database: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        engine.dispose()
    newest: dict[tuple[int, str], tuple[str, str]] = {}
    for mention_id, field_name, value, text in rows:
        newest[(mention_id, field_name)] = (value, text)
    out = {task: Examples() for task in TASK_LABELS}
    for (_mention, field_name), (value, text) in newest.items():
        if field_name == "question":
            value = "yes" if value in {"true", "yes", "1"} else "no"
        names = TASK_LABELS.get(field_name)
        if names is None or value not in names:
            continue
        out[field_name].texts.append(text)
        out[field_name].labels.append(names.index(value))
    return out

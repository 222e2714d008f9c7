"""The shipped model: loading, batching, hostile texts, thread safety, and a real accuracy floor."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from desk.triage.data import VAL_TASK, load_training_data
from desk.triage.model import SHIPPED_MODEL_DIR, TriageResult, load_triager, read_model_config

HOSTILE = [
    "",
    "   ",
    "😡😡😡🔥",
    "x" * 20_000,
    "¿Por qué no funciona la aplicación? Llevo dos horas esperando.",
    "なぜアプリが動かないのですか？",
    "Почему не работает приложение?!",
    "لماذا لا يعمل التطبيق؟",
    "\x00\u202e\u200b<script>alert(1)</script>",
    "\ud800 lone surrogate",
    "@Airline http://t.co/abc #fail",
]


def _check(result: TriageResult) -> None:
    assert result.sentiment in {"negative", "neutral", "positive"}
    assert set(result.sentiment_scores) == {"negative", "neutral", "positive"}
    assert sum(result.sentiment_scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert max(result.sentiment_scores, key=result.sentiment_scores.__getitem__) == result.sentiment
    assert result.emotion in {"anger", "joy", "optimism", "sadness"}
    assert 0.0 <= result.anger <= 1.0
    assert 0.0 <= result.question_score <= 1.0
    assert isinstance(result.question, bool)


def test_shipped_model_loads_once_and_says_its_version(triager) -> None:  # type: ignore[no-untyped-def]
    assert load_triager() is triager  # cached per model path
    config = read_model_config(SHIPPED_MODEL_DIR)
    assert triager.version.startswith(config["version"])
    assert len(triager.version) <= 64


def test_hostile_texts_all_get_a_reading(triager) -> None:  # type: ignore[no-untyped-def]
    results = triager.classify(HOSTILE)
    assert len(results) == len(HOSTILE)
    for result in results:
        _check(result)


def test_batching_does_not_change_results_or_order(triager) -> None:  # type: ignore[no-untyped-def]
    texts = [
        "my flight got cancelled AGAIN, worst airline ever",
        "Thanks so much for the quick help!",
        "When will the outage be fixed?",
        "Just landed in Boston.",
        "I am so sad my bag is lost",
    ] * 3
    whole = triager.classify(texts, batch_size=64)
    ones = triager.classify(texts, batch_size=1)
    threes = triager.classify(texts, batch_size=3)
    for a, b, c in zip(whole, ones, threes, strict=True):
        assert a.sentiment == b.sentiment == c.sentiment
        assert a.emotion == b.emotion == c.emotion
        assert a.question == b.question == c.question
        # Dynamic int8 quantises activations with one scale per batch, so a score moves a little
        # with its batch companions (see models/README.md); the unquantised model is exact.
        tolerance = 0.15 if triager.quantized else 1e-4
        assert a.anger == pytest.approx(b.anger, abs=tolerance)
        assert a.question_score == pytest.approx(c.question_score, abs=tolerance)
    assert [r.sentiment for r in whole[:5]] == [r.sentiment for r in whole[5:10]]
    assert triager.classify([]) == []


def test_readings_a_person_would_agree_with(triager) -> None:  # type: ignore[no-untyped-def]
    angry, happy, question = triager.classify(
        [
            "@united you cancelled my flight and lost my bag. Worst service ever, I am furious!!",
            "Thank you @united, the crew was wonderful and we landed early. Love it!",
            "@united how do I change my booking to tomorrow?",
        ]
    )
    assert angry.sentiment == "negative" and angry.emotion == "anger" and angry.anger > 0.5
    assert happy.sentiment == "positive" and happy.emotion in {"joy", "optimism"}
    assert question.question and not happy.question


def test_replies_made_only_of_emoji_are_read_by_their_meaning(triager) -> None:  # type: ignore[no-untyped-def]
    """The encoder's vocabulary has no emoji: spelled out, a furious reply is angry and a thumbs-up
    is not, where before every emoji-only reply got one and the same reading."""
    furious, steaming, thumbs_up, crying = triager.classify(["😡😡", "@acme 😤", "👍", "😢"])
    assert furious.emotion == "anger" and furious.anger > 0.5
    assert steaming.emotion == "anger" and steaming.anger > 0.5
    assert thumbs_up.sentiment == "positive" and thumbs_up.anger < furious.anger
    assert crying.emotion == "sadness" and crying.sentiment == "negative"


def test_rejects_a_bare_string_and_bad_batch_size(triager) -> None:  # type: ignore[no-untyped-def]
    from desk.errors import Fatal

    with pytest.raises(Fatal):
        triager.classify("one string")
    with pytest.raises(Fatal):
        triager.classify(["a"], batch_size=0)


def test_classify_from_several_threads(triager) -> None:  # type: ignore[no-untyped-def]
    texts = ["where is my refund?", "great service", "this is a disaster"] * 10
    expected = [r.sentiment for r in triager.classify(texts)]
    outcomes: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            outcomes.append([r.sentiment for r in triager.classify(texts, batch_size=8)])
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert outcomes == [expected] * 4


def test_accuracy_on_the_fixed_validation_sample(triager, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Guards against a broken head: well below the validation figures, far above chance."""
    from sklearn.metrics import f1_score, recall_score

    data = load_training_data(sample_dir)
    # Measured on this sample with the shipped int8 model: 0.677, 0.760, 0.716, 0.906.
    floors = {"sentiment": 0.62, "airline": 0.70, "emotion": 0.65, "question": 0.83}
    measured = {}
    for split, examples in data.val.items():
        results = triager.classify(examples.texts)
        y = np.asarray(examples.labels)
        task = VAL_TASK[split]
        if task == "sentiment":
            pred = [["negative", "neutral", "positive"].index(r.sentiment) for r in results]
            measured[split] = recall_score(y, pred, average="macro")
        elif task == "emotion":
            pred = [["anger", "joy", "optimism", "sadness"].index(r.emotion) for r in results]
            measured[split] = f1_score(y, pred, average="macro")
        else:
            measured[split] = f1_score(y, [int(r.question) for r in results])
    for split, floor in floors.items():
        assert measured[split] >= floor, f"{split}: {measured[split]:.3f} < {floor} ({measured})"

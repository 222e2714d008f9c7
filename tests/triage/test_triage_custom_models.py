"""DESK_TRIAGE_MODEL with tiny random BERTs built here, and the training code on a tiny slice."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from desk.cli import app
from desk.config import get_settings

WORDS = """the a an is are was my your flight app down why how what when where not no yes thanks thank you
love hate great bad worst best help please refund bag lost late delay cancelled service customer
? ! . , @ user # i we it this that to for of on in and or but so very""".split()


def _tiny_bert(path: Path, *, classifier: bool, labels: dict[int, str] | None = None) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    path.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True).save_pretrained(str(path))
    kwargs = {"id2label": labels, "label2id": {v: k for k, v in labels.items()}} if labels else {}
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        **kwargs,
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config) if classifier else BertModel(config)
    model.save_pretrained(str(path))
    return path


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_a_plain_sentiment_classifier_decides_sentiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, triager
) -> None:  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from desk.triage.model import load_triager
    from desk.triage.text import prepare

    # Labels in an unusual order: the loader must map them by name.
    tiny = _tiny_bert(
        tmp_path / "tiny-sentiment", classifier=True, labels={0: "positive", 1: "negative", 2: "neutral"}
    )
    monkeypatch.setenv("DESK_TRIAGE_MODEL", str(tiny))
    custom = load_triager()
    assert custom is not triager and custom.version.startswith("tiny-sentiment+")
    texts = ["why is my flight cancelled ?", "thanks , great service !", ""]
    results = custom.classify(texts)

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny)).eval()
    tok = AutoTokenizer.from_pretrained(str(tiny))
    for text, result in zip(texts, results, strict=True):
        with torch.no_grad():
            probs = torch.softmax(model(**tok([prepare(text)], return_tensors="pt")).logits, -1)[0]
        want = {"positive": float(probs[0]), "negative": float(probs[1]), "neutral": float(probs[2])}
        for label, value in want.items():
            # The classifier runs int8 like the shipped encoder; a random tiny model moves little.
            assert result.sentiment_scores[label] == pytest.approx(value, abs=0.05)
    # Emotion and question still come from the shipped heads.
    shipped = triager.classify(texts)
    assert [r.question_score for r in results] == pytest.approx([r.question_score for r in shipped], abs=1e-6)


def test_a_plain_encoder_without_heads_is_refused_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = _tiny_bert(tmp_path / "tiny-encoder", classifier=False)
    monkeypatch.setenv("DESK_TRIAGE_MODEL", str(tiny))
    src = tmp_path / "in.txt"
    src.write_text("hello\n", encoding="utf-8")
    result = _invoke("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "python -m desk train --base" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    monkeypatch.setenv("DESK_TRIAGE_MODEL", str(tmp_path / "missing"))
    get_settings.cache_clear()
    result = _invoke("classify", str(src), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1 and "is not a directory" in result.stderr


@pytest.mark.parametrize(
    ("epochs", "database"), [("0", "sqlite"), pytest.param("1", "postgres", marks=pytest.mark.postgres)]
)
def test_training_on_a_tiny_slice_writes_a_loadable_model(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sample_dir: Path,
    epochs: str,
    database: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frozen heads (epochs 0) and LoRA fine-tuning (epochs 1) on a tiny encoder, with corrections
    read from each database."""
    db_url = str(request.getfixturevalue(f"{database}_url"))
    from desk.store.engine import make_engine
    from desk.store.migrate import upgrade
    from desk.triage.model import load_model_dir, load_triager

    engine = make_engine(db_url)
    upgrade(engine)
    from desk.triage.service import correct_triage
    from tests.triage.test_triage_service import _mention, _triage_row

    for text, sentiment in (
        ("my bag is lost , worst service", "negative"),
        ("great flight , thanks", "positive"),
    ):
        mid = _mention(engine, text, None)
        _triage_row(engine, mid, anger=0.5, negative=0.5, question=0.5)
        correct_triage(engine, mid, agent="sam", sentiment=sentiment, question=False)
    engine.dispose()

    tiny = _tiny_bert(tmp_path / "tiny-encoder", classifier=False)
    out = tmp_path / "tiny-triage"
    monkeypatch.setenv("DESK_DATABASE_URL", db_url)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DESK_TRIAGE_CACHE_DIR", str(cache))
    from desk.config import get_settings

    get_settings.cache_clear()  # settings are read once per process; this test changes them
    result = _invoke(
        "train",
        "--base",
        str(tiny),
        "--data",
        str(sample_dir),
        "--limit",
        "40",
        "--epochs",
        epochs,
        "--out",
        str(out),
        "--with-corrections",
        # The LoRA run also exercises the int8 path (quantised encoder, its own calibration).
        "--quantize" if epochs == "1" else "--no-quantize",
    )
    assert result.exit_code == 0, result.stderr
    assert "Using 4 agent correction(s)." in result.stderr

    record = json.loads((out / "triage.json").read_text(encoding="utf-8"))
    assert record["encoder"] == f"path:{tiny.resolve()}"
    assert record["training"]["corrections_used"] == 4
    assert record["training"]["train_examples"]["sentiment"] == 42  # 40 + 2 corrected sentiments
    assert record["training"]["method"] == ("lora" if epochs == "1" else "frozen")
    assert record["version"].startswith("tiny-encoder-lora-" if epochs == "1" else "tiny-encoder-frozen-")
    assert (out / "lora.safetensors").exists() == (epochs == "1")
    assert set(record["training"]["heads"]) == {"sentiment", "emotion", "question"}
    assert set(record["training"]["validation"]) >= {
        "sentiment_macro_recall",
        "emotion_macro_f1",
        "question_f1",
    }
    assert 0.0 <= record["calibration"]["question_threshold"] <= 1.0

    # The int8 run leaves the encoder it calibrated in the desk's cache, so the desk loads it
    # rather than building it again; the fp32 run leaves nothing, and the desk builds its encoder.
    left = sorted(cache.glob("triage-encoder-*.onnx")) if cache.exists() else []
    assert len(left) == (1 if epochs == "1" else 0)
    inode = left[0].stat().st_ino if left else None
    monkeypatch.setenv("DESK_TRIAGE_MODEL", str(out))
    get_settings.cache_clear()
    caplog.set_level(logging.INFO, logger="desk.triage.runtime")
    custom = load_triager()
    assert ("Building the triage encoder" in caplog.text) == (epochs == "0")
    if left:
        assert left[0].stat().st_ino == inode
        # And it is byte for byte what the desk itself builds from the written model directory.
        load_model_dir(out, cache_dir=tmp_path / "rebuilt")
        (rebuilt,) = (tmp_path / "rebuilt").glob("triage-encoder-*.onnx")
        assert rebuilt.name == left[0].name and rebuilt.read_bytes() == left[0].read_bytes()
    assert custom.version.startswith(record["version"])
    assert custom.quantized == (epochs == "1")
    assert (record["calibration_int8"] is not None) == (epochs == "1")
    assert (record["calibration_onnx_int8"] is not None) == (epochs == "1")
    assert record["runtime"] == custom.runtime == "onnxruntime"  # the tiny BERT exports and fuses too
    results = custom.classify(["why is my flight late ?", "", "😡"])
    assert len(results) == 3 and all(r.sentiment in {"negative", "neutral", "positive"} for r in results)


class _Interrupted(Exception):
    pass


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_interrupted_fine_tuning_resumes_to_the_same_model(
    tmp_path: Path, sample_dir: Path, ema: float
) -> None:
    """A run killed after its first epoch's checkpoint, then rerun with the same checkpoint,
    ends with exactly the weights of an uninterrupted run (the moving average too, with
    ``ema``); the lowest layer stays frozen."""
    from safetensors.torch import load_file

    from desk.triage.data import load_training_data
    from desk.triage.train import TrainConfig, train

    tiny = _tiny_bert(tmp_path / "tiny-encoder", classifier=False)
    data = load_training_data(sample_dir).limited(30)

    def config(out: Path, checkpoint: Path | None) -> TrainConfig:
        return TrainConfig(
            out=out,
            base=f"path:{tiny}",
            epochs=2,
            quantize=False,
            frozen_layers=1,
            checkpoint=checkpoint,
            ema=ema,
        )

    train(config(tmp_path / "whole", None), data, log=lambda _m: None)

    checkpoint = tmp_path / "run.ckpt"

    def stop_after_first_epoch(message: str) -> None:
        if message.startswith("Checkpoint after epoch 1"):
            raise _Interrupted

    with pytest.raises(_Interrupted):
        train(config(tmp_path / "resumed", checkpoint), data, log=stop_after_first_epoch)
    assert checkpoint.is_file() and not (tmp_path / "resumed").exists()

    messages: list[str] = []
    train(config(tmp_path / "resumed", checkpoint), data, log=messages.append)
    assert any(m.startswith("Resuming from") and "after epoch 1" in m for m in messages)
    assert not checkpoint.exists()  # a finished run leaves nothing to resume

    whole = load_file(str(tmp_path / "whole" / "lora.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "lora.safetensors"))
    assert whole.keys() == resumed.keys()
    assert whole and all(k.startswith("encoder.layer.1.") for k in whole)  # layer 0 frozen
    for key in whole:
        assert torch_equal(whole[key], resumed[key]), key


def test_a_moving_average_run_ends_on_the_average_and_records_the_last_steps_figures(
    tmp_path: Path, sample_dir: Path
) -> None:
    """``--ema``: with a decay so slow the average hardly leaves where training started, the saved
    LoRA B matrices (which start at zero) stay near zero while the plain run's grow; the record
    keeps the last step's validation figures beside the averaged model's."""
    from safetensors.torch import load_file

    from desk.triage.data import load_training_data
    from desk.triage.train import TrainConfig, train

    tiny = _tiny_bert(tmp_path / "tiny-encoder", classifier=False)
    data = load_training_data(sample_dir).limited(30)
    records = {}
    for name, ema in (("plain", 0.0), ("averaged", 0.99999)):
        config = TrainConfig(
            out=tmp_path / name, base=f"path:{tiny}", epochs=2, quantize=False, frozen_layers=1, ema=ema
        )
        records[name] = train(config, data, log=lambda _m: None)

    def largest_b(name: str) -> float:
        tensors = load_file(str(tmp_path / name / "lora.safetensors"))
        return max(float(t.abs().max()) for k, t in tensors.items() if k.endswith("lora_B"))

    assert largest_b("plain") > 1e-3
    assert largest_b("averaged") < largest_b("plain") / 100
    assert records["plain"]["training"]["validation_before_average"] is None
    before = records["averaged"]["training"]["validation_before_average"]
    assert set(before) >= {"sentiment_macro_recall", "emotion_macro_f1", "question_f1"}
    assert records["averaged"]["training"]["config"]["ema"] == 0.99999


def torch_equal(a, b) -> bool:  # type: ignore[no-untyped-def]
    import torch

    return bool(torch.equal(a, b))


def test_a_further_stage_starts_from_the_earlier_models_adapters_and_heads(
    tmp_path: Path, sample_dir: Path
) -> None:
    """``--init-from``: with the adapters' learning rate at 0, a further stage ends on exactly the
    earlier model's LoRA tensors (so they were loaded, not started afresh); a rank that does not
    fit is refused in plain words."""
    from safetensors.torch import load_file

    from desk.errors import Fatal
    from desk.triage.data import load_training_data
    from desk.triage.train import TrainConfig, train

    tiny = _tiny_bert(tmp_path / "tiny-encoder", classifier=False)
    data = load_training_data(sample_dir).limited(30)

    def run(name: str, **changes: Any) -> dict[str, Any]:
        config = TrainConfig(
            out=tmp_path / name, base=f"path:{tiny}", epochs=1, quantize=False, frozen_layers=1, **changes
        )
        return train(config, data, log=lambda _m: None)

    run("first")
    second = run("second", lr=0.0, init_from=tmp_path / "first")
    first_lora = load_file(str(tmp_path / "first" / "lora.safetensors"))
    second_lora = load_file(str(tmp_path / "second" / "lora.safetensors"))
    assert set(first_lora) == set(second_lora) and first_lora
    for key, tensor in first_lora.items():
        assert bool((second_lora[key] == tensor).all()), key
    earlier = json.loads((tmp_path / "first" / "triage.json").read_text(encoding="utf-8"))
    assert second["training"]["init_from"]["version"] == earlier["version"]

    with pytest.raises(Fatal, match="LoRA rank"):
        run("third", lora_rank=8, init_from=tmp_path / "first")

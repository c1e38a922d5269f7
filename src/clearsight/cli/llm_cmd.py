"""``clearsight llm``: screen texts for prompt injection, and red-team an LLM endpoint."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import TextIO

import typer

from clearsight.cli.llm_redteam import redteam
from clearsight.cli.progress import progress_bar
from clearsight.core.errors import InputError

app = typer.Typer(help="LLM security: prompt-injection detection and red-teaming.", no_args_is_help=True)
app.command("redteam")(redteam)


_PROGRESS_FROM = 1 << 20  # bytes of input: smaller files finish before a bar is worth drawing


class DetectFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


class ContextChoice(StrEnum):
    prompt = "prompt"
    document = "document"


class DetectFailOn(StrEnum):
    injection = "injection"
    never = "never"


@app.command("detect")
def detect_cmd(
    text: str | None = typer.Argument(None, help="Text to screen (or use --input)."),
    input_file: Path | None = typer.Option(None, "--input", "-i",
                                           help="JSONL with a 'text' field per line, or one text per line; "
                                                "'-' reads standard input."),
    context: ContextChoice = typer.Option(ContextChoice.prompt, "--context",
                                          help="prompt: a user's message; document: content the app retrieved."),
    fmt: DetectFormat = typer.Option(DetectFormat.table, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the results to this file."),
    threshold: float | None = typer.Option(None, "--threshold", min=0.0, max=1.0,
                                           help="Score from which a text is an injection (default: the model's)."),
    model: Path | None = typer.Option(None, "--model", help="A model trained with python -m clearsight.llm.train."),
    max_chars: int = typer.Option(1_000_000, "--max-chars", min=100, help="Longer texts are screened up to here."),
    fail_on: DetectFailOn = typer.Option(DetectFailOn.injection, "--fail-on",
                                         help="Exit 1 when a text is an injection ('never': always exit 0)."),
    record: Path | None = typer.Option(None, "--record", help="Record the run as evidence in this folder."),
    system: str | None = typer.Option(None, "--system", help="System ID the evidence is for (with --record)."),
) -> None:
    """Screen texts for prompt injection and jailbreaks, offline, in about a millisecond each.

    Results come out in input order; with --format jsonl they stream one line per text, so a large file
    needs no more memory than one line. Exit codes: 0 nothing flagged, 1 an injection found, 2 bad input.
    """
    if (text is None) == (input_file is None):
        raise InputError("give a TEXT or --input FILE (one of them)")
    if (record is None) != (system is None):
        raise InputError("--record and --system go together")
    from clearsight.llm.classifier import load_model
    from clearsight.llm.detect import Detector
    from clearsight.llm.texts import InputText, read_texts, texts_from
    from clearsight.report.injection import Screened, render_json, render_jsonl_line, render_table

    detector = Detector(load_model(model), threshold=threshold)
    if text is not None:
        inputs: Iterator[InputText] = iter([InputText(1, text[:max_chars], truncated=len(text) > max_chars)])
    elif str(input_file) == "-":
        inputs = texts_from(sys.stdin.buffer, "<stdin>", max_chars=max_chars)
    else:
        assert input_file is not None
        if not input_file.is_file():
            raise InputError("input file not found", path=str(input_file))
        inputs = read_texts(input_file, max_chars=max_chars)
    if output is not None and not output.parent.is_dir():
        raise InputError("output folder does not exist", path=str(output.parent))

    kept: list[Screened] = []
    counts = {"texts": 0, "injections": 0}
    size = input_file.stat().st_size if input_file is not None and str(input_file) != "-" else 0
    with ExitStack() as stack:
        sink = _sink(stack, output) if fmt is DetectFormat.jsonl else None
        progress = stack.enter_context(progress_bar("Screening")) if size > _PROGRESS_FROM else None
        for item in inputs:
            if progress is not None and counts["texts"] % 500 == 0:
                progress(item.end, size)
            found = Screened(item.line, item.text, detector(item.text, context.value), item.id, item.truncated)
            counts["texts"] += 1
            counts["injections"] += found.detection.flagged
            if sink is not None:
                sink.write(render_jsonl_line(found))
            else:
                kept.append(found)
    if fmt is not DetectFormat.jsonl:
        from clearsight.cli.output import write_outputs

        meta = {k: detector.model.meta.get(k) for k in ("name", "clearsight", "texts", "injections")}
        meta["threshold"] = threshold if threshold is not None else detector.model.thresholds[context.value]
        rendered = (render_json(kept, context=context.value, model=meta) if fmt is DetectFormat.json
                    else render_table(kept, context=context.value))
        write_outputs({output: rendered})
    if counts["texts"] == 0:
        raise InputError("no text to screen", path=str(input_file) if input_file else None)
    if record is not None and system is not None:
        from clearsight.evidence.recorded import record_evidence

        record_evidence(record, kind="llm.detector", system=system, source="clearsight llm detect",
                        facts={"prompt_screening": True, "context": context.value, **counts},
                        summary=f"{counts['injections']} of {counts['texts']} texts flagged as injection")
    if fail_on is DetectFailOn.injection and counts["injections"]:
        raise typer.Exit(1)


def _sink(stack: ExitStack, output: Path | None) -> TextIO:
    if output is None:
        return sys.stdout
    from clearsight.atomic_files import streamed

    return stack.enter_context(streamed(output))


"""Score texts with an offline prompt-injection detector from PyPI, for side-by-side benchmarks.

Run with the anchors venv (see ``--help`` for the anchors)::

    python3.11 -m venv benchmarks/.venv-llm-anchors
    benchmarks/.venv-llm-anchors/bin/pip install last-layer prompt-guardrail scikit-learn==1.7.2 \
        securevector-ai-monitor securevector-guardian-model
    benchmarks/.venv-llm-anchors/bin/python benchmarks/injection/anchors.py --anchor last-layer < in.jsonl > out.jsonl

Reads JSONL ``{"text": ...}`` on stdin and writes one JSONL ``{"flagged": bool, "score": float, "ms": float}``
per input line to stdout, in order (``ms`` is the scoring time of that text alone; loading is reported on stderr).
If the anchor raises on a text, the line is ``{"flagged": false, "score": 0.0, "ms": ..., "error": "..."}``.

- ``last-layer``: ``last_layer.scan_prompt(text)`` (a closed native library; it imports ``pkg_resources``, so keep a
  setuptools that still ships it, as the venv's 65.5 does); flagged = ``not passed`` (any marker: exploit
  classifier, but also mixed language, PII, profanity, ...); score = its summed marker weight (0 when passed,
  unbounded above).
- ``prompt-guardrail``: ``guardify`` TF-IDF + logistic regression; flagged = ``detect(text)["label"] == "injection"``;
  score = P(injection). Its pickles were written by scikit-learn 1.7.2: pin that version.
- ``securevector``: ``SecureVectorClient(mode="local")`` regex rules; flagged = ``is_threat``; score = risk_score / 100.
  As shipped (6.0.1) its ReDoS check rejects 191 of its 419 patterns at load time, "ignore/disregard previous
  instructions" among them; we keep that default behaviour and silence its logging.
- ``svguardian``: SecureVector Guardian, pure-Python TF-IDF + linear model; ``predict_windowed(guardian, text)``
  (what ``svguardian.serve.analyze`` calls); flagged = verdict ``malicious``; score = malicious probability mass.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

# Everything below runs without a network; make sure nothing tries one.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SECUREVECTOR_TELEMETRY_ENABLED", "false")

Scorer = Callable[[str], tuple[bool, float]]


def _last_layer() -> Scorer:
    from last_layer import scan_prompt

    def score(text: str) -> tuple[bool, float]:
        result = scan_prompt(text)
        return not result.passed, float(result.score)

    return score


def _prompt_guardrail() -> Scorer:
    from guardify import LogisticRegressionGuardrail

    guardrail = LogisticRegressionGuardrail()
    clf: Any = guardrail._clf  # detect() reports the winning class's probability; we want P(injection)
    vectorizer: Any = guardrail._vectorizer
    positive = list(clf.classes_).index(1)

    def score(text: str) -> tuple[bool, float]:
        p_injection = float(clf.predict_proba(vectorizer.transform([text]))[0][positive])
        return p_injection >= 0.5, p_injection  # same decision as clf.predict / guardify.detect

    return score


def _securevector() -> Scorer:
    from securevector import SecureVectorClient
    from securevector.models.config_models import LogLevel
    from securevector.utils.exceptions import SecurityException

    logging.disable(logging.WARNING)  # it logs every rule it drops (191 of 419 patterns) and every threat
    client = SecureVectorClient(mode="local", raise_on_threat=False, enable_caching=False, log_level=LogLevel.ERROR)
    client.config.local_config.cache_enabled = False

    def score(text: str) -> tuple[bool, float]:
        try:
            result = client.analyze(text)
        except SecurityException as blocked:  # the default policy raises on "block" whatever raise_on_threat says
            result = blocked.result
        return bool(result.is_threat), result.risk_score / 100

    return score


def _svguardian() -> Scorer:
    from svguardian import resolve_runtime
    from svguardian.model.pure_infer import PureGuardian
    from svguardian.window import predict_windowed

    guardian = PureGuardian.load(resolve_runtime())

    def score(text: str) -> tuple[bool, float]:
        prediction = predict_windowed(guardian, text)
        return prediction["verdict"] == "malicious", float(prediction["malicious_score"])

    return score


ANCHORS: dict[str, Callable[[], Scorer]] = {
    "last-layer": _last_layer,
    "prompt-guardrail": _prompt_guardrail,
    "securevector": _securevector,
    "svguardian": _svguardian,
}


def run(anchor: str, lines: TextIO, out: TextIO) -> int:
    """Score every JSONL line of ``lines`` with ``anchor``; return the number of texts scored."""
    start = time.perf_counter()
    scorer = ANCHORS[anchor]()
    scorer("Warm-up text, not scored.")  # some anchors initialise lazily on the first call
    print(f"{anchor}: loaded in {(time.perf_counter() - start) * 1000:.0f} ms", file=sys.stderr)
    count = 0
    for line in lines:
        if not line.strip():
            continue
        text = json.loads(line)["text"]
        record: dict[str, Any]
        start = time.perf_counter()
        try:
            flagged, value = scorer(text)
            record = {"flagged": flagged, "score": value}
        except Exception as error:  # one bad text must not end the run
            first_line = str(error).strip().partition("\n")[0]
            record = {"flagged": False, "score": 0.0, "error": f"{type(error).__name__}: {first_line}"}
        record["ms"] = (time.perf_counter() - start) * 1000
        out.write(json.dumps(record) + "\n")
        out.flush()
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", required=True, choices=sorted(ANCHORS))
    args = parser.parse_args()
    out = sys.stdout
    sys.stdout = sys.stderr  # libraries that print must not corrupt the JSONL stream
    count = run(args.anchor, sys.stdin, out)
    print(f"{args.anchor}: scored {count} texts", file=sys.stderr)


if __name__ == "__main__":
    main()

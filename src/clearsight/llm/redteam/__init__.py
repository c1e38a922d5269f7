"""Red-team runner: attack an LLM application over HTTP and judge its answers without another LLM.

A run plants fresh canaries (a marker in the system prompt, a fake API key, a fake customer record, one
token per probe), sends every probe of the chosen families, and judges each answer by what it contains::

    from clearsight.llm.redteam.probes import select_families
    from clearsight.llm.redteam.runner import RunSettings, run_redteam
    from clearsight.llm.redteam.targets import OpenAITarget

    target = OpenAITarget("http://127.0.0.1:8000", model="my-model")
    report = run_redteam(target, select_families(None), settings=RunSettings(rate=5))
    print(report.counts())

The judges are heuristics (see ``judge.py``): a canary in the answer is proof, a missing refusal is a strong
hint, and ``error`` is kept apart from ``resisted``.
"""

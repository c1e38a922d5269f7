"""Discovery gives the same report whatever runs it: serially, in a process pool or on a Dask cluster."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from clearsight.core.errors import InputError
from clearsight.discover import WORKER_PRELOAD
from clearsight.discover.run import discover
from clearsight.executors import DaskExecutor, LocalExecutor, SerialExecutor, executor_from

REPOS = {
    "chatbot": {"app.py": "import openai\nclient = openai.OpenAI()\nclient.chat.completions.create(model='gpt-4o')\n",
                "requirements.txt": "openai==1.40.0\n"},
    "rag": {"rag.py": "from langchain_openai import ChatOpenAI\nimport chromadb\n",
            "requirements.txt": "langchain-openai\nchromadb\n"},
    "fraud": {"train.py": "import sklearn\nimport xgboost\nimport joblib\nmodel = joblib.load('model.pkl')\n"},
    "finetune": {"tune.py": "from transformers import AutoModel\nimport peft\n"
                            "m = AutoModel.from_pretrained('org/base-model')\n"},
    "agent": {"agent.py": "import anthropic\nimport langgraph\n", ".env.example": "ANTHROPIC_API_KEY=\n"},
}


@pytest.fixture
def repos(tmp_path: Path) -> list[Path]:
    roots = []
    for name, files in REPOS.items():
        for rel, text in files.items():
            path = tmp_path / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        roots.append(tmp_path / name)
    return roots


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_serial_and_process_pool_agree(repos: list[Path]) -> None:
    serial = discover(repos)
    assert len(serial.systems) == len(repos)
    assert {c.name for c in serial.components} >= {"openai", "anthropic", "xgboost"}
    assert discover(repos, executor=SerialExecutor()).model_dump_json() == serial.model_dump_json()
    assert discover(repos, executor=LocalExecutor(2)).model_dump_json() == serial.model_dump_json()


def test_single_root_with_a_pool_is_unchanged(repos: list[Path]) -> None:
    assert (discover(repos[:1], executor=LocalExecutor(2)).model_dump_json()
            == discover(repos[:1]).model_dump_json())


def test_workers_forked_from_a_preloaded_server_agree(repos: list[Path]) -> None:
    """What the command line uses: one process imports the detectors, the workers are forked from it."""
    pool = executor_from("local", 2, preload=WORKER_PRELOAD)
    assert isinstance(pool, LocalExecutor) and pool.preload == WORKER_PRELOAD
    pool.start()
    serial = discover(repos).model_dump_json()
    assert discover(repos, executor=pool).model_dump_json() == serial
    assert discover(repos[:1], executor=pool).model_dump_json() == discover(repos[:1]).model_dump_json()


def test_workers_never_import_the_scanned_projects_modules(tmp_path: Path) -> None:
    """Run from a project's own folder, ``--jobs`` must not import its ``uuid.py`` in place of the real one
    (the fork server is ``python -c``, whose import path starts with the working directory)."""
    script = tmp_path / "bin" / "run_clearsight.py"  # what a console script is: the package's entry point, elsewhere
    script.parent.mkdir()
    script.write_text("from clearsight.cli.app import run\nif __name__ == '__main__':\n    run()\n")
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "ran"
    for name in ("uuid", "calendar", "csv", "json", "platform", "yaml"):
        (project / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    (project / "app.py").write_text("import openai\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "bot.py").write_text("import anthropic\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    command = [sys.executable, str(script), "discover", ".", str(other), "--jobs", "2", "--format", "json", "-o",
               str(tmp_path / "out.json")]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), marker.read_text()
    assert "anthropic" in (tmp_path / "out.json").read_text()


def test_spawned_workers_never_import_the_working_directorys_modules(tmp_path: Path) -> None:
    """A spawned worker is ``python -c`` too: with the working directory first on its path it imported a
    ``pickle.py`` found there before taking the parent's path (the pool broke; a ``socket.py`` would run)."""
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "ran"
    for name in ("pickle", "socket", "signal", "runpy", "types", "struct", "threading"):
        (project / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    script = tmp_path / "bin" / "pool.py"
    script.parent.mkdir()
    script.write_text("from clearsight.executors import LocalExecutor\n"
                      "if __name__ == '__main__':\n    print(LocalExecutor(2).map(abs, [-1, -2, -3]))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    done = subprocess.run([sys.executable, str(script)], cwd=project, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 2, 3]"
    assert not marker.exists(), marker.read_text()


def test_dask_local_cluster_matches_the_local_run(repos: list[Path]) -> None:
    distributed = pytest.importorskip("dask.distributed")
    expected = discover(repos).model_dump_json()
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       scheduler_port=0, dashboard_address=None)
    try:
        got = discover(repos, executor=DaskExecutor(cluster.scheduler_address)).model_dump_json()
    finally:
        cluster.close()
    assert got == expected


def test_unreachable_dask_scheduler_is_an_input_error(repos: list[Path]) -> None:
    pytest.importorskip("dask.distributed")
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):  # the client's timeout, 2 s
        discover(repos, executor=DaskExecutor(f"tcp://127.0.0.1:{_closed_port()}", timeout=2))


def test_missing_dask_says_what_to_install(monkeypatch: pytest.MonkeyPatch, repos: list[Path]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(InputError) as raised:
        discover(repos, executor=DaskExecutor("tcp://127.0.0.1:1"))
    assert "clearsight[dask]" in raised.value.diagnostic()


def test_executor_from_spec() -> None:
    assert isinstance(executor_from("local", 1), SerialExecutor)
    pool = executor_from("local", 3)
    assert isinstance(pool, LocalExecutor) and pool.jobs == 3
    dask = executor_from("dask://127.0.0.1:8786", 1)
    assert isinstance(dask, DaskExecutor) and dask.address == "tcp://127.0.0.1:8786"


@pytest.mark.parametrize("spec", ["ray://127.0.0.1:1", "dask://", "dask://127.0.0.1", "dask://host:port", ""])
def test_bad_executor_spec_is_an_input_error(spec: str) -> None:
    with pytest.raises(InputError):
        executor_from(spec, 1)


def test_jobs_must_be_positive() -> None:
    with pytest.raises(InputError):
        executor_from("local", 0)


def test_pool_workers_share_the_cores_among_their_thread_pools() -> None:
    # Each worker's OpenMP/BLAS gets its share of the cores; all-cores-each oversubscribed the machine.
    seen = LocalExecutor(2).map(os.getenv, ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"])
    expected = str(max(1, (os.cpu_count() or 1) // 2))
    assert seen == [expected, expected]

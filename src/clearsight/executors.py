"""Where independent work runs: in this process, a local process pool, or a Dask cluster.

Discovery maps over source roots, the data check over model fits (cross-validation folds, trigger tests).
Every executor returns results in the order of its inputs, so no output depends on which one ran it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any, Protocol, TypeVar

from clearsight.core.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

DASK_CONNECT_TIMEOUT = 5.0


class Executor(Protocol):
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(item) for item in items]``, possibly elsewhere, in input order. A local pool sends each item
        as ``items`` yields it, so a generator's later items can be made while workers run the first."""
        ...


class SerialExecutor:
    """Run everything in this process, one item after the other."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        return [fn(item) for item in items]


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine (``fn`` and items must pickle).

    Workers are started fresh (spawn), unless modules to ``preload`` are named and the platform has a fork
    server: then one clean process imports them once and each worker is forked from it, instead of every
    worker importing the command line and the detectors again (~0.5 s of a two-worker discovery run). Only
    callers whose modules start no OpenMP or BLAS threads on import should preload (see ``_limit_threads``).
    """

    def __init__(self, jobs: int, *, preload: Sequence[str] = ()) -> None:
        if jobs < 1:
            raise InputError("--jobs must be at least 1", field="jobs")
        self.jobs = jobs
        self.preload = tuple(preload)

    def start(self) -> None:
        """Start the fork server now (it imports the preloaded modules while the caller walks its trees);
        nothing without ``preload`` or a fork server.

        The server is ``python -c``, which puts the working directory first on its import path, and up to
        Python 3.13.0 it ignores the parent's path (CPython gh-117378): run from a scanned project's folder,
        it would import that project's ``uuid.py`` or ``yaml.py`` in place of the real ones, running code
        discovery promises never to run. ``PYTHONSAFEPATH`` keeps the working directory off its path.
        """
        if self._context().get_start_method() != "forkserver":
            return
        import multiprocessing.forkserver

        with _safe_path():
            multiprocessing.forkserver.ensure_running()

    def _context(self) -> Any:
        import multiprocessing

        # spawn, not fork: a parent that already ran OpenMP code (scikit-learn's boosting) deadlocks forked children;
        # a fork server is a clean process of its own, so its children are safe
        if self.preload and "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(self.preload))
            return context
        return multiprocessing.get_context("spawn")

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        iterator = iter(items)
        head = list(islice(iterator, 2))
        if self.jobs == 1 or len(head) <= 1:  # one item: no pool to start
            return [fn(item) for item in chain(head, iterator)]
        from concurrent.futures import ProcessPoolExecutor

        context = self._context()
        self.start()  # a no-op once started; never a fork server started without the guard above
        workers = min(self.jobs, len(items)) if isinstance(items, Sized) else self.jobs
        threads = max(1, (os.cpu_count() or 1) // workers)
        with _safe_path(), ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                               initializer=_limit_threads, initargs=(threads,)) as pool:
            return list(pool.map(fn, chain(head, iterator)))


@contextmanager
def _safe_path() -> Iterator[None]:
    """``PYTHONSAFEPATH=1`` for the processes started meanwhile: a spawned worker is ``python -c`` too, and
    imports what multiprocessing needs before it takes the parent's path."""
    saved = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = saved


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _limit_threads(threads: int) -> None:
    """Give each worker its share of the cores before it loads OpenMP or BLAS.

    Every worker's gradient boosting otherwise starts one OpenMP thread per core: two workers on two cores
    ran four spinning threads, and the out-of-sample fits of a 50,000-row check took 107 s instead of 4 s.
    """
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)


class DaskExecutor:
    """A Dask distributed scheduler at ``address`` (``tcp://host:port``); needs ``clearsight[dask]``."""

    def __init__(self, address: str, *, timeout: float = DASK_CONNECT_TIMEOUT) -> None:
        self.address = address
        self.timeout = timeout

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        import importlib

        try:
            distributed: Any = importlib.import_module("dask.distributed")
        except ImportError:
            raise InputError("the Dask executor needs Dask", hint="pip install clearsight[dask]") from None
        try:
            client: Any = distributed.Client(self.address, timeout=self.timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {self.address}: {_one_line(exc)}") from None
        try:
            futures = client.map(fn, list(items), pure=False)
            results: list[R] = client.gather(futures)
            return results
        finally:
            client.close()


def executor_from(spec: str, jobs: int = 1, *, preload: Sequence[str] = ()) -> Executor:
    """``local`` -> a process pool of ``jobs`` (serial when 1; ``preload``: see :class:`LocalExecutor`);
    ``dask://HOST:PORT`` -> that Dask scheduler."""
    if jobs < 1:
        raise InputError("--jobs must be at least 1", field="jobs")
    if spec == "local":
        return SerialExecutor() if jobs == 1 else LocalExecutor(jobs, preload=preload)
    if spec.startswith("dask://"):
        hostport = spec.removeprefix("dask://")
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise InputError(f"bad Dask address {spec!r}", field="executor", hint="dask://HOST:PORT")
        return DaskExecutor(f"tcp://{hostport}")
    raise InputError(f"unknown executor {spec!r}", field="executor", hint="local or dask://HOST:PORT")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]

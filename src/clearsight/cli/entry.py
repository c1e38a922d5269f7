"""The console script: starts discovery's workers before the command-line interface is imported.

``clearsight discover --jobs N`` forks its workers from a server that imports the detectors first (a few
tenths of a second). Started from inside the command, that server began only after the whole interface had
been imported (every command group: another tenth of a second or more), and the first files waited for it.
Here a glance at the arguments starts it at once, so both imports run side by side. The glance only ever
starts the server early: the command itself still reads and checks every argument, and starts the same
server (a no-op once it runs) or none at all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def workers_wanted(argv: Sequence[str]) -> int:
    """The ``--jobs`` of a ``discover`` command line on the local executor, else 0 (also for anything unclear)."""
    if not argv or argv[0] != "discover":
        return 0
    jobs = ""
    executor = "local"
    args = list(argv[1:])
    for at, arg in enumerate(args):
        if arg == "--":
            break
        following = args[at + 1] if at + 1 < len(args) else ""
        if arg in ("--jobs", "-j"):
            jobs = following
        elif arg.startswith("--jobs="):
            jobs = arg.removeprefix("--jobs=")
        elif arg.startswith("-j") and arg[2:].isdigit():
            jobs = arg[2:]
        elif arg == "--executor":
            executor = following
        elif arg.startswith("--executor="):
            executor = arg.removeprefix("--executor=")
    if executor != "local" or not (jobs.isascii() and jobs.isdigit()):  # "²" is a digit int() refuses
        return 0
    return int(jobs) if int(jobs) > 1 else 0


def run() -> None:
    jobs = workers_wanted(sys.argv[1:])
    if jobs:
        from clearsight.discover import WORKER_PRELOAD
        from clearsight.executors import LocalExecutor

        LocalExecutor(jobs, preload=WORKER_PRELOAD).start()
    from clearsight.cli.app import run as run_app

    run_app()

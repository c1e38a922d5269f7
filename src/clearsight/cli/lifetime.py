"""Ending the process quickly after a large run.

When ``clearsight assess`` returns, CPython frees the assessment object by object: ten million of them for
a 10,000-system portfolio, about two seconds spent after the reports are already written. A command can
instead keep its result alive until the end of the process; the console entry point then runs the exit
handlers, flushes the standard streams and ends the process, and the operating system takes the memory
back at once. Only runs that kept something end this way; in-process callers (tests) never do.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn

_kept: list[object] = []


def keep_until_exit(value: object) -> None:
    """Hold ``value`` until the process ends, instead of freeing it when the command returns."""
    _kept.append(value)


def release() -> None:
    """Drop what earlier in-process runs kept (each ``main()`` call starts clean)."""
    _kept.clear()


def exit_process(code: int) -> NoReturn:
    """End the process with ``code``; skip the heap's teardown when a command kept a large result."""
    if not _kept:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing left to flush
            stream.flush()
    os._exit(code)

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
import threading
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
    current = threading.current_thread()
    for thread in threading.enumerate():  # what the interpreter's own shutdown waits for
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # output was lost (a closed pipe): say so, as Python's own exit does
        code = code or 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)

"""What a discovery worker has ready before its first file: the detectors, and their gate words compiled.

Workers forked from one server that imported this inherit both, so the database of gate words
(:mod:`~clearsight.discover.text_gates`) is built or read from its cache once per run, not once per worker.
Nothing here imports pydantic (a tenth of a second): a local worker only reads and detects, for one root or
several (the parent groups each root).
"""

from clearsight.discover import chunks as _chunks  # noqa: F401  (the task function the workers are sent)
from clearsight.discover import registry as _registry  # noqa: F401  (the detectors, for the workers)
from clearsight.discover.text_gates import available

available()

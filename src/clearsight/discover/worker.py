"""What a discovery worker has ready before its first file: the detectors, and their gate words compiled.

Workers forked from one server that imported this inherit both, so the database of gate words
(:mod:`~clearsight.discover.text_gates`) is built or read from its cache once per run, not once per worker.
"""

from clearsight.discover import registry as _registry  # noqa: F401  (the detectors, for the workers)
from clearsight.discover import run as _run  # noqa: F401  (the task functions the workers are sent)
from clearsight.discover.text_gates import available

available()

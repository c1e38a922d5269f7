"""Training-data defences: poisoning screening, baseline diffs and manifests (``clearsight data``).

Needs the ``data`` extra (NumPy, SciPy, scikit-learn, PyArrow); nothing here is imported by the core CLI
until a ``data`` command runs.
"""

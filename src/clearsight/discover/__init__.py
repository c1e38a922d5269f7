"""Discovery: find the AI systems in source trees — declared or not (shadow AI) — and what they are made of.

Detectors look at one file each and report Observations; the runner walks the trees, the grouping step turns
observations into components and components into systems. Nothing here imports or runs the code it reads.
"""

# What a local worker needs imported: the detectors and their compiled gate words. Nothing there starts OpenMP
# or BLAS threads, so workers may be forked from one process that imported it once. A local worker only reads
# and detects, whatever the number of roots (the parent groups: see clearsight.discover.run).
WORKER_PRELOAD = ("clearsight.discover.worker",)

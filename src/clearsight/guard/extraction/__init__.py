"""Model-extraction detection for the runtime guard: PRADA plus boundary and out-of-distribution signals.

``ExtractionMonitor`` is what the guard calls per request; the other names are exported for tests,
benchmarks and anyone tuning a policy.
"""

from clearsight.guard.extraction.monitor import SIGNALS, ExtractionMonitor, ExtractionSettings, ExtractionVerdict
from clearsight.guard.extraction.prada import PradaDetector
from clearsight.guard.extraction.rates import RateTracker, critical_counts
from clearsight.guard.extraction.reference import Reference

__all__ = [
    "SIGNALS",
    "ExtractionMonitor",
    "ExtractionSettings",
    "ExtractionVerdict",
    "PradaDetector",
    "RateTracker",
    "Reference",
    "critical_counts",
]

"""Clearsight: AI security posture from inventory to action plan.

The main job in one call::

    from clearsight.assess.pipeline import assess_path
    assessment = assess_path("examples/fraud-detection")

Everything a report shows is read from the returned :class:`~clearsight.core.assessment.Assessment`.
"""

__version__ = "0.1.0"

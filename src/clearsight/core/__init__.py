"""The domain model: pydantic values with stable IDs, no I/O and no heavy imports.

Every other layer depends on this package; it depends on nothing but pydantic.
"""

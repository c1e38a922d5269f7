"""Renderers of an Assessment. Each format is one module; ``registry`` is the only place that lists them."""

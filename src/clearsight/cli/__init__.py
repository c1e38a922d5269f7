"""The ``clearsight`` command: thin modules that parse, call library code and render."""

"""Reading the declared AI inventory (clearsight.yaml)."""

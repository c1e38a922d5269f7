"""Reading the declared AI inventory (clearsight.yaml)."""

# Looked for before anything is loaded (discovery asks whether a folder has one without importing the loader).
INVENTORY_NAMES = ("clearsight.yaml", "clearsight.yml")

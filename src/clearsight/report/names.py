"""The report format names, importable without loading any renderer (the CLI's help needs them)."""

FORMAT_NAMES = ("json", "md", "html", "sarif", "navigator", "csv")

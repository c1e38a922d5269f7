"""Model-artifact security: scan model files without loading them, and check pre-trained models.

Nothing here unpickles, imports or executes what it scans.
"""

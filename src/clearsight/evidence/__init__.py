"""Evidence collectors: everything that looks at the world and reports what it saw as Evidence.

This issue ships the attestation collector; discovery, scanners, the guard and data checks plug into the
same registry (``collectors.COLLECTORS``) in later work.
"""

"""The package version, in one place (read by setuptools and by the index's engine fingerprint)."""

__version__ = "0.2.0"

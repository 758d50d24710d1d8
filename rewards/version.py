"""The package version, semantic versioning; GET /version reports it."""

__version__ = "1.0.0"

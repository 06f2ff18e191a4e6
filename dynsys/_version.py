"""The version of dynsys (one place; the package, provenance and files read it)."""

__version__ = "0.1.0"

"""The package version: its own module, so that no module of the package imports ``unrated``."""

__version__ = "0.1.0"

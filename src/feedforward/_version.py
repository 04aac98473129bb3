"""The package's version: one place, imported by modules that write it into files."""

__version__ = "0.1.0"

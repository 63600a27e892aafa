"""codesign: structured co-design consultations for public services."""

__version__ = "0.1.0"

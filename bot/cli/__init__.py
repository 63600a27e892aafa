"""The ``codesign`` command line."""

"""Running codesign as a set of supervised processes, on one machine or many.

- ``layout``: which processes a machine runs and on which ports, read from the
  environment (the same variables on every machine; only their values differ);
- ``render``: the supervisord and nginx configuration files for a layout;
- ``preflight``: the services a mode needs (PostgreSQL, Redis), checked before starting;
- ``watchdog``: restarts a process that is alive but no longer answers its health check.

``make run`` (embedded default) and ``make run-scaled`` drive these through
``codesign ops``.
"""

"""The action server: rasa-sdk's app in one process, behind a shared-secret token.

``python -m bot.action_server`` serves the custom actions of ``actions/`` to Rasa. It
differs from ``python -m rasa_sdk`` in two ways that matter in production:

- **One process.** rasa-sdk runs its work in a child process under a manager that keeps
  the port; when the child dies the port stays open and every call hangs. Here the
  process that holds the port is the one that answers, so a crash frees the port and
  the process supervisor (supervisord, Kubernetes) restarts it.
- **A token.** Rasa sends ``Authorization: Bearer <ACTION_SERVER_TOKEN>`` (see
  ``endpoints.yml``); ``/webhook`` and ``/actions`` refuse anything else with 401.
  ``/health`` stays open for probes.
"""

"""Routers of the web app, one per area (``public``; the manager dashboard comes next)."""

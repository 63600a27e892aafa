"""Rasa custom actions: thin adapters from rasa-sdk to ``bot``."""

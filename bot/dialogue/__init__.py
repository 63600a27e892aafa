"""The conversation logic behind the custom actions: channel-independent and testable."""

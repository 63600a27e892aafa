"""The Telegram bridge: python-telegram-bot in front of Rasa's REST channel.

Private chats are relayed to Rasa under a pseudonymous sender id; replies come back as
plain-text messages with inline keyboards. ``codesign telegram`` runs it (polling by
default, or a webhook); ``build_application`` builds it for tests and embedding.
"""

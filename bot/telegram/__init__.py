"""The Telegram bridge: python-telegram-bot in front of Rasa's REST channel.

Private chats are relayed to Rasa under a pseudonymous sender id; replies come back as
plain-text messages with inline keyboards. ``codesign telegram`` runs it (polling by
default, or a webhook); ``build_application`` builds it for tests and embedding.

Its state is in the app store, chat ids sealed, so that a bridge restarted on another
machine loses and repeats nothing: updates received (``inbox``), messages on their way
to Rasa (``outbox``), replies on their way to the chat (``replies``), contacts, keys
handled once (``guards``) and long button payloads (``render``); ``upkeep`` retries and
prunes them.
"""

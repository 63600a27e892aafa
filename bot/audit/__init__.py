"""The audit trail: who among staff did what, when and to what (``bot.audit.trail``), read
back with filters (``bot.audit.query``) and downloaded as CSV or JSON
(``bot.audit.download``). Never citizen text, never a raw Telegram or web id."""

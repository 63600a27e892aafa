"""Data-protection requests: find everything stored about one citizen by their Telegram
or web id (``subject``), give them a copy (``access``) or erase it everywhere
(``erasure``), including Rasa's tracker store (``tracker``) and the Telegram bridge's
state (``bridge``)."""

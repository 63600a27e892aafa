"""Extensions loaded by the Rasa server (Python 3.10, Rasa venv).

Rasa imports this package for the tracker store named in ``endpoints.yml``; importing it
also installs the speed-ups of ``rasa_ext.speedups`` and the time limit and apology of
``rasa_ext.unavailable``.
"""

from rasa_ext import speedups, unavailable

speedups.apply()
unavailable.apply()

"""Extensions loaded by the Rasa server (Python 3.10, Rasa venv).

Rasa imports this package for the tracker store named in ``endpoints.yml``; importing it
also installs the speed-ups of ``rasa_ext.speedups``.
"""

from rasa_ext import speedups

speedups.apply()

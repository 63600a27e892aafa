"""Extensions loaded by the Rasa server (Python 3.10, Rasa venv).

Rasa imports this package for the tracker store named in ``endpoints.yml``; importing it
also installs the speed-ups of ``rasa_ext.speedups``, the time limit and apology of
``rasa_ext.unavailable`` and the refusal to carry on with an empty conversation when
the tracker store fails (``rasa_ext.tracker_store``).
"""

from rasa_ext import speedups, tracker_store, unavailable

speedups.apply()
unavailable.apply()
tracker_store.refuse_fallback()

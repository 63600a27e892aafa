"""Extensions loaded by the Rasa server (Python 3.10, Rasa venv).

Rasa imports this package for the tracker store named in ``endpoints.yml``; importing it
also installs the speed-ups of ``rasa_ext.speedups``, the time limit and apology of
``rasa_ext.unavailable``, the cap on what NLU reads of a message
(``rasa_ext.nlu_input``), silence about unparsable payloads (``rasa_ext.payloads``) and
the refusal to carry on with an empty conversation when
the tracker store fails (``rasa_ext.tracker_store``).
"""

from rasa_ext import nlu_input, payloads, speedups, tracker_store, unavailable

speedups.apply()
nlu_input.apply()
payloads.quiet_payload_warnings()
unavailable.apply()
tracker_store.refuse_fallback()

"""The load benchmark: simulated citizens take part in whole consultations at once, over
REST and socket.io, against the embedded default or the scaled mode; then the app store
is checked for lost, duplicated and wrong answers and incomplete transcripts.

Run: ``.venv/bin/python -m bench.load --help``. ``make bench`` runs ``--mode both --think
0-5``: the search for the sustainable rate on the embedded default and on the scaled mode
(their ratio), then the burst on each, in about 20 minutes (think times of 0-10 s make
every search step last about three minutes).

Modules: ``script`` (the bot's wording, what to answer and how), ``transports`` (REST,
socket.io), ``citizen`` (one simulated citizen), ``scenario`` (runs and the search for
the sustainable rate), ``stats`` (figures), ``check`` (the store check), ``targets``
(the deployments), ``cli`` (command line and output).
"""

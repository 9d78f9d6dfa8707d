"""The ``mdk`` command, kept apart from what the notebooks import.

* :mod:`.cli` — the typer app (``mdk up/down/serve/token/status/run/doctor/golden``);
* :mod:`.runner` — runs notebooks with papermill (``mdk run``);
* :mod:`.golden` — generates 07's question cells from the bank, re-executes notebooks and
  keeps only their golden outputs;
* :mod:`.doctor` — checks the machine (Python, Java, the services).

The library never imports this package. It sits on top: it may import anything in
:mod:`recipes`, notably :mod:`recipes.stack` (the background services, which the serving
client also needs) and :mod:`recipes.java` (which the Spark session also needs).
Importing it has no side effects.
"""

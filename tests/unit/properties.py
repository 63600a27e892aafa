"""Hypothesis settings profiles and the outcome tally of the property-based tests
(tests/unit/test_properties_*.py).

Profiles (``HYPOTHESIS_PROFILE`` picks one; the default is ``ci`` under ``CI=true``,
``dev`` otherwise):

- ``ci``: a fixed number of examples per property, derandomised (the same examples every
  run, so CI does not turn red by chance), no example database; sized so that all the
  property tests together take well under two minutes on two cores;
- ``dev``: as many examples, random ones, remembered in Hypothesis's local database;
- ``thorough``: ten times as many, for a long local run.

Every property records what each example came to (``tally(...)``: a valid result, or the
named error it raised); ``report_outcomes`` prints the counts after each module.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import IN_CI

EXAMPLES = 150
settings.register_profile("ci", max_examples=EXAMPLES, derandomize=True, database=None,
                          deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=EXAMPLES * 10, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev")
settings.load_profile(PROFILE)

#: property name -> outcome -> how many examples came to it
OUTCOMES: dict[str, Counter[str]] = {}


def tally(prop: str, outcome: str) -> None:
    """Count one example of ``prop`` as having come to ``outcome``."""
    OUTCOMES.setdefault(prop, Counter())[outcome] += 1


@pytest.fixture(scope="module")
def report_outcomes(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module, print how many examples each of its properties tried and what
    they came to (past pytest's output capture, as ``capsys.disabled`` does)."""
    before = set(OUTCOMES)
    yield
    lines = [f"{request.module.__name__} (Hypothesis profile {PROFILE}):"]
    for prop in sorted(set(OUTCOMES) - before):
        counts = OUTCOMES[prop]
        listed = ", ".join(f"{outcome} {n}" for outcome, n in counts.most_common())
        lines.append(f"  {prop}: {sum(counts.values())} examples ({listed})")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(lines))

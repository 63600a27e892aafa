"""The "Who took part" figures of one consultation, read from the store: each profile
dimension against the population (overall and per channel), and the choice and scale
questions' results weighted to the population.

Profile questions are those the current version marks ``profile: <dimension>``; answers
to the same question key in earlier versions count too. The population is the one the
current version names.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from bot.consultations.population import PREFER_NOT
from bot.review.representation import DimensionComparison, compare
from bot.review.stats import current_questions, options
from bot.review.weighting import Raking, rake
from bot.store.models import Answer, Consultation, ConsultationVersion, Participation, Question


@dataclass(frozen=True)
class WeightedResult:
    """One choice or scale question: each option's unweighted and weighted share of the
    participants who answered it."""

    key: str
    text: str
    rows: list[tuple[str, float, float]]
    answered: int


@dataclass(frozen=True)
class WhoTookPart:
    """Everything the page, the API and the exports show."""

    participants: int
    population_source: str | None
    population_title: str | None
    dimensions: list[DimensionComparison]
    by_channel: dict[str, list[DimensionComparison]]
    channels: dict[str, int]
    raking: Raking
    #: participation id -> weight (1 for everyone when there is nothing to weight by).
    weights: dict[int, float]
    weighted: list[WeightedResult]


@dataclass(frozen=True)
class _Person:
    participation_id: int
    channel: str
    profile: dict[str, str | None]


def _versions(consultation_id: int) -> Any:
    return select(ConsultationVersion.id).where(
        ConsultationVersion.consultation_id == consultation_id)


def _answered(session: Session, consultation_id: int,
              keys: list[str]) -> Iterator[tuple[int, str, list[str]]]:
    """(participation id, question key, chosen values) of every answer (not skipped) to
    these question keys, in any version. The stored JSON is read as text and decoded once
    per distinct value: a few dozen, where the rows are tens of thousands."""
    decoded: dict[str, list[str]] = {}
    rows = session.connection().execute(
        select(Answer.participation_id, Question.key, cast(Answer.value, Text))
        .join(Question, Question.id == Answer.question_id)
        .where(Question.version_id.in_(_versions(consultation_id)),
               Question.key.in_(keys), Answer.status == "answered")).all()
    for pid, key, stored in rows:
        items = decoded.get(stored)
        if items is None:
            value = json.loads(stored) if stored is not None else None
            items = decoded[stored] = [str(v) for v in
                                       (value if isinstance(value, list) else [value])
                                       if v is not None]
        yield pid, key, items


def _people(session: Session, consultation_id: int,
            profiles: dict[str, str]) -> list[_Person]:
    """Every participation with its channel and profile answers (key -> dimension)."""
    people = {pid: _Person(pid, channel, {d: None for d in profiles.values()})
              for pid, channel in session.connection().execute(
                  select(Participation.id, Participation.channel)
                  .where(Participation.version_id.in_(_versions(consultation_id)))
                  .order_by(Participation.id)).all()}
    for pid, key, items in _answered(session, consultation_id, list(profiles)):
        if items:
            people[pid].profile[profiles[key]] = items[0]
    return list(people.values())


def _comparisons(people: list[_Person], questions: list[Question],
                 population: dict[str, dict[str, float]]) -> list[DimensionComparison]:
    found = []
    for question in questions:
        dimension = question.definition["profile"]
        values = [p.profile.get(dimension) for p in people]
        counts = Counter(v for v in values if v and v != PREFER_NOT)
        found.append(compare(dimension, counts, population.get(dimension),
                             preferred_not=sum(v == PREFER_NOT for v in values),
                             order=[o for o in options(question) if o != PREFER_NOT]))
    return found


def _weighted(session: Session, consultation_id: int, questions: list[Question],
              weights: dict[int, float]) -> list[WeightedResult]:
    """Choice and scale questions (not the profile ones): shares unweighted and weighted."""
    wanted = [q for q in questions if q.type != "open" and not q.definition.get("profile")]
    if not wanted:
        return []
    picks: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)
    for pid, key, items in _answered(session, consultation_id, [q.key for q in wanted]):
        picks[key].append((pid, items))
    results = []
    for question in wanted:
        answers = picks.get(question.key, [])
        plain: Counter[str] = Counter()
        weighted: defaultdict[str, float] = defaultdict(float)
        for pid, items in answers:
            for item in items:
                plain[item] += 1
                weighted[item] += weights.get(pid, 1.0)
        n = len(answers)
        total = sum(weights.get(pid, 1.0) for pid, _ in answers)
        order = options(question) + sorted(k for k in plain if k not in options(question))
        results.append(WeightedResult(question.key, question.text, [
            (o, plain[o] / n if n else 0.0, weighted[o] / total if total else 0.0)
            for o in order], n))
    return results


@dataclass(frozen=True)
class _Weighed:
    population: dict[str, Any]
    questions: list[Question]
    profile_questions: list[Question]
    people: list[_Person]
    raking: Raking

    @property
    def weights(self) -> dict[int, float]:
        return {p.participation_id: w
                for p, w in zip(self.people, self.raking.weights, strict=True)}


def _weigh(session: Session, consultation_id: int) -> _Weighed | None:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.current_version is None:
        return None
    definition: dict[str, Any] = consultation.current_version.definition
    population: dict[str, Any] = definition.get("population") or {}
    questions = current_questions(session, consultation_id)
    profile_questions = [q for q in questions if q.definition.get("profile")]
    people = _people(session, consultation_id,
                     {q.key: q.definition["profile"] for q in profile_questions})
    known = [{d: (v if v != PREFER_NOT else None) for d, v in p.profile.items()}
             for p in people]
    return _Weighed(population, questions, profile_questions, people,
                    rake(known, population.get("dimensions") or {}))


def weights_of(session: Session, consultation_id: int) -> dict[int, float] | None:
    """Each participation's weight to the population (for the exports), or None when the
    consultation has nothing to weight by (no population, or nobody answered a profile
    question)."""
    weighed = _weigh(session, consultation_id)
    if weighed is None or not weighed.raking.dimensions:
        return None
    return weighed.weights


def who_took_part(session: Session, consultation_id: int) -> WhoTookPart | None:
    """The figures of ``consultation_id`` (None when it does not exist)."""
    weighed = _weigh(session, consultation_id)
    if weighed is None:
        return None
    population, people = weighed.population, weighed.people
    shares: dict[str, dict[str, float]] = population.get("dimensions") or {}
    profile_questions, raking, weights = weighed.profile_questions, weighed.raking, \
        weighed.weights
    questions = weighed.questions
    channels = Counter(p.channel for p in people)
    return WhoTookPart(
        participants=len(people),
        population_source=population.get("source"),
        population_title=population.get("title"),
        dimensions=_comparisons(people, profile_questions, shares),
        by_channel={channel: _comparisons([p for p in people if p.channel == channel],
                                          profile_questions, shares)
                    for channel in sorted(channels)},
        channels=dict(sorted(channels.items())),
        raking=raking,
        weights=weights,
        weighted=_weighted(session, consultation_id, questions, weights),
    )


def as_json(figures: WhoTookPart) -> dict[str, Any]:
    """The figures as plain JSON (the API and the JSON export)."""
    def dimension(d: DimensionComparison) -> dict[str, Any]:
        return {"dimension": d.dimension, "answered": d.answered,
                "preferred_not_to_say": d.preferred_not, "chi_square": d.chi_square,
                "p_value": d.p_value, "few_expected": d.few_expected,
                "categories": [{"name": c.name, "count": c.count,
                                "sample_share": c.sample_share,
                                "population_share": c.population_share,
                                "index": c.index, "flag": c.flag} for c in d.categories]}
    return {
        "participants": figures.participants,
        "population": {"title": figures.population_title, "source": figures.population_source},
        "channels": figures.channels,
        "dimensions": [dimension(d) for d in figures.dimensions],
        "by_channel": {c: [dimension(d) for d in ds] for c, ds in figures.by_channel.items()},
        "weighting": {"dimensions": figures.raking.dimensions,
                      "effective_sample_size": figures.raking.effective_size,
                      "largest_weight": figures.raking.largest,
                      "warnings": figures.raking.warnings},
        "weighted_results": [{"question": r.key, "text": r.text, "answered": r.answered,
                              "options": [{"option": o, "share": s, "weighted_share": w}
                                          for o, s, w in r.rows]} for r in figures.weighted],
    }

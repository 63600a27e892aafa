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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.orm import Session

from bot.consultations.population import PREFER_NOT
from bot.review.representation import DimensionComparison, compare
from bot.review.stats import current_questions, options, version_ids
from bot.review.weighting import Raking, rake
from bot.store.models import Answer, Consultation, Participation, Question


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
    weighted: list[WeightedResult]


#: One value per profile dimension (in the profile questions' order); None: no answer.
Profile = tuple[str | None, ...]


class _Decoder:
    """Stored JSON text -> its values, decoded once per distinct text (a few dozen texts
    where the rows are tens of thousands)."""

    def __init__(self) -> None:
        self._seen: dict[str | None, list[str]] = {}

    def values(self, stored: str | None) -> list[str]:
        found = self._seen.get(stored)
        if found is None:
            value = json.loads(stored) if stored is not None else None
            found = self._seen[stored] = [str(v) for v in (
                value if isinstance(value, list) else [value]) if v is not None]
        return found

    def first(self, stored: str | None) -> str | None:
        values = self.values(stored)
        return values[0] if values else None


def _profile_table(consultation_id: int, keys: list[str]) -> Any:
    """Per participation, the stored answer text of each profile question (columns d0…,
    in ``keys`` order); participations without any profile answer have no row."""
    columns = [func.max(case((Question.key == key, cast(Answer.value, Text)))).label(f"d{i}")
               for i, key in enumerate(keys)]
    return (select(Answer.participation_id.label("pid"), *columns)
            .join(Question, Question.id == Answer.question_id)
            .where(Question.version_id.in_(version_ids(consultation_id)),
                   Question.key.in_(keys), Answer.status == "answered")
            .group_by(Answer.participation_id).subquery())


def _groups(session: Session, consultation_id: int,
            keys: list[str]) -> Counter[tuple[str, Profile]]:
    """How many participations share each (channel, profile): one grouped query."""
    decode = _Decoder()
    versions = Participation.version_id.in_(version_ids(consultation_id))
    if not keys:
        return Counter({(channel, ()): int(n) for channel, n in session.connection().execute(
            select(Participation.channel, func.count()).where(versions)
            .group_by(Participation.channel))})
    table = _profile_table(consultation_id, keys)
    dims = [table.c[f"d{i}"] for i in range(len(keys))]
    rows = session.connection().execute(
        select(Participation.channel, *dims, func.count())
        .outerjoin(table, table.c.pid == Participation.id).where(versions)
        .group_by(Participation.channel, *dims)).all()
    groups: Counter[tuple[str, Profile]] = Counter()
    for channel, *stored, count in rows:
        groups[(channel, tuple(decode.first(v) for v in stored))] += int(count)
    return groups


def _rake(profiles: Counter[Profile], dimensions: list[str],
          population: dict[str, dict[str, float]]) -> tuple[Raking, dict[Profile, float]]:
    """Rake one row per participant; everyone with the same profile gets the same weight,
    returned per profile."""
    order = list(profiles)
    rows: list[dict[str, str | None]] = []
    for profile in order:  # one mapping per profile, repeated (rake only reads them)
        rows += [dict(zip(dimensions, (v if v != PREFER_NOT else None for v in profile),
                          strict=True))] * profiles[profile]
    raking = rake(rows, population)
    weights: dict[Profile, float] = {}
    at = 0
    for profile in order:
        weights[profile] = raking.weights[at] if profiles[profile] else 1.0
        at += profiles[profile]
    return raking, weights


def _comparisons(profiles: Counter[Profile], questions: list[Question],
                 population: dict[str, dict[str, float]]) -> list[DimensionComparison]:
    found = []
    for i, question in enumerate(questions):
        dimension = question.definition["profile"]
        counts: Counter[str] = Counter()
        for profile, n in profiles.items():
            value = profile[i]
            if value is not None:
                counts[value] += n
        preferred_not = counts.pop(PREFER_NOT, 0)
        found.append(compare(dimension, counts, population.get(dimension),
                             preferred_not=preferred_not,
                             order=[o for o in options(question) if o != PREFER_NOT]))
    return found


def _weighted(session: Session, consultation_id: int, questions: list[Question],
              keys: list[str], weights: dict[Profile, float]) -> list[WeightedResult]:
    """Choice and scale questions (not the profile ones): shares unweighted and weighted,
    from the answers grouped by value and profile (one query)."""
    wanted = [q for q in questions if q.type != "open" and not q.definition.get("profile")]
    if not wanted:
        return []
    decode = _Decoder()
    plain: dict[str, Counter[str]] = defaultdict(Counter)
    weighted: dict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    answered: Counter[str] = Counter()
    total: defaultdict[str, float] = defaultdict(float)
    dims: list[Any] = []
    query = (select(Question.key, cast(Answer.value, Text))
             .join(Question, Question.id == Answer.question_id)
             .where(Question.version_id.in_(version_ids(consultation_id)),
                    Question.key.in_([q.key for q in wanted]), Answer.status == "answered"))
    if keys:
        table = _profile_table(consultation_id, keys)
        dims = [table.c[f"d{i}"] for i in range(len(keys))]
        query = query.add_columns(*dims).outerjoin(table,
                                                   table.c.pid == Answer.participation_id)
    query = query.add_columns(func.count()).group_by(Question.key, cast(Answer.value, Text),
                                                     *dims)
    for row in session.connection().execute(query).all():
        key, stored, count = str(row[0]), row[1], int(row[-1])
        profile_text: tuple[str | None, ...] = tuple(row[2:-1])
        weight = weights.get(tuple(decode.first(v) for v in profile_text), 1.0)
        answered[key] += count
        total[key] += count * weight
        for item in decode.values(stored):
            plain[key][item] += count
            weighted[key][item] += count * weight
    results = []
    for question in wanted:
        key, n = question.key, answered[question.key]
        order = options(question) + sorted(k for k in plain[key] if k not in options(question))
        results.append(WeightedResult(key, question.text, [
            (o, plain[key][o] / n if n else 0.0,
             weighted[key][o] / total[key] if total[key] else 0.0) for o in order], n))
    return results


@dataclass(frozen=True)
class _Weighed:
    population: dict[str, Any]
    questions: list[Question]
    profile_questions: list[Question]
    groups: Counter[tuple[str, Profile]]
    raking: Raking
    weights: dict[Profile, float]

    @property
    def keys(self) -> list[str]:
        return [q.key for q in self.profile_questions]

    def profiles(self, channel: str | None = None) -> Counter[Profile]:
        return _profiles(self.groups, channel)


def _profiles(groups: Counter[tuple[str, Profile]],
              channel: str | None = None) -> Counter[Profile]:
    """How many participations (on ``channel``, or any) have each profile."""
    found: Counter[Profile] = Counter()
    for (on, profile), n in groups.items():
        if channel is None or on == channel:
            found[profile] += n
    return found


def _weigh(session: Session, consultation_id: int) -> _Weighed | None:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.current_version is None:
        return None
    definition: dict[str, Any] = consultation.current_version.definition
    population: dict[str, Any] = definition.get("population") or {}
    questions = current_questions(session, consultation_id)
    profile_questions = [q for q in questions if q.definition.get("profile")]
    groups = _groups(session, consultation_id, [q.key for q in profile_questions])
    raking, weights = _rake(_profiles(groups), [q.definition["profile"] for q in profile_questions],
                            population.get("dimensions") or {})
    return _Weighed(population, questions, profile_questions, groups, raking, weights)


def weights_of(session: Session, consultation_id: int) -> dict[int, float] | None:
    """Each participation's weight to the population (for the exports), or None when the
    consultation has nothing to weight by (no population, or nobody answered a profile
    question)."""
    weighed = _weigh(session, consultation_id)
    if weighed is None or not weighed.raking.dimensions:
        return None
    decode = _Decoder()
    table = _profile_table(consultation_id, weighed.keys)
    rows = session.connection().execute(
        select(Participation.id, *[table.c[f"d{i}"] for i in range(len(weighed.keys))])
        .outerjoin(table, table.c.pid == Participation.id)
        .where(Participation.version_id.in_(version_ids(consultation_id)))).all()
    return {pid: weighed.weights.get(tuple(decode.first(v) for v in stored), 1.0)
            for pid, *stored in rows}


def who_took_part(session: Session, consultation_id: int) -> WhoTookPart | None:
    """The figures of ``consultation_id`` (None when it does not exist)."""
    weighed = _weigh(session, consultation_id)
    if weighed is None:
        return None
    population = weighed.population
    shares: dict[str, dict[str, float]] = population.get("dimensions") or {}
    channels: Counter[str] = Counter()
    for (channel, _), n in weighed.groups.items():
        channels[channel] += n
    return WhoTookPart(
        participants=sum(channels.values()),
        population_source=population.get("source"),
        population_title=population.get("title"),
        dimensions=_comparisons(weighed.profiles(), weighed.profile_questions, shares),
        by_channel={channel: _comparisons(weighed.profiles(channel),
                                          weighed.profile_questions, shares)
                    for channel in sorted(channels)},
        channels=dict(sorted(channels.items())),
        raking=weighed.raking,
        weighted=_weighted(session, consultation_id, weighed.questions, weighed.keys,
                           weighed.weights),
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

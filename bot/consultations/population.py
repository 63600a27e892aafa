"""Reference populations: who lives in the area, per profile dimension (census shares).

A consultation names its population inline or by the name of a shared file of its
agency (``consultations/population/riverside.yml``)::

    population: riverside            # or, inline:
    population:
      source: Census 2021, Riverside (ONS table TS007)
      dimensions:
        age_band: {16-34: 0.31, 35-64: 0.47, 65 and over: 0.22}
        area: {North ward: 5200, South ward: 4800}      # counts are fine too

Each dimension gives shares (summing to 1 within ``SHARE_TOLERANCE``) or counts (turned
into shares). ``check_against_questions`` then holds them to the consultation's profile
questions: one question per dimension, with the same categories as its options (besides
"Prefer not to say").
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT
from bot.consultations.checking import Checker, ConsultationFileError, Issue
from bot.consultations.yamlsource import YamlSyntaxError, load_with_lines

#: The option every profile question offers (added when the file leaves it out).
PREFER_NOT = "Prefer not to say"
#: How far from 1 a dimension's shares may sum (census tables are rounded).
SHARE_TOLERANCE = 0.02
DIMENSION_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_CATEGORIES = 40
FILE_FIELDS = {"title", "source", "dimensions"}


def population_dir() -> Path:
    """Where shared population files live (``CODESIGN_POPULATION_DIR``, by default
    ``consultations/population``)."""
    return Path(os.environ.get("CODESIGN_POPULATION_DIR")
                or PROJECT_ROOT / "consultations" / "population")


def read(check: Checker, value: Any, folder: Path | None) -> dict[str, Any] | None:
    """The population a consultation names (``value``: a shared file's name or an inline
    mapping), normalised to ``{"source", "title", "dimensions": {dim: {category:
    share}}}``; problems go to ``check`` (a shared file's with its own line numbers)."""
    if value is None:
        return None
    if isinstance(value, str):
        name = value.strip()
        if not NAME_RE.match(name):
            check.add("population", "must be the name of a population file (e.g. 'riverside' "
                                    "for population/riverside.yml) or a mapping with dimensions")
            return None
        path = (folder or population_dir()) / f"{name}.yml"
        try:
            return parse_population_file(path)
        except ConsultationFileError as exc:
            for issue in exc.issues:
                check.add("population", f"{path.name}: {issue}")
            return None
    if not isinstance(value, dict):
        check.add("population", "must be the name of a population file or a mapping with "
                                "'source' and 'dimensions'")
        return None
    return _population(check, value, "population")


def parse_population_file(path: Path) -> dict[str, Any]:
    """Read and validate a shared population file.

    Raises:
        ConsultationFileError: naming the file, with every problem and its line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConsultationFileError(
            [Issue("", f"no population file {path} (shared files live in "
                       f"{path.parent}; set CODESIGN_POPULATION_DIR to use another folder)")],
            str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsultationFileError([Issue("", f"cannot read file: {exc}")], str(path)) from exc
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise ConsultationFileError([Issue("", f"not valid YAML: {exc}", exc.line)],
                                    str(path)) from exc
    check = Checker(lines)
    if not isinstance(data, dict):
        raise ConsultationFileError([Issue("", "the file must be a YAML mapping with "
                                               "'source' and 'dimensions'", 1)], str(path))
    result = _population(check, data, "")
    if check.issues:
        raise ConsultationFileError(check.issues, str(path))
    return result


def _population(check: Checker, data: dict[str, Any], path: str) -> dict[str, Any]:
    prefix = f"{path}." if path else ""
    check.unknown_keys(data, FILE_FIELDS, path)
    result: dict[str, Any] = {
        "title": check.text(data, "title", path, required=False, max_length=200),
        "source": check.text(data, "source", path, required=True, max_length=500),
        "dimensions": {},
    }
    dimensions = data.get("dimensions")
    if not isinstance(dimensions, dict) or not dimensions:
        check.add(f"{prefix}dimensions", "must map each dimension (e.g. age_band) to its "
                                         "categories' shares or counts")
        return result
    for name, categories in dimensions.items():
        where = f"{prefix}dimensions.{name}"
        if not isinstance(name, str) or not DIMENSION_RE.match(name):
            check.add(where, "a dimension name uses a-z, 0-9 and '_', starting with a letter")
            continue
        shares = _shares(check, categories, where)
        if shares:
            result["dimensions"][name] = shares
    return result


def _shares(check: Checker, categories: Any, where: str) -> dict[str, float] | None:
    if not isinstance(categories, dict) or len(categories) < 2:
        check.add(where, "must map at least 2 categories to their shares or counts")
        return None
    if len(categories) > MAX_CATEGORIES:
        check.add(where, f"has {len(categories)} categories; at most {MAX_CATEGORIES}")
        return None
    values: dict[str, float] = {}
    for raw_name, raw in categories.items():
        name = " ".join(str(raw_name).split())
        at = f"{where}.{raw_name}"
        if not name:
            check.add(at, "a category needs a name")
        elif name.casefold() == PREFER_NOT.casefold():
            check.add(at, f"'{PREFER_NOT}' is not a population category")
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or \
                not math.isfinite(raw) or raw < 0:
            check.add(at, f"must be a share (0 to 1) or a count, not {raw!r}")
        elif name in values:
            check.add(at, f"duplicate category '{name}'")
        else:
            values[name] = float(raw)
    if len(values) != len(categories):
        return None
    total = sum(values.values())
    if total <= 0:
        check.add(where, "the shares or counts add up to 0")
        return None
    counts = any(v > 1 for v in values.values())
    if not counts and abs(total - 1.0) > SHARE_TOLERANCE:
        check.add(where, f"the shares add up to {total:.3f}, not 1 (give shares that sum "
                         f"to 1 within {SHARE_TOLERANCE}, or counts)")
        return None
    return {name: value / total for name, value in values.items()}


def check_against_questions(check: Checker, population: dict[str, Any] | None,
                            questions: list[dict[str, Any]]) -> None:
    """Every population dimension has a profile question with the same categories."""
    if not population:
        return
    profiles = {q["profile"]: q for q in questions if q.get("profile")}
    for dimension, shares in population["dimensions"].items():
        where = f"population.dimensions.{dimension}"
        question = profiles.get(dimension)
        if question is None:
            check.add(where, f"no profile question asks '{dimension}' (mark one with "
                             f"'profile: {dimension}')")
            continue
        options = [o for o in question.get("options") or [] if o != PREFER_NOT]
        missing = [o for o in options if o not in shares]
        extra = [c for c in shares if c not in options]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"options with no population figure: {', '.join(missing)}")
            if extra:
                parts.append(f"categories that are not options of '{question['id']}': "
                             f"{', '.join(extra)}")
            check.add(where, "the categories must match the question's options; "
                             + "; ".join(parts))

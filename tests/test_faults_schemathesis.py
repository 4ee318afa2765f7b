"""Schemathesis over the OGC API (/ogc/api) and the JSON API (/api/openapi.json), in process.

Pinned (pyproject dev extras), time-boxed and deterministic: hypothesis derandomised, no
example database, a fixed number of cases per operation and mode (positive and negative)
and a wall-clock budget for the whole run. Every response goes through schemathesis's
checks; the figures (cases, server errors, schema violations, invalid requests accepted,
valid ones refused) are printed in the terminal summary (tests/faults_plugin.py).
"""

from __future__ import annotations

import collections
import os
import time

import pytest
import test_ogc_testlayer as tl

pytest_plugins = ["faults_plugin"]

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402

PER_OPERATION = 12  # cases per operation and generation mode
BUDGET_S = {"ogc": 26.0, "json-api": 14.0}  # wall clock per document, 40 s together
# schemathesis's WSGI transport does not undo Content-Encoding (app/compress.py gzips JSON
# for clients that accept it): ask for the identity body, as a plain client would get it
HEADERS = {"Accept-Encoding": "identity"}
SERVER_ERROR = {"ServerError", "ContentTypeServerError", "MalformedJson"}
ACCEPTED_INVALID = {"AcceptedNegativeData", "MissingHeaderNotRejected"}
REFUSED_VALID = {"RejectedPositiveData"}
# what schemathesis calls the rest: JsonSchemaError, UndefinedStatusCode, MissingHeaders,
# UndefinedContentType, MalformedMediaType, AllowHeaderMismatch … = schema violations

_START: dict[str, float] = {}  # per document, set when its run starts (not at collection)
RESULTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
EXAMPLES: dict[str, list[str]] = collections.defaultdict(list)


@pytest.fixture(scope="module", autouse=True)
def layer(engine):
    with tl.installed(engine) as ids:
        yield ids


def _kind(failure: Exception) -> str:
    name = type(failure).__name__
    if name in SERVER_ERROR:
        return "server_errors"
    if name in ACCEPTED_INVALID:
        return "invalid_accepted"
    if name in REFUSED_VALID:
        return "valid_refused"
    return "schema_violations"


def _names_bbox(response) -> bool:
    """A 400 naming ``bbox``: lower corner above the upper, outside lon/lat or the CRS's area
    of use — rules JSON Schema cannot state, so a schema-valid bbox may be refused."""
    try:
        doc = response.json()
    except ValueError:
        return False
    field = doc.get("parameter") or (doc.get("error") or {}).get("field")
    return response.status_code == 400 and field == "bbox"


def _fuzz(operation, mode, counts: collections.Counter, deadline: float) -> None:
    """Cases of one operation in one generation mode until ``deadline`` (monotonic); every
    failure counted by kind."""

    @settings(
        max_examples=PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        if time.monotonic() > deadline:
            counts["skipped_over_budget"] += 1
            return
        counts["cases"] += 1
        response = case.call(headers=HEADERS)
        where = f"{operation.label} [{mode.value}]"
        try:
            case.validate_response(response, headers=HEADERS)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except AssertionError as failure:
            failures = [failure]
        else:
            failures = []
        for failure in failures:
            kind = _kind(failure)
            if kind == "valid_refused" and _names_bbox(response):
                kind = "bbox_refused"  # its rules are beyond JSON Schema
            counts[kind] += 1
            EXAMPLES[kind].append(
                f"{where} {type(failure).__name__}: {case.method} {case.formatted_path} "
                f"{case.query} -> {response.status_code} {str(failure)[:600]!r}"
            )

    try:
        check()
    except Unsatisfiable:  # no parameters: nothing to make invalid
        counts["operations_without_negative_cases"] += 1


def _run(app, path: str, api: str) -> None:
    _START.setdefault(api, time.monotonic())
    end = _START[api] + BUDGET_S[api]
    schema = schemathesis.openapi.from_wsgi(path, app)
    counts = RESULTS[api]
    runs = [
        (result.ok(), mode)
        for result in schema.get_all_operations()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    counts["operations"] = len(runs) // 2
    for i, (operation, mode) in enumerate(runs):
        # every operation gets its share of what is left, so none is starved by slow ones
        now = time.monotonic()
        _fuzz(operation, mode, counts, now + max(0.0, end - now) / (len(runs) - i))
    from faults_plugin import record

    record(
        f"schemathesis {schemathesis.SCHEMATHESIS_VERSION} {api}",
        **{
            k: counts[k]
            for k in (
                "operations",
                "cases",
                "server_errors",
                "schema_violations",
                "invalid_accepted",
                "valid_refused",
                "bbox_refused",
                "skipped_over_budget",
            )
        },
    )


@pytest.mark.parametrize("path,api", [("/ogc/api", "ogc"), ("/api/openapi.json", "json-api")])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(app, path, api):
    _run(app, path, api)
    counts = RESULTS[api]
    if os.environ.get("FAULTS_DUMP"):  # every failure, for a person fixing them
        with open(os.environ["FAULTS_DUMP"], "a", encoding="utf-8") as fh:
            fh.writelines(f"{k}\t{line}\n" for k, lines in EXAMPLES.items() for line in lines)
    assert counts["cases"] > 50, counts  # the run did run
    shown = {k: EXAMPLES[k][:5] for k in EXAMPLES}
    assert counts["server_errors"] == 0, shown
    assert counts["schema_violations"] == 0, shown
    assert counts["invalid_accepted"] == 0, shown
    assert counts["valid_refused"] == 0, shown

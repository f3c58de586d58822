"""Schemathesis against the running server's OpenAPI schema: every route, as each role, with
a bounded and derandomised number of generated requests. Every answer must be no 5xx, carry
a status code the schema documents for that route, and a body (and content type) that matches
what the schema says for that status.

Path ids are often drawn from what the seeded demo holds, so the generated requests reach real
series, tasks and annotations instead of answering 404 throughout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import LiveServer
from tests.integration.fuzz.conftest import bearer, db_kind

# Per route and role (fewer on the second database): both runs together take about two
# minutes on two cores.
MAX_EXAMPLES = {"sqlite": 8, "postgresql": 4}
ANONYMOUS_EXAMPLES = 2  # its every answer is the same 401: only its shape is checked
ROLES = ("anonymous", "annotator", "reviewer", "admin")  # admin last: its writes reach the others
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXCLUDED = {
    "POST /api/v1/auth/logout": "revokes the fuzzer's own token (tests/integration/test_auth_api.py "
                                "covers logout)",
    "POST /api/v1/auth/token": "each wrong password is slowed by the login throttle on purpose "
                               "(tests/integration/test_auth_api.py covers the token endpoint)",
}
# Which of the demo's entities a path parameter names (its list route, the field to take).
KNOWN_IDS = {
    "series_uid": ("/series", "series_uid"),
    "seg_series_uid": ("/series", "series_uid"),
    "annotation_id": ("/annotations", "id"),
    "task_id": ("/tasks", "id"),
    "label_id": ("/labels", "id"),
    "label_assignment_id": ("/label-assignments", "id"),
    "assignment_id": ("/label-assignments", "id"),
    "review_id": ("/reviews", "id"),
    "user_id": ("/users", "id"),
}
# Edits of users always name another user than the fuzzer's admin: a new password or fewer
# roles for itself revoke its own token (test_auth_api.py and test_user_accounts.py cover that).
OTHER_USER_ONLY = {"PATCH /api/v1/users/{user_id}", "DELETE /api/v1/users/{user_id}"}


@dataclass(kw_only=True, slots=True)
class Tally:
    database: str
    calls: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)  # (role, route): first failure

    def table(self, routes: int) -> str:
        lines = [f"API fuzzer on {self.database}: {routes} routes x {len(ROLES)} roles, at most "
                 f"{MAX_EXAMPLES[self.database]} examples each ({ANONYMOUS_EXAMPLES} anonymous; "
                 f"{len(EXCLUDED)} routes excluded, reasons in test_api_fuzz.py)",
                 f"{'role':<10} {'calls':>6} {'2xx':>5} {'4xx':>5} {'5xx':>5} {'failures':>8}"]
        for role in ROLES:
            by_class = Counter(code // 100 for code in self.statuses.get(role, Counter()).elements())
            failed = sum(1 for r, _ in self.failures if r == role)
            lines.append(f"{role:<10} {self.calls[role]:>6} {by_class[2]:>5} {by_class[4]:>5} "
                         f"{by_class[5]:>5} {failed:>8}")
        return "\n".join(lines)


@dataclass(kw_only=True, slots=True)
class Caller:
    """Sends one role's generated requests and checks the answers into the tally."""

    role: str
    headers: dict[str, str]
    base_url: str
    tally: Tally
    http: requests.Session = field(default_factory=requests.Session)  # no other role's cookies

    def send(self, case: Any) -> None:
        headers = dict(self.headers)
        response = case.call(base_url=self.base_url, session=self.http, headers=headers, timeout=60)
        self.tally.calls[self.role] += 1
        self.tally.statuses.setdefault(self.role, Counter())[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:
            self.tally.failures.setdefault((self.role, case.operation.label), str(exc)[:3000])


def _items(body: Any) -> list[dict[str, Any]]:
    return body["items"] if isinstance(body, dict) else body


def known_ids(server: LiveServer, admin: dict[str, str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for name, (route, key) in KNOWN_IDS.items():
        r = httpx.get(f"{server.url}/api/v1{route}", headers=admin, timeout=30)
        r.raise_for_status()
        found[name] = [item[key] for item in _items(r.json())]
    me = httpx.get(f"{server.url}/api/v1/auth/me", headers=admin, timeout=30).json()["id"]
    found["user_id"].remove(me)
    return found


def _operations(schema: schemathesis.BaseSchema) -> Iterator[Any]:
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in EXCLUDED:
            yield operation


def _with_known_ids(operation: Any, ids: dict[str, list[Any]]) -> st.SearchStrategy:
    """The operation's generated cases, each path id often replaced by a real one (always,
    for the edits in OTHER_USER_ONLY)."""
    names = [p.name for p in operation.path_parameters if ids.get(p.name)]
    always = {"user_id"} if operation.label in OTHER_USER_ONLY else set()

    def replace(case: Any, chosen: dict[str, Any]) -> Any:
        case.path_parameters = {**(case.path_parameters or {}), **chosen}
        return case

    draw = {n: st.sampled_from(ids[n]) for n in names}
    chosen = st.fixed_dictionaries({n: s for n, s in draw.items() if n in always},
                                   optional={n: s for n, s in draw.items() if n not in always})
    return st.builds(replace, operation.as_strategy(), chosen)


def fuzz(strategy: st.SearchStrategy, send: Callable[[Any], None], *, examples: int) -> None:
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


def test_every_route_answers_as_documented_for_every_role(server: LiveServer,
                                                          report: Callable[[str], None]) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    tokens = {role: bearer(server, role) for role in ROLES if role != "anonymous"}
    ids = known_ids(server, tokens["admin"])
    operations = list(_operations(schema))
    tally = Tally(database=db_kind(server))

    for role in ROLES:
        caller = Caller(role=role, headers=tokens.get(role, {}), base_url=server.url, tally=tally)
        examples = ANONYMOUS_EXAMPLES if role == "anonymous" else MAX_EXAMPLES[tally.database]
        for operation in operations:
            fuzz(_with_known_ids(operation, ids), caller.send, examples=examples)
        if role != "anonymous":  # else its later calls only tested the answer to a dead token
            me = httpx.get(f"{server.url}/api/v1/auth/me", headers=tokens[role], timeout=30)
            assert me.status_code == 200, f"the {role}'s token did not live through the run"

    report(tally.table(len(operations)))
    assert not tally.failures, "\n\n".join(f"{role} {label}:\n{text}"
                                           for (role, label), text in tally.failures.items())

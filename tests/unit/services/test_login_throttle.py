"""Repeated login failures are slowed down; a success forgets them."""

from __future__ import annotations

import pytest

from labelstack.services.accounts.auth import LoginThrottle
from labelstack.services.security import hash_password, normalise_roles, verify_password


def test_each_failure_doubles_the_wait_up_to_a_cap() -> None:
    throttle = LoginThrottle(base_delay=0.25, max_delay=2.0)
    waits = []
    for _ in range(6):
        waits.append(throttle.delay_for("a@x.org"))
        throttle.failed("a@x.org")
    assert waits == [0.0, 0.25, 0.5, 1.0, 2.0, 2.0]
    assert throttle.delay_for("b@x.org") == 0.0


def test_success_resets_the_wait() -> None:
    throttle = LoginThrottle()
    throttle.failed("a@x.org")
    throttle.failed("a@x.org")
    throttle.succeeded("a@x.org")
    assert throttle.delay_for("a@x.org") == 0.0


def test_passwords_are_hashed_and_verified() -> None:
    digest = hash_password("s3cret-pass")
    assert digest.startswith("$argon2")
    assert verify_password("s3cret-pass", digest)
    assert not verify_password("other", digest)
    assert not verify_password("s3cret-pass", None)
    assert not verify_password("s3cret-pass", "not-a-hash")


@pytest.mark.parametrize("roles,stored", [(["reviewer", "admin"], "admin,reviewer"),
                                          (["Annotator", "annotator"], "annotator")])
def test_roles_are_normalised(roles: list[str], stored: str) -> None:
    assert normalise_roles(roles) == stored


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role 'wizard'"):
        normalise_roles(["wizard"])


def test_failures_from_one_source_slow_every_email_it_tries() -> None:
    throttle = LoginThrottle(base_delay=0.25)
    throttle.failed("a@x.org", "from:10.0.0.9")
    throttle.failed("b@x.org", "from:10.0.0.9")
    assert throttle.delay_for("c@x.org", "from:10.0.0.9") == 0.5
    assert throttle.delay_for("c@x.org", "from:10.0.0.7") == 0.0


def test_the_failure_table_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=3)
    for i in range(10):
        throttle.failed(f"user{i}@x.org")
    assert throttle.delay_for("user0@x.org") == 0.0
    assert throttle.delay_for("user9@x.org") == 0.25

"""Login attempts are paced per e-mail and per address, counted atomically; a success forgets
the account's failures."""

from __future__ import annotations

import pytest

from labelstack.services.accounts.auth import LoginThrottle
from labelstack.services.security import hash_password, normalise_roles, verify_password


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_each_failure_doubles_the_wait_up_to_a_cap(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, max_delay=2.0, clock=clock)
    waits = []
    for _ in range(6):  # one after the other: each waits, then fails
        attempt = throttle.reserve("a@x.org", "from:10.0.0.9")
        waits.append(attempt.before)
        clock.now += attempt.before
    assert waits == [0.0, 0.25, 0.5, 1.0, 2.0, 2.0]
    assert throttle.failures("a@x.org") == 6


def test_parallel_guesses_queue_behind_each_other(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, max_delay=8.0, clock=clock)
    waits = [throttle.reserve("a@x.org", "from:10.0.0.9").before for _ in range(8)]
    assert waits == [0.0, 0.25, 0.75, 1.75, 3.75, 7.75, 15.75, 23.75]


def test_an_owner_from_a_clean_address_is_not_slowed_by_others_failures(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, max_delay=8.0, clock=clock)
    for _ in range(10):
        throttle.reserve("a@x.org", "from:10.0.0.9")
    owner = throttle.reserve("a@x.org", "from:192.0.2.1")
    assert owner.before == 0.0
    assert owner.after_failure == 8.0  # only a wrong password waits, and at most the cap
    throttle.succeeded(owner)
    assert throttle.failures("a@x.org") == 0
    assert throttle.failures("from:192.0.2.1") == 0


def test_failing_addresses_share_the_accounts_queue(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, max_delay=8.0, clock=clock)
    for address in ("from:10.0.0.1", "from:10.0.0.2"):
        throttle.reserve("a@x.org", address)  # each address's first guess, now failing
    again = throttle.reserve("a@x.org", "from:10.0.0.1")
    assert again.before == 0.75  # after the account's two queued attempts


def test_a_success_does_not_reset_its_addresses_earlier_failures(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, clock=clock)
    throttle.reserve("victim@x.org", "from:10.0.0.9")
    throttle.reserve("victim@x.org", "from:10.0.0.9")
    throttle.succeeded(throttle.reserve("mine@x.org", "from:10.0.0.9"))
    assert throttle.failures("from:10.0.0.9") == 2
    assert throttle.reserve("other@x.org", "from:10.0.0.9").before > 0


def test_success_resets_the_account(clock: Clock) -> None:
    throttle = LoginThrottle(clock=clock)
    throttle.reserve("a@x.org", "from:10.0.0.9")
    throttle.reserve("a@x.org", "from:10.0.0.7")
    throttle.succeeded(throttle.reserve("a@x.org", "from:10.0.0.9"))
    assert throttle.failures("a@x.org") == 0
    assert throttle.reserve("a@x.org", "from:10.0.0.5").after_failure == 0.0


def test_failures_are_forgotten_after_the_window(clock: Clock) -> None:
    throttle = LoginThrottle(window=900.0, clock=clock)
    for _ in range(3):
        throttle.reserve("a@x.org", "from:10.0.0.9")
    clock.now += 901 + 2.0
    assert throttle.failures("a@x.org") == 0
    assert throttle.reserve("a@x.org", "from:10.0.0.9").before == 0.0


def test_an_unknown_address_is_treated_as_failing(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, clock=clock)
    throttle.reserve("a@x.org", "from:10.0.0.9")
    assert throttle.reserve("a@x.org").before == 0.25


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


def test_failures_from_one_source_slow_every_email_it_tries(clock: Clock) -> None:
    throttle = LoginThrottle(base_delay=0.25, clock=clock)
    throttle.reserve("a@x.org", "from:10.0.0.9")
    throttle.reserve("b@x.org", "from:10.0.0.9")
    assert throttle.reserve("c@x.org", "from:10.0.0.9").before == 0.75
    assert throttle.reserve("d@x.org", "from:10.0.0.7").before == 0.0


def test_the_failure_table_is_bounded(clock: Clock) -> None:
    throttle = LoginThrottle(max_keys=3, clock=clock)
    for i in range(10):
        throttle.reserve(f"user{i}@x.org")
    assert throttle.failures("user0@x.org") == 0
    assert throttle.failures("user9@x.org") == 1

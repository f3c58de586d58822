"""Races between clients, each in a thread and a database session of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlmodel import Session

from labelstack.db import session as db_session


def in_threads(work: Callable[[Session, int], object], clients: int, *,
               together: bool = False) -> list[object]:
    """`work(session, i)` for each client `i`, at once (released together from a barrier when
    `together`); what each returned, or the exception it raised."""
    gate = threading.Barrier(clients) if together else None
    outcomes: list[object] = [None] * clients

    def run(i: int) -> None:
        with db_session.session_scope() as s:
            if gate is not None:
                gate.wait()
            try:
                outcomes[i] = work(s, i)
            except Exception as exc:  # noqa: BLE001 - collected and asserted on by the caller
                outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes

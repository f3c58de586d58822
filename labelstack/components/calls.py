"""Calling a service from an event handler: as the user acting now, in a worker thread, inside
one database session, with its refusal shown the way the pages show refusals; and a dialog's
save built on that.

    task = await try_call(transitions.take_task, task_id=7, roles=ROLES)  # None: refused, shown
    try:
        await call(labels.delete_label, label_id=7, roles=Role.admin)     # raises ServiceError
    except ServiceError as exc:
        error.set_text(error_text(exc))

`fn` is a service, or a small function of the page that composes several in one session:
it is called as `fn(session, *args, actor=<the acting user>, **kwargs)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from nicegui import run, ui

from labelstack.components.session import current_actor
from labelstack.components.workflow import Done, error_text, notify_error
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.services.errors import ServiceError

T = TypeVar("T")
Data = TypeVar("Data")
Roles = Role | tuple[Role, ...]


class Form(Protocol):
    """A dialog `save_form` saves: its error line, the dialog, what to do once saved."""

    error: ui.label
    dialog: ui.dialog
    on_saved: Done


async def call(fn: Callable[..., T], /, *args: Any, roles: Roles = (), actor: User | None = None,
               **kwargs: Any) -> T:
    """`fn(session, *args, actor=..., **kwargs)` off the event loop, as the user acting now.

    The actor is looked up with `current_actor(*roles)` (so call this before other awaits of
    the handler), unless the handler already did that and passes it as `actor`.
    Raises ServiceError: NotAuthenticated or Forbidden when this browser's user is signed out
    or no longer holds one of `roles`, or whatever the service refuses.
    """
    if actor is None:
        actor = await current_actor(*((roles,) if isinstance(roles, Role) else roles))
    return await run.io_bound(_in_session, fn, actor, args, kwargs)  # type: ignore[return-value]


async def try_call(fn: Callable[..., T], /, *args: Any, roles: Roles = (),
                   actor: User | None = None,
                   report: Callable[[ServiceError], object] = notify_error,
                   **kwargs: Any) -> T | None:
    """Like `call`, but a refusal is handed to `report` (by default the negative notification
    every page shows) and gives None. For services whose result says that they succeeded;
    where None is a success too, use `call` and catch ServiceError."""
    try:
        return await call(fn, *args, roles=roles, actor=actor, **kwargs)
    except ServiceError as exc:
        report(exc)
        return None


async def save_form(form: Form, prepare: Callable[[], Data], work: Callable[..., str], *,
                    roles: Roles) -> None:
    """A dialog's save: `prepare` reads its fields on the event loop, then
    `work(session, data, actor=...)` runs through `call` and says what it did. A refusal or bad
    input is shown in `form.error` (pydantic's and `parse_date`'s are ValueErrors too); success
    is announced, closes `form.dialog` and awaits `form.on_saved`."""
    try:
        data = prepare()
        message = await call(work, data, roles=roles)
    except (ValueError, ServiceError) as exc:
        form.error.set_text(error_text(exc))
        return
    ui.notify(message, type="positive")
    form.dialog.close()
    await form.on_saved()


def _in_session(fn: Callable[..., T], actor: User, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> T:
    with session_scope() as session:
        return fn(session, *args, actor=actor, **kwargs)

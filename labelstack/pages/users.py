"""/users: admins add people, set their roles, reset passwords, deactivate."""

from __future__ import annotations

from functools import partial

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import save_form, try_call
from labelstack.components.field_errors import FieldErrors
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.workflow import Done, loading
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services.accounts import users
from labelstack.services.accounts.users import UserCreate, UserUpdate

COLUMNS = [
    {"name": "email", "label": "E-mail", "field": "email", "sortable": True, "align": "left"},
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "roles", "label": "Roles", "field": "roles", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "created", "label": "Created", "field": "created", "sortable": True, "align": "left"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]
ROLE_OPTIONS = [r.value for r in Role]


@ui.page("/users")
async def users_page() -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    with frame("Users", user=actor):
        with ui.row().classes("w-full items-center"):
            search = ui.input(placeholder="Search e-mail or name").props(
                "outlined dense clearable data-testid=users-search").classes("w-72")
            ui.space()
            ui.button("Add user", icon="person_add", on_click=lambda: UserDialog(
                None, on_saved=refresh).open()).props("unelevated no-caps data-testid=users-add")
        table = ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=20) \
            .classes("w-full").props("flat bordered loading data-testid=users-table")
        table.add_slot("body-cell-roles", """
            <q-td :props="props">
              <q-chip v-for="r in props.value" :key="r" dense square color="teal-1"
                      text-color="teal-10">{{ r }}</q-chip>
            </q-td>""")
        table.add_slot("body-cell-status", """
            <q-td :props="props">
              <q-badge :color="props.value === 'active' ? 'positive' : 'grey'">{{ props.value }}</q-badge>
            </q-td>""")
        table.add_slot("body-cell-actions", """
            <q-td :props="props">
              <q-btn flat dense icon="edit" :data-testid="'users-edit-' + props.row.email"
                     @click="$parent.$emit('edit', props.row.id)"><q-tooltip>Edit</q-tooltip></q-btn>
            </q-td>""")
        search.bind_value_to(table, "filter")

    async def refresh() -> None:
        found = await try_call(users.list_users, roles=Role.admin)
        if found is None:
            return
        table.rows = [_row(u) for u in found]
        loading(table, False)
        table.update()

    async def edit(event: events.GenericEventArguments) -> None:
        user = await try_call(_user, int(event.args), roles=Role.admin)
        if user is not None:
            UserDialog(user, on_saved=refresh).open()

    table.on("edit", edit)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await refresh()


def _user(session: Session, user_id: int, *, actor: User) -> User:
    return users.get_user(session, user_id)


def _save(session: Session, data: UserCreate | UserUpdate, *, actor: User,
          user_id: int | None) -> str:
    """Create or update (in a worker thread: argon2 hashing takes tens of milliseconds)."""
    if user_id is None:
        users.create_user(session, actor=actor, data=data)
    else:
        users.update_user(session, actor=actor, user_id=user_id, data=data)
    return "User saved"


def _row(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name,
            "roles": sorted(user.role_set), "status": "active" if user.is_active else "inactive",
            "created": user.created_at.strftime("%Y-%m-%d")}


class UserDialog:
    """Create a user (`user=None`) or edit one; the service decides what is allowed."""

    def __init__(self, user: User | None, *, on_saved: Done) -> None:
        self.user, self.on_saved = user, on_saved
        with ui.dialog() as self.dialog, ui.card().classes("w-[28rem] gap-3") \
                .props("data-testid=user-dialog"):
            ui.label("Edit user" if user else "Add user").classes("text-h6")
            self.email = ui.input("E-mail", value=user.email if user else "").props(
                "outlined data-testid=user-email" + (" readonly" if user else "")).classes("w-full")
            self.name = ui.input("Name", value=user.name if user else "").props(
                "outlined data-testid=user-name").classes("w-full")
            self.password = ui.input("New password" if user else "Password", password=True,
                                     password_toggle_button=True).props(
                "outlined data-testid=user-password").classes("w-full")
            if user:
                self.password.props('hint="Leave empty to keep the current password"')
            self.roles = ui.select(ROLE_OPTIONS, multiple=True, label="Roles",
                                   value=sorted(user.role_set) if user else ["annotator"]) \
                .props("outlined use-chips data-testid=user-roles-select").classes("w-full")
            self.active = ui.switch("Active", value=user.is_active if user else True).props(
                "data-testid=user-active")
            self.active.set_visibility(user is not None)
            self.error = ui.label().classes("text-negative").props("data-testid=user-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Save", on_click=self.save).props("unelevated no-caps data-testid=user-save")
        self.errors = FieldErrors({"email": (self.email, "e-mail address"),
                                   "name": (self.name, "name"),
                                   "password": (self.password, "password"),
                                   "roles": (self.roles, "role")}, line=self.error)

    def open(self) -> None:
        self.dialog.open()

    async def save(self) -> None:
        user_id = self.user.id if self.user else None

        def data() -> UserCreate | UserUpdate:
            if user_id is None:
                return UserCreate(email=self.email.value, password=self.password.value or "",
                                  name=self.name.value or "", roles=self.roles.value or [])
            return UserUpdate(name=self.name.value, password=self.password.value or None,
                              roles=self.roles.value or [], is_active=self.active.value)

        ok, checked = self.errors.check(data)
        if ok:
            await save_form(self, lambda: checked, partial(_save, user_id=user_id),
                            roles=Role.admin)

"""The annotator's side panels: the labels of the image (colour, name, show/hide, opacity,
which one is being edited, its save state) and the drawing tools (tool, draw/erase, size in
millimetres or pixels, the 3D brush, undo/redo/save). They show state and report clicks;
the annotator decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

STATE_ICONS = {"saved": ("cloud_done", "text-positive", "Saved"),
               "saving": ("cloud_upload", "text-grey-7", "Saving…"),
               "unsaved": ("edit_note", "text-grey-7", "Not saved yet: saves after a few idle seconds"),
               "error": ("error", "text-negative", "Could not save: retrying")}
TOOLS = (("brush", "brush", "Brush (B)"), ("polygon", "pentagon", "Polygon (P): click the corners, "
                                           "Enter or a click on the first one closes it"),
         ("spline", "gesture", "Spline (S): click control points, drag them, Enter closes"),
         ("none", "my_location", "Crosshair: a click moves the other views there"))


@dataclass(kw_only=True, slots=True)
class LabelLook:
    annotation_id: int
    name: str
    color: str
    visible: bool = True
    opacity: float = 0.45


class _Row:
    """One label's row: the parts that change after it was built."""

    def __init__(self, look: LabelLook, number: int, panel: LabelsPanel) -> None:
        aid = look.annotation_id
        self.container = ui.column().classes("w-full gap-0 px-2 py-1 rounded-borders cursor-pointer") \
            .props(f'data-testid="label-row-{look.name}"').on("click", lambda: panel.on_select(aid))
        with self.container:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.element("div").classes("shrink-0").style(
                    f"width:14px;height:14px;border-radius:3px;background:{look.color}")
                ui.label(f"{number}. {look.name}").classes("grow text-body2 ellipsis")
                self.eye = ui.button(icon="visibility").props(
                    f'flat dense round size=sm color=grey-8 data-testid="label-visible-{look.name}"') \
                    .on("click.stop", lambda: panel.on_visible(aid))
                with self.eye:
                    self.eye_tip = ui.tooltip("Hide")
                self.state = ui.icon("cloud_done", size="18px").props(
                    f"data-testid=save-state data-state=saved data-annotation={aid}")
                with self.state:
                    self.state_tip = ui.tooltip("Saved")
            with ui.row().classes("w-full items-center no-wrap gap-2 pl-6"):
                self.caption = ui.label("").classes("text-caption text-grey-7 w-20 whitespace-nowrap") \
                    .props(f'data-testid="label-caption-{look.name}"')
                ui.icon("opacity", size="16px").classes("text-grey-6")
                ui.slider(min=0, max=1, step=0.05, value=look.opacity,
                          on_change=lambda e: panel.on_opacity(aid, float(e.value))).props(
                    f'dense color=grey-7 data-testid="label-opacity-{look.name}"') \
                    .classes("grow").on("click.stop", js_handler="() => {}")

    def show(self, *, active: bool, visible: bool, state: str, read_only: bool) -> None:
        self.container.classes(remove="bg-teal-1")
        if active:
            self.container.classes("bg-teal-1")
        self.container.props(f"data-active={'true' if active else 'false'}")
        self.eye.props(f"icon={'visibility' if visible else 'visibility_off'}")
        self.eye_tip.set_text("Hide" if visible else "Show")
        icon, colour, tip = STATE_ICONS[state]
        self.state.name = icon
        self.state.classes(remove=" ".join({c for _, c, _ in STATE_ICONS.values()})).classes(colour)
        self.state.props(f"data-state={state}")
        self.state_tip.set_text(tip)
        self.caption.set_text("Read-only" if read_only else "Not saved" if state == "error"
                              else "Editing" if active else "")
        self.caption.classes(remove="text-grey-7 text-negative") \
            .classes("text-negative" if state == "error" else "text-grey-7")


class LabelsPanel:
    """The labels of the current image, with an empty state."""

    def __init__(self, *, on_select: Callable[[int], Any], on_visible: Callable[[int], Any],
                 on_opacity: Callable[[int, float], Any]) -> None:
        self.on_select, self.on_visible, self.on_opacity = on_select, on_visible, on_opacity
        self.rows: dict[int, _Row] = {}
        with ui.row().classes("w-full items-center"):
            ui.label("Labels").classes("text-subtitle2 text-grey-8")
            ui.space()
            ui.label("1–9 select, H hides all").classes("text-caption text-grey-6")
        self.body = ui.column().classes("w-full gap-1").props("data-testid=labels-panel")

    def build(self, looks: list[LabelLook]) -> None:
        self.body.clear()
        self.rows = {}
        with self.body:
            if not looks:
                ui.label("No labels on this image.").classes("text-body2 text-grey-6 px-2")
            for number, look in enumerate(looks, start=1):
                self.rows[look.annotation_id] = _Row(look, number, self)

    def show(self, annotation_id: int, **state: Any) -> None:
        row = self.rows.get(annotation_id)
        if row is not None:
            row.show(**state)


class ToolsPanel:
    """Tool, mode, size and the edit buttons; `enable(False)` greys them out (read-only)."""

    def __init__(self, *, radius: float, on_tool: Callable[[str], Any], on_mode: Callable[[str], Any],
                 on_size: Callable[[float], Any], on_unit: Callable[[str], Any],
                 on_sphere: Callable[[bool], Any], on_undo: Callable[[], Any],
                 on_redo: Callable[[], Any], on_save: Callable[[], Any]) -> None:
        ui.label("Tools").classes("text-subtitle2 text-grey-8")
        self.controls: list[Any] = []  # buttons and inputs: each has set_enabled
        with ui.row().classes("gap-1"):
            self.tool_buttons = {
                tool: ui.button(icon=icon, on_click=lambda t=tool: on_tool(t)).props(
                    f"dense data-testid=tool-{tool}").tooltip(tip) for tool, icon, tip in TOOLS}
        with ui.row().classes("gap-1 items-center"):
            self.mode_buttons = {
                mode: ui.button(mode.capitalize(), on_click=lambda m=mode: on_mode(m)).props(
                    f"dense no-caps padding='2px 12px' data-testid=mode-{mode}").tooltip(tip)
                for mode, tip in (("draw", "Draw (D)"), ("erase", "Erase (E): every tool takes away"))}
        with ui.row().classes("items-center gap-2 w-full no-wrap"):
            ui.label("Size").classes("text-body2 w-10")
            self.size = ui.number(value=radius, min=0.1, max=200, step=0.5, precision=1,
                                  on_change=lambda e: on_size(float(e.value or 0))).props(
                "dense outlined data-testid=tool-size").classes("w-20") \
                .tooltip("Brush radius (Alt+= / Alt+-)")
            self.unit = ui.toggle({"mm": "mm", "px": "px"}, value="mm",
                                  on_change=lambda e: on_unit(str(e.value))).props(
                "dense no-caps unelevated toggle-color=primary color=grey-3 text-color=grey-9 "
                "data-testid=tool-size-unit")
        self.sphere = ui.switch("3D brush (sphere)", on_change=lambda e: on_sphere(bool(e.value))).props(
            "dense data-testid=tool-sphere").classes("text-body2") \
            .tooltip("A brush click paints a ball of this radius through the neighbouring slices")
        with ui.row().classes("gap-1"):
            undo = ui.button(icon="undo", on_click=on_undo).props("dense outline data-testid=undo") \
                .tooltip("Undo (Ctrl+Z)")
            redo = ui.button(icon="redo", on_click=on_redo).props("dense outline data-testid=redo") \
                .tooltip("Redo (Ctrl+Y)")
            save = ui.button("Save", icon="save", on_click=on_save).props(
                "dense unelevated no-caps data-testid=save").tooltip("Save now (Alt+S)")
        self.controls = [*self.tool_buttons.values(), *self.mode_buttons.values(), self.size,
                         self.unit, self.sphere, undo, redo, save]

    def show_tool(self, tool: str) -> None:
        for name, button in self.tool_buttons.items():
            _chosen(button, name == tool)

    def show_mode(self, mode: str) -> None:
        for name, button in self.mode_buttons.items():
            _chosen(button, name == mode)

    def show_size(self, value: float) -> None:
        if self.size.value != value:
            self.size.set_value(value)

    def enable(self, enabled: bool) -> None:
        for control in self.controls:
            control.set_enabled(enabled)


def _chosen(button: ui.button, chosen: bool) -> None:
    button.props(remove="flat unelevated outline").props(
        f"{'unelevated' if chosen else 'outline'} color={'primary' if chosen else 'grey-8'} "
        f"aria-pressed={'true' if chosen else 'false'}")

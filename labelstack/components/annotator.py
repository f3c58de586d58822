"""The annotator's workspace: the slice views of one image of a task, the labels being drawn,
the tools, and saving that shows its state.

Every drawing event goes to the label's `EditSession` (services) off the event loop, one at a
time per page (`annotator_sessions.EditSessions`); its return is the acknowledgement, and the
changed box goes back to every view that shows it. Saving into a revision happens after a few
idle seconds, on image change, on Alt+S and when the page closes; a failed save is shown and
retried. A tab whose lease another tab took over turns read-only and offers to take it back.
The views are `annotator_views.SliceViews`, the side panels `annotator_panels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nicegui import ui

from labelstack.annotation.editor import Change
from labelstack.annotation.ops import EditOp
from labelstack.components.annotator_panels import LabelLook, LabelsPanel, ToolsPanel
from labelstack.components.annotator_sessions import Action, EditSessions
from labelstack.components.annotator_views import VIEW_SHORTCUTS, SliceViews, View
from labelstack.components.slice_viewport import ShapeEventArguments, StrokeEventArguments
from labelstack.db.models import User
from labelstack.services.annotations.workspace import ImageWork, Workspace
from labelstack.services.errors import ServiceError

SHORTCUTS = [("Ctrl+Z", "Undo"), ("Ctrl+Y / Ctrl+Shift+Z", "Redo"), ("Alt+= / Alt+-", "Tool size"),
             ("D / E", "Draw / erase mode"), ("B / P / S", "Brush / polygon / spline"),
             ("Alt+S", "Save"), ("→ / ←", "Next / previous image"), ("1–9", "Select label"),
             ("H", "Hide / show overlays"), *VIEW_SHORTCUTS]


@dataclass(kw_only=True, slots=True)
class Stroke:
    """A brush stroke on its way: the point the last applied batch ended at, and the points
    that arrived since."""

    last: tuple[float, float] | None = None
    waiting: list[tuple[float, float]] = field(default_factory=list)
    final: bool = False
    busy: bool = False


@dataclass(kw_only=True)
class Annotator:
    """One browser tab on one task."""

    actor: User
    workspace: Workspace
    image: int = 0
    active: int | None = None
    tool: str = "brush"
    mode: str = "draw"
    radius_mm: float = 3.0
    unit: str = "mm"
    sphere: bool = False
    overlays_visible: bool = True
    looks: dict[int, LabelLook] = field(default_factory=dict)
    strokes: dict[int, Stroke] = field(default_factory=dict)
    spheres: set[int] = field(default_factory=set)
    images_shown: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.edits = EditSessions(actor=self.actor, workspace=self.workspace,
                                  current=lambda: self.current, on_state=self.show_state,
                                  on_masks=self.masks_reloaded)

    @property
    def current(self) -> ImageWork:
        return self.workspace.images[self.image]

    # ---- building

    def build(self) -> None:
        self.views = SliceViews(user=self.actor, shortcuts=SHORTCUTS, overlays=self.overlays,
                                on_stroke=self.on_stroke, on_shape=self.on_shape,
                                on_activity=lambda: self.edits.touch(self.current))
        self.views.masks = lambda i: edit.editor.mask if (edit := self.edits.get(i)) else None
        with ui.row().classes("w-full no-wrap gap-3 items-stretch").style("height: calc(100vh - 150px)"):
            with ui.card().props("flat bordered").classes("w-56 shrink-0 gap-1 overflow-auto p-3"):
                ui.label("Images").classes("text-subtitle2 text-grey-8")
                self.image_list = ui.list().props("dense data-testid=image-list").classes("w-full")
                with ui.row().classes("w-full justify-between q-mt-sm"):
                    ui.button("Previous", icon="chevron_left", on_click=lambda: self.go(-1)).props(
                        "flat dense no-caps data-testid=prev-image").tooltip("Previous image (←)")
                    ui.button("Next", on_click=lambda: self.go(1)).props(
                        "flat dense no-caps icon-right=chevron_right data-testid=next-image") \
                        .tooltip("Next image (→)")
            with ui.column().classes("grow gap-1 min-w-0 no-wrap"):
                self.views.build_toolbar()
                self.build_banner()
                self.views.build_grid()
            with ui.card().props("flat bordered").classes("w-72 shrink-0 gap-2 overflow-auto p-3"):
                self.labels = LabelsPanel(on_select=self.select, on_visible=self.toggle_label,
                                          on_opacity=self.set_opacity)
                ui.separator()
                self.tools = ToolsPanel(radius=self.radius_mm, on_tool=self.set_tool,
                                        on_mode=self.set_mode, on_size=self.set_size_shown,
                                        on_unit=self.set_unit, on_sphere=self.set_sphere,
                                        on_undo=self.undo, on_redo=self.redo, on_save=self.edits.save_all)
        self.keys = ui.keyboard(on_key=self.on_key, ignore=["input", "textarea"])
        self.set_tool(self.tool)
        self.set_mode(self.mode)

    def build_banner(self) -> None:
        """Why this tab is read-only, and (when another tab holds the lease) Take over."""
        with ui.row().classes("w-full items-center no-wrap gap-3 px-3 py-2 rounded-borders bg-amber-1 "
                              "text-amber-10").style("border: 1px solid #f5d48a") as self.banner:
            ui.icon("lock", size="20px").classes("shrink-0")
            self.notice = ui.label("").classes("grow text-body2").props("data-testid=read-only")
            self.take_over_button = ui.button("Take over", icon="edit", on_click=self.edits.take_over) \
                .props("unelevated dense no-caps no-wrap color=amber-9 padding='4px 12px' "
                       "data-testid=take-over").classes("shrink-0") \
                .tooltip("Edit here; the other tab becomes read-only")
        self.banner.set_visibility(False)

    # ---- opening an image

    async def open_image(self, position: int) -> None:
        await self.edits.save_all()
        self.image = position % len(self.workspace.images)
        work = self.current
        try:
            volume = await self.edits.open(work)
        except ServiceError as exc:
            ui.notify(exc.detail, type="negative")
            return
        for w in work.labels:
            self.looks.setdefault(w.annotation_id, LabelLook(annotation_id=w.annotation_id,
                                                             name=w.label, color=w.color))
        if self.active not in {w.annotation_id for w in work.labels}:
            self.active = work.labels[0].annotation_id if work.labels else None
        self.labels.build([self.looks[w.annotation_id] for w in work.labels])
        self.views.show(volume, work.series_uid)
        self.show_state()

    def overlays(self, view: View) -> list[tuple[int, np.ndarray]]:
        return [(w.annotation_id, edit.editor.slice_overlay(view.plane, view.index))
                for w in self.current.labels if (edit := self.edits.get(w.annotation_id))]

    def masks_reloaded(self) -> None:
        self.views.resend_overlays()
        if self.views.view3d is not None:
            self.views.view3d.masks_reloaded()

    def send_change(self, annotation_id: int, change: Change | None) -> None:
        edit = self.edits.get(annotation_id)
        if edit is None or change is None or not change.changed:
            return
        if self.views.view3d is not None:
            self.views.view3d.mask_changed(annotation_id, change.box)
        for view in self.views.views:
            box = edit.editor.box_in_plane(change, view.plane, view.index)
            if box is not None:
                view.viewport.set_mask(annotation_id,
                                       edit.editor.slice_overlay(view.plane, view.index), box)

    # ---- what the panels show

    def show_state(self) -> None:
        """Images, label rows, the read-only banner and the tools, from the sessions."""
        self.render_images()
        for w in self.current.labels:
            edit = self.edits.get(w.annotation_id)
            look = self.looks[w.annotation_id]
            self.labels.show(w.annotation_id, active=w.annotation_id == self.active,
                             visible=look.visible and self.overlays_visible,
                             state=self.edits.state_of(w.annotation_id),
                             read_only=edit is not None and not edit.editable)
        held = self.edits.read_only(self.current)
        reason = self.workspace.reason or (held[0].reason if held else "")
        self.notice.set_text(f"Read-only: {reason}" if reason else "")
        self.banner.set_visibility(bool(reason))
        self.take_over_button.set_visibility(self.workspace.editable and bool(held))
        self.tools.enable(self.editable)
        self.update_drawing()

    def render_images(self) -> None:
        shown = [(w.title, w.state) for w in self.workspace.images] + [self.image]
        if self.images_shown == shown:
            return
        self.images_shown = shown
        self.image_list.clear()
        with self.image_list:
            for i, work in enumerate(self.workspace.images):
                chosen = i == self.image
                item = ui.item(on_click=lambda i=i: self.open_image(i)).classes(
                    "rounded-borders" + (" bg-teal-1" if chosen else "")).props(
                    f"dense data-testid=image-item-{i} data-selected={'true' if chosen else 'false'}")
                with item, ui.item_section():
                    ui.item_label(work.title).classes("text-body2")
                    ui.item_label(work.state).props("caption")

    @property
    def editable(self) -> bool:
        edit = self.edits.get(self.active)
        return edit is not None and edit.editable

    def label_props(self) -> list[dict[str, Any]]:
        return [{"id": w.annotation_id, "color": w.color, "opacity": self.looks[w.annotation_id].opacity,
                 "visible": self.overlays_visible and self.looks[w.annotation_id].visible}
                for w in self.current.labels if w.annotation_id in self.looks]

    def update_drawing(self) -> None:
        self.views.set_drawing(tool=self.tool if self.editable else "none", mode=self.mode,
                               radius_mm=self.radius_mm, labels=self.label_props(),
                               active_label=self.active)

    # ---- drawing

    async def on_stroke(self, view: View, e: StrokeEventArguments) -> None:
        """Apply a stroke's batches in order; batches that arrive while one is being applied
        wait and go together as the next one (under load, fewer and larger acknowledgements
        instead of a growing queue)."""
        if self.sphere or e.stroke in self.spheres:
            await self.paint_sphere(view, e)
            return
        stroke = self.strokes.setdefault(e.stroke, Stroke())
        stroke.waiting += e.points
        stroke.final = stroke.final or e.final
        if stroke.busy:
            return
        stroke.busy = True
        try:
            while stroke.waiting:
                points = ([stroke.last] if stroke.last else []) + stroke.waiting
                stroke.waiting, stroke.last = [], points[-1]
                op = {"tool": "brush", "mode": e.mode, "plane": str(view.plane), "index": view.index,
                      "points": [list(p) for p in points], "radius_mm": self.radius_mm}
                group = (self.edits.holder, e.stroke)
                await self.edit(lambda s, a, edit, op=op, group=group: edit.apply(
                    s, actor=a, op=EditOp.from_json(op), group=group))
        finally:
            stroke.busy = False
        if stroke.final:
            del self.strokes[e.stroke]
            view.viewport.clear_preview(e.stroke)

    async def paint_sphere(self, view: View, e: StrokeEventArguments) -> None:
        """A brush press with the 3D brush on: a ball around the pressed point (the drag after
        it paints nothing)."""
        first = e.stroke not in self.spheres
        self.spheres.add(e.stroke)
        if first and e.points:
            op = {"tool": "sphere", "mode": e.mode, "plane": str(view.plane), "index": view.index,
                  "points": [list(e.points[0])], "radius_mm": self.radius_mm}
            await self.edit(lambda s, a, edit: edit.apply(s, actor=a, op=EditOp.from_json(op)))
        if e.final:
            self.spheres.discard(e.stroke)
            view.viewport.clear_preview(e.stroke)

    async def on_shape(self, view: View, e: ShapeEventArguments) -> None:
        op = {"tool": e.tool, "mode": self.mode, "plane": str(view.plane), "index": view.index,
              "points": [list(p) for p in e.points]}
        await self.edit(lambda s, a, edit: edit.apply(s, actor=a, op=EditOp.from_json(op)))

    async def undo(self) -> None:
        await self.edit(lambda s, a, edit: edit.undo(s, actor=a))

    async def redo(self) -> None:
        await self.edit(lambda s, a, edit: edit.redo(s, actor=a))

    async def edit(self, action: Action) -> None:
        """One change of the active label; its acknowledgement goes to the views."""
        annotation_id = self.active
        change = await self.edits.edit(annotation_id, action)
        if change is not None and annotation_id is not None:
            self.send_change(annotation_id, change)
            self.show_state()

    async def close(self) -> None:
        self.views.stop()
        await self.edits.close()

    # ---- navigation and tool state

    async def go(self, step: int) -> None:
        if len(self.workspace.images) > 1:
            await self.open_image(self.image + step)

    def select(self, annotation_id: int) -> None:
        self.active = annotation_id
        self.show_state()

    def toggle_label(self, annotation_id: int) -> None:
        look = self.looks[annotation_id]
        look.visible = not look.visible
        if look.visible:
            self.overlays_visible = True
        self.show_state()

    def set_opacity(self, annotation_id: int, opacity: float) -> None:
        self.looks[annotation_id].opacity = opacity
        self.update_drawing()

    def toggle_overlays(self) -> None:
        self.overlays_visible = not self.overlays_visible
        self.show_state()

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.tools.show_tool(tool)
        self.update_drawing()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.tools.show_mode(mode)
        self.update_drawing()

    def set_sphere(self, on: bool) -> None:
        self.sphere = on
        if on and self.tool != "brush":
            self.set_tool("brush")

    def col_mm(self) -> float:
        """The pixel width a brush size in pixels counts (the view last pointed at)."""
        view = self.views.active_view
        return self.views.col_mm(view.plane) if view is not None else 1.0

    def set_size_shown(self, value: float) -> None:
        """The size box changed: in the unit it shows."""
        if value > 0:
            self.set_radius(value * self.col_mm() if self.unit == "px" else value)

    def set_unit(self, unit: str) -> None:
        self.unit = unit
        self.set_radius(self.radius_mm)

    def set_radius(self, radius_mm: float) -> None:
        self.radius_mm = float(np.clip(radius_mm, 0.5 * self.col_mm(), 100.0))
        shown = self.radius_mm / self.col_mm() if self.unit == "px" else self.radius_mm
        self.tools.show_size(round(shown, 1))
        self.update_drawing()

    def resize(self, grow: bool) -> None:
        """Alt+= / Alt+-: a pixel when the size is in pixels, a quarter in millimetres."""
        if self.unit == "px":
            px = round(self.radius_mm / self.col_mm()) + (1 if grow else -1)
            self.set_radius(max(px, 1) * self.col_mm())
        else:
            self.set_radius(self.radius_mm * (1.25 if grow else 0.8))

    async def on_key(self, e: Any) -> None:
        if not e.action.keydown:
            return
        key, mods = str(e.key.name), e.modifiers
        ctrl = mods.ctrl or mods.meta
        if ctrl and key.lower() == "z":
            await (self.redo() if mods.shift else self.undo())
        elif ctrl and key.lower() == "y":
            await self.redo()
        elif mods.alt and key in ("=", "+", "≠"):
            self.resize(grow=True)
        elif mods.alt and key in ("-", "–", "_"):
            self.resize(grow=False)
        elif mods.alt and key.lower() in ("s", "ß"):
            await self.edits.save_all()
        elif ctrl or mods.alt:
            return
        elif key in ("ArrowRight", "ArrowLeft"):
            await self.go(1 if key == "ArrowRight" else -1)
        elif key.isdigit() and key != "0":
            labels = self.current.labels
            if int(key) <= len(labels):
                self.select(labels[int(key) - 1].annotation_id)
        elif not self.views.handle_key(key):
            action = {"d": lambda: self.set_mode("draw"), "e": lambda: self.set_mode("erase"),
                      "b": lambda: self.set_tool("brush"), "p": lambda: self.set_tool("polygon"),
                      "s": lambda: self.set_tool("spline"), "h": self.toggle_overlays}
            handler = action.get(key.lower())
            if handler is not None:
                handler()

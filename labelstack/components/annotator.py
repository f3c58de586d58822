"""The annotator's workspace: slice viewports over one image of a task, the labels being
drawn, the tools, and saving that shows its state.

Every drawing event goes to the label's `EditSession` (services) off the event loop, one at a
time per page; its return is the acknowledgement, and the changed box goes back to every
viewport that shows it. Saving into a revision happens after a few idle seconds, on image
change, on Alt+S and when the page closes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nicegui import run, ui

from labelstack.annotation.editor import Change
from labelstack.annotation.ops import EditOp
from labelstack.components.slice_viewport import (
    HoverEventArguments,
    PointEventArguments,
    ShapeEventArguments,
    SliceViewport,
    StrokeEventArguments,
    WindowEventArguments,
)
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.imaging.mpr import Plane, slice_map
from labelstack.imaging.volume import Volume
from labelstack.imaging.window import window_presets
from labelstack.services.annotations import editing
from labelstack.services.annotations.workspace import ImageWork, Workspace
from labelstack.services.errors import ServiceError
from labelstack.services.images.view import load_volume

IDLE_SAVE_SECONDS = 3.0
LETTERS = {Plane.axial: {"top": "A", "bottom": "P", "left": "R", "right": "L"},
           Plane.coronal: {"top": "H", "bottom": "F", "left": "R", "right": "L"},
           Plane.sagittal: {"top": "H", "bottom": "F", "left": "A", "right": "P"}}
SHORTCUTS = [("Ctrl+Z", "Undo"), ("Ctrl+Y / Ctrl+Shift+Z", "Redo"), ("Alt+= / Alt+-", "Tool size"),
             ("D / E", "Draw / erase mode"), ("B / P / S", "Brush / polygon / spline"),
             ("Alt+S", "Save"), ("→ / ←", "Next / previous image"), ("I", "Invert"),
             ("1–9", "Select label"), ("H", "Hide / show overlays"), ("R", "Reset view"),
             ("↑ / ↓, PageUp / PageDown", "Slice"), ("?", "This help")]


@dataclass(kw_only=True, slots=True)
class View:
    plane: Plane
    index: int
    viewport: SliceViewport


@dataclass(kw_only=True, slots=True)
class Display:
    center: float
    width: float
    invert: bool = False
    version: int = 0


@dataclass(kw_only=True)
class Annotator:
    """One browser tab on one task."""

    actor: User
    workspace: Workspace
    holder: str = field(default_factory=lambda: uuid.uuid4().hex)
    image: int = 0
    active: int | None = None
    tool: str = "brush"
    mode: str = "draw"
    radius_mm: float = 3.0
    overlays_visible: bool = True
    layout: int = 1
    sessions: dict[int, editing.EditSession] = field(default_factory=dict)
    states: dict[int, str] = field(default_factory=dict)
    views: list[View] = field(default_factory=list)
    volume: Volume | None = None
    display: Display | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    strokes: dict[int, tuple[float, float]] = field(default_factory=dict)
    last_edit: float = 0.0

    @property
    def current(self) -> ImageWork:
        return self.workspace.images[self.image]

    # ---- building

    def build(self) -> None:
        with ui.row().classes("w-full no-wrap gap-3 items-stretch").style("height: calc(100vh - 150px)"):
            with ui.column().classes("w-56 shrink-0 gap-1 overflow-auto"):
                ui.label("Images").classes("text-subtitle2 text-grey-7")
                self.image_list = ui.column().classes("w-full gap-1").props("data-testid=image-list")
                with ui.row().classes("gap-1"):
                    ui.button(icon="chevron_left", on_click=lambda: self.go(-1)).props(
                        "flat dense data-testid=prev-image").tooltip("Previous image (←)")
                    ui.button(icon="chevron_right", on_click=lambda: self.go(1)).props(
                        "flat dense data-testid=next-image").tooltip("Next image (→)")
            with ui.column().classes("grow gap-1 min-w-0"):
                self.toolbar()
                self.grid = ui.row().classes("w-full grow no-wrap gap-1 bg-black rounded")
                self.readout = ui.label("").classes("text-caption text-grey-8 font-mono").props(
                    "data-testid=readout")
            with ui.column().classes("w-72 shrink-0 gap-2 overflow-auto"):
                self.side_panel()
        self.keys = ui.keyboard(on_key=self.on_key, ignore=["input", "textarea"])
        self.set_tool(self.tool)
        self.set_mode(self.mode)

    def toolbar(self) -> None:
        with ui.row().classes("w-full items-center gap-1 no-wrap"):
            for n in (1, 2, 3):
                ui.button(str(n), on_click=lambda n=n: self.set_layout(n)).props(
                    f"flat dense data-testid=layout-{n}").tooltip(f"{n} slice view(s)")
            ui.button("3D", on_click=lambda: ui.notify("The 3D view comes with its own issue")) \
                .props("flat dense data-testid=layout-3d")
            ui.separator().props("vertical")
            self.slider = ui.slider(min=0, max=1, value=0, on_change=self.on_slider).classes("w-48")
            self.index_input = ui.number(value=0, min=0, precision=0, format="%d",
                                         on_change=self.on_index).props(
                "dense outlined data-testid=slice-index").classes("w-20")
            ui.separator().props("vertical")
            self.preset = ui.select({}, label="Window", on_change=self.on_preset).props(
                "dense outlined options-dense").classes("w-40")
            ui.button(icon="invert_colors", on_click=self.toggle_invert).props("flat dense") \
                .tooltip("Invert (I)")
            ui.button(icon="fit_screen", on_click=self.reset_view).props("flat dense") \
                .tooltip("Reset view (R)")
            ui.button(icon="zoom_in", on_click=lambda: self.zoom(1.25)).props("flat dense")
            ui.button(icon="zoom_out", on_click=lambda: self.zoom(0.8)).props("flat dense")
            ui.space()
            ui.button(icon="help_outline", on_click=lambda: self.help.open()).props(
                "flat dense").tooltip("Keyboard shortcuts (?)")
        with ui.dialog() as self.help, ui.card().props("data-testid=shortcuts-help"):
            ui.label("Keyboard shortcuts").classes("text-h6")
            with ui.grid(columns=2).classes("gap-x-6 gap-y-1"):
                for key, what in SHORTCUTS:
                    ui.label(key).classes("font-mono text-body2")
                    ui.label(what).classes("text-body2")

    def side_panel(self) -> None:
        ui.label("Labels").classes("text-subtitle2 text-grey-7")
        self.label_rows = ui.column().classes("w-full gap-1")
        ui.separator()
        ui.label("Tools").classes("text-subtitle2 text-grey-7")
        with ui.row().classes("gap-1"):
            self.tool_buttons = {
                t: ui.button(icon=icon, on_click=lambda t=t: self.set_tool(t)).props(
                    f"dense data-testid=tool-{t}").tooltip(tip)
                for t, icon, tip in (("brush", "brush", "Brush (B)"),
                                     ("polygon", "pentagon", "Polygon (P)"),
                                     ("spline", "gesture", "Spline (S)"),
                                     ("none", "near_me", "Crosshair"))}
        with ui.row().classes("gap-1"):
            self.mode_buttons = {
                m: ui.button(m.capitalize(), on_click=lambda m=m: self.set_mode(m)).props(
                    f"dense no-caps data-testid=mode-{m}") for m in ("draw", "erase")}
        with ui.row().classes("items-center gap-2 w-full no-wrap"):
            ui.label("Size (mm)").classes("text-body2")
            self.size = ui.number(value=self.radius_mm, min=0.2, max=100, step=0.5,
                                  on_change=lambda e: self.set_size(float(e.value or 1))).props(
                "dense outlined data-testid=tool-size").classes("w-24")
        with ui.row().classes("gap-1"):
            ui.button(icon="undo", on_click=self.undo).props("dense data-testid=undo") \
                .tooltip("Undo (Ctrl+Z)")
            ui.button(icon="redo", on_click=self.redo).props("dense data-testid=redo") \
                .tooltip("Redo (Ctrl+Y)")
            ui.button("Save", icon="save", on_click=self.save_all).props(
                "dense no-caps data-testid=save").tooltip("Save (Alt+S)")
        self.notice = ui.label(self.workspace.reason).classes("text-caption text-warning") \
            .props("data-testid=read-only")
        self.notice.set_visibility(bool(self.workspace.reason))

    # ---- opening an image

    async def open_image(self, position: int) -> None:
        await self.save_all()
        self.image = position % len(self.workspace.images)
        work = self.current
        try:
            opened = await run.io_bound(self._open, work)
        except ServiceError as exc:
            ui.notify(exc.detail, type="negative")
            return
        self.volume, fresh = opened
        self.sessions.update(fresh)
        center, width = window_presets(self.volume)["default"]
        self.display = Display(center=center, width=width)
        self.preset.options = {name: name for name in window_presets(self.volume)}
        self.preset.update()
        read_only = [s.reason for s in self.sessions.values() if not s.editable]
        self.notice.set_text(self.workspace.reason or (read_only[0] if read_only else ""))
        self.notice.set_visibility(bool(self.notice.text))
        if self.active not in {w.annotation_id for w in work.labels}:
            self.active = work.labels[0].annotation_id if work.labels else None
        self.render_images()
        self.render_labels()
        self.set_layout(self.layout if self.volume.kind == "volume" else 1)

    def _open(self, work: ImageWork) -> tuple[Volume, dict[int, editing.EditSession]]:
        with session_scope() as session:
            fresh = {w.annotation_id: editing.open_edit(session, actor=self.actor,
                                                        annotation_id=w.annotation_id,
                                                        holder=self.holder)
                     for w in work.labels if w.annotation_id not in self.sessions}
            return load_volume(session, work.series_uid), fresh

    def set_layout(self, n: int) -> None:
        assert self.volume is not None
        self.layout = n if self.volume.kind == "volume" else 1
        planes = [Plane.axial, Plane.coronal, Plane.sagittal][:self.layout]
        self.grid.clear()
        self.views = []
        with self.grid:
            for plane in planes:
                count = self.volume.pixels.shape[slice_map(self.volume, plane).axes[0]]
                view = self._viewport(plane, count // 2)
                self.views.append(view)
        self.update_slider()
        self.refresh_images()

    def _viewport(self, plane: Plane, index: int) -> View:
        assert self.volume is not None
        mapping = slice_map(self.volume, plane)
        _, rows, cols = mapping.axes
        shape = self.volume.pixels.shape
        aspect = self.volume.spacing[rows] / self.volume.spacing[cols]
        viewport = SliceViewport(image_width=shape[cols], image_height=shape[rows], aspect=aspect,
                                 labels=self.label_props(), active_label=self.active,
                                 tool=self.tool, mode=self.mode,  # type: ignore[arg-type]
                                 brush_radius_px=self.radius_mm / self.volume.spacing[cols],
                                 orientation_letters=LETTERS[plane]) \
            .classes("grow h-full").props(f"data-testid=viewport-{plane}")
        view = View(plane=plane, index=index, viewport=viewport)
        viewport.on_stroke(lambda e, v=view: self.on_stroke(v, e))
        viewport.on_shape(lambda e, v=view: self.on_shape(v, e))
        viewport.on_slice(lambda e, v=view: self.move(v, e.delta))
        viewport.on_window(self.on_window)
        viewport.on_hover(lambda e, v=view: self.on_hover(v, e))
        viewport.on_point(lambda e, v=view: self.on_point(v, e))
        viewport.on_ready(lambda _, v=view: self.send_overlays(v))
        return view

    # ---- what the views show

    def refresh_images(self) -> None:
        for view in self.views:
            self.refresh_view(view)

    def refresh_view(self, view: View) -> None:
        assert self.display is not None
        d = self.display
        src = (f"/viewer/render/{self.current.series_uid}?plane={view.plane}&index={view.index}"
               f"&wl={d.center:g}&ww={d.width:g}&invert={int(d.invert)}&v={d.version}")
        view.viewport.set_image(src)
        view.viewport.corner_text = {"tl": f"{view.plane} {view.index + 1}/{self._count(view)}",
                                     "tr": f"W {d.width:g}  L {d.center:g}"}
        self.send_overlays(view)

    def send_overlays(self, view: View) -> None:
        view.viewport.clear_overlays()
        for work in self.current.labels:
            edit = self.sessions.get(work.annotation_id)
            if edit is not None:
                view.viewport.set_mask(work.annotation_id,
                                       edit.editor.slice_overlay(view.plane, view.index))

    def send_change(self, annotation_id: int, change: Change | None) -> None:
        edit = self.sessions[annotation_id]
        if change is None or not change.changed:
            return
        for view in self.views:
            box = edit.editor.box_in_plane(change, view.plane, view.index)
            if box is not None:
                view.viewport.set_mask(annotation_id,
                                       edit.editor.slice_overlay(view.plane, view.index), box)

    def label_props(self) -> list[dict[str, Any]]:
        return [{"id": w.annotation_id, "color": w.color, "visible": self.overlays_visible,
                 "opacity": 0.45} for w in self.current.labels]

    def render_images(self) -> None:
        self.image_list.clear()
        with self.image_list:
            for i, work in enumerate(self.workspace.images):
                with ui.item(on_click=lambda i=i: self.open_image(i)).classes(
                        "rounded w-full" + (" bg-teal-1" if i == self.image else "")).props(
                        f"dense data-testid=image-item-{i}"), ui.item_section():
                    ui.item_label(work.title).classes("text-body2")
                    ui.item_label(work.state).props("caption")

    def render_labels(self) -> None:
        self.label_rows.clear()
        with self.label_rows:
            for n, work in enumerate(self.current.labels, start=1):
                active = work.annotation_id == self.active
                with ui.row().classes("w-full items-center no-wrap gap-2 px-2 py-1 rounded cursor-pointer"
                                      + (" bg-teal-1" if active else "")).props(
                        f'data-testid="label-row-{work.label}"').on(
                        "click", lambda w=work: self.select(w.annotation_id)):
                    ui.element("div").style(f"width:14px;height:14px;border-radius:3px;"
                                            f"background:{work.color}")
                    ui.label(f"{n}. {work.label}").classes("grow text-body2")
                    state = self.state_of(work.annotation_id)
                    ui.icon({"saved": "cloud_done", "saving": "cloud_upload", "unsaved": "edit",
                             "error": "error"}[state], size="18px").props(
                        f"data-testid=save-state data-state={state} "
                        f"data-annotation={work.annotation_id}").tooltip(state)

    def state_of(self, annotation_id: int) -> str:
        edit = self.sessions.get(annotation_id)
        state = self.states.get(annotation_id)
        if state in ("saving", "error"):
            return state
        return "unsaved" if edit is not None and edit.unsaved else "saved"

    def update_slider(self) -> None:
        if not self.views:
            return
        view = self.views[0]
        self.slider.props(f"max={self._count(view) - 1}")
        self.slider.set_value(view.index)
        self.index_input.set_value(view.index)

    def _count(self, view: View) -> int:
        assert self.volume is not None
        return int(self.volume.pixels.shape[slice_map(self.volume, view.plane).axes[0]])

    # ---- drawing

    async def on_stroke(self, view: View, e: StrokeEventArguments) -> None:
        points = list(e.points)
        if e.stroke in self.strokes:
            points.insert(0, self.strokes[e.stroke])
        self.strokes[e.stroke] = points[-1]
        if e.final:
            self.strokes.pop(e.stroke, None)
        op = {"tool": "brush", "mode": e.mode, "plane": str(view.plane), "index": view.index,
              "points": [list(p) for p in points], "radius_mm": self.radius_mm}
        group = (self.holder, e.stroke)
        await self.edit(lambda s, a, edit: edit.apply(s, actor=a, op=EditOp.from_json(op), group=group))
        if e.final:
            view.viewport.clear_preview(e.stroke)

    async def on_shape(self, view: View, e: ShapeEventArguments) -> None:
        op = {"tool": e.tool, "mode": self.mode, "plane": str(view.plane), "index": view.index,
              "points": [list(p) for p in e.points]}
        await self.edit(lambda s, a, edit: edit.apply(s, actor=a, op=EditOp.from_json(op)))

    async def undo(self) -> None:
        await self.edit(lambda s, a, edit: edit.undo(s, actor=a))

    async def redo(self) -> None:
        await self.edit(lambda s, a, edit: edit.redo(s, actor=a))

    async def edit(self, action: Any) -> None:
        """Run one change for the active label, in order, and show its acknowledgement."""
        annotation_id = self.active
        if annotation_id is None or annotation_id not in self.sessions:
            ui.notify("Choose a label to draw first", type="warning")
            return
        edit = self.sessions[annotation_id]
        async with self.lock:
            try:
                change = await run.io_bound(self._with_session, action, edit)
            except (ServiceError, ValueError) as exc:
                ui.notify(getattr(exc, "detail", str(exc)), type="negative")
                self.send_overlays_all()
                return
        self.last_edit = time.monotonic()
        self.send_change(annotation_id, change)
        self.render_labels()

    def _with_session(self, action: Any, edit: editing.EditSession) -> Any:
        with session_scope() as session:
            return action(session, self.actor, edit)

    def send_overlays_all(self) -> None:
        for view in self.views:
            self.send_overlays(view)

    async def save_all(self) -> None:
        pending = [(i, s) for i, s in self.sessions.items() if s.unsaved]
        for annotation_id, edit in pending:
            self.states[annotation_id] = "saving"
            self.render_labels()
            try:
                await run.io_bound(self._with_session, lambda s, a, e: e.save(s, actor=a), edit)
            except ServiceError as exc:
                self.states[annotation_id] = "error"
                ui.notify(f"Could not save: {exc.detail} (will retry)", type="negative")
            else:
                self.states.pop(annotation_id, None)
        if pending:
            for work in self.current.labels:
                work.saved = work.saved or work.annotation_id in dict(pending)
            self.render_labels()
            self.render_images()

    async def autosave(self) -> None:
        if time.monotonic() - self.last_edit >= IDLE_SAVE_SECONDS and not self.lock.locked():
            await self.save_all()

    async def close(self) -> None:
        await self.save_all()
        for edit in self.sessions.values():
            await run.io_bound(self._with_session, lambda s, a, e: e.close(s), edit)

    # ---- navigation and display

    async def go(self, step: int) -> None:
        if len(self.workspace.images) > 1:
            await self.open_image(self.image + step)

    def move(self, view: View, delta: int) -> None:
        view.index = int(np.clip(view.index + delta, 0, self._count(view) - 1))
        self.refresh_view(view)
        if view is self.views[0]:
            self.update_slider()

    def on_slider(self, e: Any) -> None:
        if self.views and int(e.value) != self.views[0].index:
            self.move(self.views[0], int(e.value) - self.views[0].index)

    def on_index(self, e: Any) -> None:
        if self.views and e.value is not None and int(e.value) != self.views[0].index:
            self.move(self.views[0], int(e.value) - self.views[0].index)

    def on_window(self, e: WindowEventArguments) -> None:
        if self.display is None:
            return
        self.display.width = max(1.0, self.display.width + e.dx * 2)
        self.display.center += e.dy * 2
        if e.final:
            self.display.version += 1
            self.refresh_images()

    def on_preset(self, e: Any) -> None:
        if self.volume is None or self.display is None or not e.value:
            return
        self.display.center, self.display.width = window_presets(self.volume)[e.value]
        self.refresh_images()

    def toggle_invert(self) -> None:
        if self.display is not None:
            self.display.invert = not self.display.invert
            self.refresh_images()

    def reset_view(self) -> None:
        for view in self.views:
            view.viewport.reset_view()

    def zoom(self, factor: float) -> None:
        for view in self.views:
            view.viewport.zoom_by(factor)

    def on_hover(self, view: View, e: HoverEventArguments) -> None:
        if e.row is None or e.col is None or self.volume is None:
            return
        zyx = self.voxel(view, e.row, e.col)
        value = self.volume.pixels[zyx]
        shown = f"{float(value):.0f}{' HU' if self.volume.modality == 'CT' else ''}" \
            if np.ndim(value) == 0 else str(tuple(int(v) for v in value))
        mm = self.patient_mm(zyx)
        self.readout.set_text(f"{view.plane} slice {view.index + 1}  voxel (z,y,x) {zyx}  "
                              f"({mm[0]:.1f}, {mm[1]:.1f}, {mm[2]:.1f}) mm  value {shown}")

    def on_point(self, view: View, e: PointEventArguments) -> None:
        """The crosshair: the other views go to the slices through the clicked voxel."""
        zyx = self.voxel(view, round(e.row), round(e.col))
        for other in self.views:
            if other is view:
                continue
            mapping = slice_map(self.volume, other.plane)  # type: ignore[arg-type]
            axis, flip = mapping.axes[0], mapping.flips[0]
            n = self._count(other)
            other.index = n - 1 - zyx[axis] if flip else zyx[axis]
            self.refresh_view(other)

    def voxel(self, view: View, row: int, col: int) -> tuple[int, int, int]:
        assert self.volume is not None
        mapping = slice_map(self.volume, view.plane)
        shape = self.volume.pixels.shape
        out = [0, 0, 0]
        for k, value in enumerate((view.index, row, col)):
            axis = mapping.axes[k]
            n = shape[axis]
            value = int(np.clip(value, 0, n - 1))
            out[axis] = n - 1 - value if mapping.flips[k] else value
        return out[0], out[1], out[2]

    def patient_mm(self, zyx: tuple[int, int, int]) -> np.ndarray:
        assert self.volume is not None
        v = self.volume
        row, col = np.asarray(v.orientation[:3], float), np.asarray(v.orientation[3:6], float)
        normal = np.cross(row, col)
        z, y, x = zyx
        return (np.asarray(v.origin, float) + x * v.spacing[2] * row + y * v.spacing[1] * col
                + z * v.spacing[0] * normal)

    # ---- tool state

    def select(self, annotation_id: int) -> None:
        self.active = annotation_id
        for view in self.views:
            view.viewport.active_label = annotation_id
        self.render_labels()

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        for view in self.views:
            view.viewport.tool = tool  # type: ignore[assignment]
        for name, button in self.tool_buttons.items():
            button.props(f"color={'primary' if name == tool else 'grey-7'}")

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        for view in self.views:
            view.viewport.mode = mode  # type: ignore[assignment]
        for name, button in self.mode_buttons.items():
            button.props(f"color={'primary' if name == mode else 'grey-7'}")

    def set_size(self, radius_mm: float) -> None:
        self.radius_mm = float(np.clip(radius_mm, 0.2, 100))
        if self.size.value != self.radius_mm:
            self.size.set_value(self.radius_mm)
        if self.volume is not None:
            for view in self.views:
                cols = slice_map(self.volume, view.plane).axes[2]
                view.viewport.brush_radius_px = self.radius_mm / self.volume.spacing[cols]

    def toggle_overlays(self) -> None:
        self.overlays_visible = not self.overlays_visible
        for view in self.views:
            view.viewport.labels = self.label_props()

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
            self.set_size(self.radius_mm * 1.25)
        elif mods.alt and key in ("-", "–"):
            self.set_size(self.radius_mm / 1.25)
        elif mods.alt and key.lower() in ("s", "ß"):
            await self.save_all()
        elif ctrl or mods.alt:
            return
        elif key == "ArrowRight":
            await self.go(1)
        elif key == "ArrowLeft":
            await self.go(-1)
        elif key in ("ArrowUp", "PageUp") and self.views:
            self.move(self.views[0], 1 if key == "ArrowUp" else 10)
        elif key in ("ArrowDown", "PageDown") and self.views:
            self.move(self.views[0], -1 if key == "ArrowDown" else -10)
        elif key.isdigit() and key != "0":
            labels = self.current.labels
            if int(key) <= len(labels):
                self.select(labels[int(key) - 1].annotation_id)
        else:
            action = {"d": lambda: self.set_mode("draw"), "e": lambda: self.set_mode("erase"),
                      "b": lambda: self.set_tool("brush"), "p": lambda: self.set_tool("polygon"),
                      "s": lambda: self.set_tool("spline"), "i": self.toggle_invert,
                      "h": self.toggle_overlays, "r": self.reset_view, "?": self.help.open}
            handler = action.get(key.lower() if key != "?" else key)
            if handler is not None:
                handler()

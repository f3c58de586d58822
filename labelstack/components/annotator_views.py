"""The slice views of one image, shared by the annotator and the read-only viewer: the layout
(one, two or three views, each with its own plane, remembered per user), window and invert,
slice or frame navigation with cine playback, the crosshair and the pixel readout.

Drawing is the owner's business: it passes handlers for the viewports' drawing events, says
what the overlays of a view show (`overlays`), and sets the tool state (`set_drawing`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from nicegui import app, ui

from labelstack.components.annotator_geometry import patient_mm, project, voxel
from labelstack.components.image_table import TagsDialog
from labelstack.components.slice_viewport import (
    HoverEventArguments,
    PointEventArguments,
    ShapeEventArguments,
    SliceViewport,
    StrokeEventArguments,
    WindowEventArguments,
)
from labelstack.components.view3d_panel import Masks, View3DPanel
from labelstack.db.models import User
from labelstack.imaging.mpr import PLANES, Plane, slice_map
from labelstack.imaging.volume import Volume
from labelstack.imaging.window import window_presets

LETTERS = {Plane.axial: {"top": "A", "bottom": "P", "left": "R", "right": "L"},
           Plane.coronal: {"top": "H", "bottom": "F", "left": "R", "right": "L"},
           Plane.sagittal: {"top": "H", "bottom": "F", "left": "A", "right": "P"}}
VIEW_SHORTCUTS = [("I", "Invert"), ("R", "Reset view"), ("↑ / ↓, PageUp / PageDown", "Slice"),
                  ("?", "This help")]
MOUSE_HINTS = [("Wheel / Shift+wheel", "Slice / 10 slices"), ("Right-drag", "Window (level, width)"),
               ("Middle-drag, Space+drag", "Pan"), ("Ctrl+wheel", "Zoom")]
LAYOUT_TIPS = {1: "One view", 2: "Two views side by side", 3: "Three views: one large, two small",
               4: "Three views and the 3D view"}
LAYOUT_NAMES = {1: "1", 2: "2", 3: "3", 4: "3D"}
LAYOUT_IDS = {1: "layout-1", 2: "layout-2", 3: "layout-3", 4: "layout-3d"}
GRID = {1: ("1fr", "1fr"), 2: ("1fr 1fr", "1fr"), 3: ("2fr 1fr", "1fr 1fr"), 4: ("1fr 1fr", "1fr 1fr")}
CINE_DEFAULT_MS = 100.0

Overlays = Callable[["View"], Iterable[tuple[int, np.ndarray]]]
ViewHandler = Callable[["View", Any], Any]


@dataclass(kw_only=True, slots=True)
class View:
    position: int
    plane: Plane
    index: int
    viewport: SliceViewport
    cell: ui.element
    slider: ui.slider | None = None


@dataclass(kw_only=True, slots=True)
class Display:
    center: float
    width: float
    invert: bool = False
    version: int = 0
    own: bool = False  # the file's own VOI, slice by slice: the render gets no window
    table: int | None = None  # one of the file's VOI LUT tables
    table_name: str = ""  # shown instead of W/L, which describe no table


@dataclass(kw_only=True, slots=True)
class Drawing:
    """What the viewports draw with: the annotator's tool state (the viewer draws nothing)."""

    tool: str = "none"
    mode: str = "draw"
    radius_mm: float = 3.0
    labels: list[dict[str, Any]] = field(default_factory=list)
    active_label: int | None = None


class SliceViews:
    """The toolbar, the grid of views and the readout of one image at a time (`show`)."""

    def __init__(self, *, user: User, shortcuts: list[tuple[str, str]],
                 overlays: Overlays | None = None, on_stroke: ViewHandler | None = None,
                 on_shape: ViewHandler | None = None,
                 on_activity: Callable[[], None] | None = None) -> None:
        self.user = user
        self.shortcuts = shortcuts
        self.overlays = overlays
        self.on_stroke = on_stroke
        self.on_shape = on_shape
        self.on_activity = on_activity
        self.volume: Volume | None = None
        self.series_uid = ""
        self.views: list[View] = []
        self.active = 0
        self.display: Display | None = None
        self.drawing = Drawing()
        self.cursor: tuple[int, int, int] | None = None
        self.masks: Masks | None = None  # the labels' masks, for the 3D view
        self.view3d: View3DPanel | None = None
        saved = self._saved_layout()
        self.layout: int = saved[0]
        self.planes: list[Plane] = saved[1]

    # ---- building

    def build_toolbar(self) -> None:
        with ui.row().classes("w-full items-center gap-1 no-wrap px-2 py-1 bg-white rounded-borders") \
                .style("border: 1px solid rgba(0,0,0,0.12)").props("data-testid=viewer-toolbar"):
            with ui.element("div").classes("row no-wrap items-center gap-1"):
                ui.label("Views").classes("text-body2 text-grey-8 q-mr-xs")
                self.layout_buttons = {
                    n: ui.button(LAYOUT_NAMES[n], on_click=lambda n=n: self.set_layout(n)).props(
                        f"dense no-caps size=sm padding='2px 10px' data-testid={LAYOUT_IDS[n]}")
                    .tooltip(LAYOUT_TIPS[n]) for n in LAYOUT_NAMES}
            ui.separator().props("vertical")
            self.play = ui.button(icon="play_arrow", on_click=self.toggle_play).props(
                "flat dense round data-testid=cine-play").tooltip("Play / pause the cine")
            self.play.set_visibility(False)
            self.slice_caption = ui.label("Slice").classes("text-body2 text-grey-8")
            self.index_input = ui.number(value=0, min=0, precision=0, format="%d",
                                         on_change=self.on_index).props(
                "dense outlined data-testid=slice-index").classes("w-16 shrink-0") \
                .tooltip("Slice index, from 0 like the voxel readout (↑ / ↓)")
            self.count_label = ui.label("(0–0)").classes("text-body2 text-grey-8 whitespace-nowrap") \
                .props("data-testid=slice-count")
            ui.separator().props("vertical")
            self.preset = ui.select({}, label="Window", on_change=self.on_preset).props(
                "dense outlined options-dense data-testid=window-preset").classes("w-32 shrink-0")
            ui.button(icon="invert_colors", on_click=self.toggle_invert).props(
                "flat dense round data-testid=invert").tooltip("Invert (I)")
            ui.button(icon="fit_screen", on_click=self.reset_view).props(
                "flat dense round data-testid=reset-view").tooltip("Reset view (R)")
            ui.button(icon="zoom_in", on_click=lambda: self.zoom(1.25)).props(
                "flat dense round data-testid=zoom-in").tooltip("Zoom in (Ctrl+wheel)")
            ui.button(icon="zoom_out", on_click=lambda: self.zoom(0.8)).props(
                "flat dense round data-testid=zoom-out").tooltip("Zoom out (Ctrl+wheel)")
            ui.space()
            ui.button(icon="sell", on_click=self.show_tags).props(
                "flat dense round data-testid=image-tags").tooltip("DICOM tags of this image")
            ui.button(icon="keyboard", on_click=lambda: self.help.open()).props(
                "flat dense round data-testid=shortcuts-open").tooltip("Keyboard shortcuts (?)")
        self.player = ui.timer(CINE_DEFAULT_MS / 1000, self.step_frame, active=False)
        self.build_help()

    def build_help(self) -> None:
        with ui.dialog() as self.help, ui.card().classes("gap-2 min-w-[26rem]") \
                .props("data-testid=shortcuts-help"):
            with ui.row().classes("w-full items-center"):
                ui.label("Keyboard shortcuts").classes("text-h6")
                ui.space()
                ui.button(icon="close", on_click=lambda: self.help.close()).props("flat dense round")
            for title, rows in (("Keys", self.shortcuts), ("Mouse", MOUSE_HINTS)):
                ui.label(title).classes("text-subtitle2 text-grey-7 q-mt-sm")
                with ui.grid(columns="auto 1fr").classes("gap-x-6 gap-y-1 items-center"):
                    for key, what in rows:
                        ui.label(key).classes("font-mono text-body2 bg-grey-2 rounded px-2")
                        ui.label(what).classes("text-body2")

    def build_grid(self) -> None:
        self.grid = ui.element("div").classes("w-full grow min-h-0 bg-grey-10 rounded-borders p-1") \
            .style("display: grid; gap: 4px").props("data-testid=view-grid")
        self.readout = ui.label("\u00a0").classes("text-caption text-grey-8 font-mono").props(
            "data-testid=readout")

    # ---- one image

    def show(self, volume: Volume, series_uid: str) -> None:
        """Show another image: its windows, its layout (one view unless it is a volume)."""
        self.stop()
        self.volume, self.series_uid, self.cursor = volume, series_uid, None
        presets = window_presets(volume)
        default = presets["default"]
        self.display = Display(center=default.center, width=default.width, own=default.own)
        self.preset.options = {name: preset.label for name, preset in presets.items()}
        self.preset.set_value("default")
        self.preset.update()
        cine = volume.kind == "cine"
        self.play.set_visibility(cine)
        self.preset.set_visibility(volume.photometric != "RGB")  # colour has no window
        self.player.interval = (volume.frame_time_ms or CINE_DEFAULT_MS) / 1000
        self.slice_caption.set_text("Slice" if volume.kind == "volume" else "Frame")
        for n, button in self.layout_buttons.items():
            button.set_enabled(self.is_volume or n == 1)
        self.views = []
        self._build_views()

    @property
    def is_volume(self) -> bool:
        return self.volume is not None and self.volume.kind == "volume"

    @property
    def active_view(self) -> View | None:
        return self.views[self.active] if 0 <= self.active < len(self.views) else None

    def set_layout(self, n: int) -> None:
        if self.volume is None:
            return
        self.layout = n
        self._save_layout()
        self._build_views()

    def set_plane(self, position: int, plane: Plane) -> None:
        """Show `plane` in the view at `position`; a view that showed it takes the old plane
        (the three stay different)."""
        if self.volume is None or plane == self.planes[position]:
            return
        plane = Plane(plane)
        if plane in self.planes:
            self.planes[self.planes.index(plane)] = self.planes[position]
        self.planes[position] = plane
        self._save_layout()
        self._build_views()

    def _build_views(self) -> None:
        assert self.volume is not None
        previous = {v.position: v for v in self.views}
        count = min(self.layout, 3) if self.is_volume else 1
        planes = self.planes[:count] if self.is_volume else [Plane.axial]
        columns, rows = GRID[self.layout if self.is_volume else 1]
        self.grid.clear()
        self.grid.style(f"grid-template-columns: {columns}; grid-template-rows: {rows}")
        self.views = []
        with self.grid:
            for position, plane in enumerate(planes):
                old = previous.get(position)
                index = old.index if old is not None and old.plane == plane else self._through(plane)
                self.views.append(self._view(position, plane, index,
                                             main=self.layout == 3 and position == 0))
            if self.is_volume and self.layout == 4:
                self._volume_slot()
        self.active = min(self.active, len(self.views) - 1)
        for n, button in self.layout_buttons.items():
            chosen = n == (self.layout if self.is_volume else 1)
            button.props(remove="flat unelevated").props(
                f"{'unelevated' if chosen else 'flat'} color={'primary' if chosen else 'grey-8'}")
        self.set_active(self.active)
        self.refresh()

    def _volume_slot(self) -> None:
        """The 3D view (volume, label surfaces, slice planes), rendered by a process of its own;
        it follows these views and stops when the slot goes."""
        self.view3d = View3DPanel(self, self.masks)

    def _through(self, plane: Plane) -> int:
        """The slice of `plane` through the crosshair, else the middle one."""
        if self.volume is None or self.cursor is None:
            return self.count(plane) // 2
        return project(self.volume, self.cursor, plane)[0]

    def _view(self, position: int, plane: Plane, index: int, *, main: bool) -> View:
        assert self.volume is not None
        mapping = slice_map(self.volume, plane)
        _, rows, cols = mapping.axes
        shape = self.volume.pixels.shape
        with ui.element("div").classes("column no-wrap min-h-0 min-w-0 rounded-borders") \
                .style("border: 2px solid transparent" + ("; grid-row: span 2" if main else "")) \
                .props(f"data-testid=view-{position}") as cell:
            with ui.row().classes("w-full items-center no-wrap gap-2 px-2 bg-grey-9 text-grey-3") \
                    .style("min-height: 32px"):
                if self.is_volume:
                    ui.select({p: p.capitalize() for p in PLANES}, value=plane,
                              on_change=lambda e, p=position: self.set_plane(p, e.value)).props(
                        f"dense borderless dark options-dense data-testid=plane-{position}") \
                        .classes("w-28 text-body2").tooltip("Plane of this view")
                else:
                    ui.label("Frames" if self.volume.kind == "cine" else "Image").classes("text-body2")
                slider = None
                if self.count(plane) > 1:
                    slider = ui.slider(min=0, max=self.count(plane) - 1, value=index,
                                       on_change=lambda e, p=position: self.on_slider(p, e.value)) \
                        .props(f"dense dark color=teal-4 data-testid=slider-{position}").classes("grow")
            viewport = SliceViewport(
                image_width=shape[cols], image_height=shape[rows],
                aspect=self.volume.spacing[rows] / self.volume.spacing[cols],
                labels=self.drawing.labels, active_label=self.drawing.active_label,
                tool=self.drawing.tool, mode=self.drawing.mode,  # type: ignore[arg-type]
                brush_radius_px=self.drawing.radius_mm / self.volume.spacing[cols],
                orientation_letters=LETTERS[plane] if self.is_volume else None) \
                .classes("w-full").style("flex: 1 1 0; min-height: 120px") \
                .props(f"data-testid=viewport-{plane}")
        view = View(position=position, plane=plane, index=index, viewport=viewport, cell=cell,
                    slider=slider)
        if self.on_stroke is not None:
            viewport.on_stroke(lambda e, v=view: self._forward(self.on_stroke, v, e))
        if self.on_shape is not None:
            viewport.on_shape(lambda e, v=view: self._forward(self.on_shape, v, e))
        viewport.on_slice(lambda e, v=view: self.move(v, e.delta, touched=True))
        viewport.on_window(self.on_window)
        viewport.on_hover(lambda e, v=view: self.on_hover(v, e))
        viewport.on_point(lambda e, v=view: self.on_point(v, e))
        viewport.on_ready(lambda _, v=view: self.send_overlays(v))
        return view

    def _forward(self, handler: ViewHandler | None, view: View,
                 e: StrokeEventArguments | ShapeEventArguments) -> Any:
        self.set_active(view.position)
        return handler(view, e) if handler is not None else None

    # ---- what the views show

    def refresh(self) -> None:
        for view in self.views:
            self.refresh_view(view)

    def refresh_view(self, view: View) -> None:
        if self.display is None:
            return
        d = self.display
        voi = "" if d.own else f"&wl={d.center:g}&ww={d.width:g}"
        if d.table is not None:
            voi = f"&table={d.table}"
        src = (f"/viewer/render/{self.series_uid}?plane={view.plane}&index={view.index}"
               f"{voi}&invert={int(d.invert)}&v={d.version}")
        view.viewport.set_image(src)
        window = "" if self.volume is not None and self.volume.photometric == "RGB" \
            else d.table_name if d.table is not None else f"W {d.width:g}  L {d.center:g}"
        frame = "" if self.is_volume else "Frame "
        view.viewport.corner_text = {"tl": f"{frame}{view.index}  (0–{self.count(view.plane) - 1})",
                                     "tr": window + ("  inverted" if d.invert else "")}
        view.viewport.crosshair = self._crosshair(view)
        if view.slider is not None and view.slider.value != view.index:
            view.slider.set_value(view.index)
        if view.position == self.active:
            self._show_index(view)
        self.send_overlays(view)

    def send_overlays(self, view: View, *, clear: bool = True) -> None:
        """The view's overlays in full: after a clear (a new slice: the browser swaps them in
        with its image), or over what it shows (masks that changed, a stroke may be under way)."""
        if clear:
            view.viewport.clear_overlays()
        if self.overlays is not None:
            for label_id, mask in self.overlays(view):
                view.viewport.set_mask(label_id, mask)

    def resend_overlays(self) -> None:
        for view in self.views:
            self.send_overlays(view, clear=False)

    def set_drawing(self, **changes: Any) -> None:
        """Change the tool state (tool, mode, radius_mm, labels, active_label) of every view."""
        self.drawing = replace(self.drawing, **changes)
        d = self.drawing
        for view in self.views:
            viewport = view.viewport
            wanted = {"tool": d.tool, "mode": d.mode, "labels": d.labels, "active_label": d.active_label,
                      "brush_radius_px": d.radius_mm / self.col_mm(view.plane),
                      "crosshair": self._crosshair(view)}
            for name, value in wanted.items():  # each change is a prop update: only real ones
                if getattr(viewport, name) != value:
                    setattr(viewport, name, value)

    def col_mm(self, plane: Plane) -> float:
        """Width of one pixel of `plane`'s slices: what a brush size in pixels counts."""
        assert self.volume is not None
        return float(self.volume.spacing[slice_map(self.volume, plane).axes[2]])

    def count(self, plane: Plane) -> int:
        assert self.volume is not None
        return int(self.volume.pixels.shape[slice_map(self.volume, plane).axes[0]])

    def set_active(self, position: int) -> None:
        """The view the keys and the slice box act on (the last one pointed at)."""
        self.active = position
        for view in self.views:
            colour = "var(--q-primary)" if view.position == position and len(self.views) > 1 \
                else "transparent"
            view.cell.style(f"border-color: {colour}")
        active = self.active_view
        if active is not None:
            self._show_index(active)

    def _show_index(self, view: View) -> None:
        last = self.count(view.plane) - 1
        self.index_input.props(f"max={last}")
        if self.index_input.value != view.index:
            self.index_input.set_value(view.index)
        self.count_label.set_text(f"(0–{last})")

    # ---- navigation

    def move(self, view: View, delta: int, *, touched: bool = False, wrap: bool = False) -> None:
        count = self.count(view.plane)
        target = view.index + delta
        view.index = target % count if wrap else int(np.clip(target, 0, count - 1))
        self.refresh_view(view)
        if touched and self.on_activity is not None:
            self.on_activity()

    def move_active(self, delta: int) -> None:
        view = self.active_view
        if view is not None:
            self.move(view, delta, touched=True)

    def on_slider(self, position: int, value: Any) -> None:
        if position < len(self.views) and value is not None:
            view = self.views[position]
            if int(value) != view.index:
                self.set_active(position)
                self.move(view, int(value) - view.index, touched=True)

    def on_index(self, e: Any) -> None:
        view = self.active_view
        if view is not None and e.value is not None and int(e.value) != view.index:
            self.move(view, int(e.value) - view.index, touched=True)

    def toggle_play(self) -> None:
        playing = not self.player.active
        self.player.active = playing
        self.play.props(f"icon={'pause' if playing else 'play_arrow'}")

    def stop(self) -> None:
        if self.player.active:
            self.toggle_play()

    def step_frame(self) -> None:
        if self.views and self.volume is not None and self.volume.kind == "cine":
            self.move(self.views[0], 1, wrap=True)

    # ---- display

    def on_window(self, e: WindowEventArguments) -> None:
        if self.display is None:
            return
        self.display.width = max(1.0, self.display.width + e.dx * 2)
        self.display.center += e.dy * 2
        self.display.own, self.display.table, self.display.table_name = False, None, ""
        if e.final:
            self.display.version += 1
            self.preset.set_value(None)
            self.refresh()
            if self.on_activity is not None:
                self.on_activity()

    def on_preset(self, e: Any) -> None:
        if self.volume is None or self.display is None or not e.value:
            return
        preset = window_presets(self.volume)[e.value]
        self.display.center, self.display.width = preset.center, preset.width
        self.display.own, self.display.table = preset.own, preset.table
        self.display.table_name = preset.label if preset.table is not None else ""
        self.refresh()

    def toggle_invert(self) -> None:
        if self.display is not None:
            self.display.invert = not self.display.invert
            self.refresh()

    def reset_view(self) -> None:
        for view in self.views:
            view.viewport.reset_view()

    def zoom(self, factor: float) -> None:
        for view in self.views:
            view.viewport.zoom_by(factor)

    def show_tags(self) -> None:
        if self.series_uid:
            TagsDialog(self.series_uid, roles=()).open()

    def handle_key(self, key: str) -> bool:
        """The view keys (no modifiers); whether `key` was one of them."""
        if key in ("ArrowUp", "ArrowDown", "PageUp", "PageDown"):
            self.move_active({"ArrowUp": 1, "ArrowDown": -1, "PageUp": 10, "PageDown": -10}[key])
        elif key.lower() == "i":
            self.toggle_invert()
        elif key.lower() == "r":
            self.reset_view()
        elif key == "?":
            self.help.open()
        else:
            return False
        return True

    # ---- pointer: readout and crosshair

    def on_hover(self, view: View, e: HoverEventArguments) -> None:
        if e.row is None or e.col is None or self.volume is None:
            return
        if view.position != self.active:
            self.set_active(view.position)
        zyx = voxel(self.volume, view.plane, view.index, e.row, e.col)
        value = self.volume.pixels[zyx]
        shown = f"{float(value):.0f}{' HU' if self.volume.modality == 'CT' else ''}" \
            if np.ndim(value) == 0 else "RGB " + str(tuple(int(v) for v in value))
        if self.is_volume:
            mm = patient_mm(self.volume, zyx)
            self.readout.set_text(f"{view.plane} {view.index}   voxel (z, y, x) {zyx}   "
                                  f"({mm[0]:.1f}, {mm[1]:.1f}, {mm[2]:.1f}) mm   {shown}")
        else:
            self.readout.set_text(f"frame {view.index}   pixel (row, col) ({zyx[1]}, {zyx[2]})   {shown}")

    def on_point(self, view: View, e: PointEventArguments) -> None:
        """The crosshair: every other view goes to the slice through the clicked voxel."""
        if not self.is_volume:
            return
        assert self.volume is not None
        self.cursor = voxel(self.volume, view.plane, view.index, round(e.row), round(e.col))
        for other in self.views:
            if other is not view:
                other.index = project(self.volume, self.cursor, other.plane)[0]
        self.refresh()

    def _crosshair(self, view: View) -> dict[str, float] | None:
        if self.cursor is None or self.drawing.tool != "none" or not self.is_volume:
            return None
        assert self.volume is not None
        _, row, col = project(self.volume, self.cursor, view.plane)
        return {"row": row, "col": col}

    # ---- the layout, remembered per user

    def _storage_key(self) -> str:
        return f"viewer-layout:{self.user.id}"

    def _saved_layout(self) -> tuple[int, list[Plane]]:
        saved = app.storage.user.get(self._storage_key()) or {}
        try:
            planes = [Plane(p) for p in saved.get("planes", PLANES)][:3]
            count = int(saved.get("views", 1))
        except (ValueError, TypeError, AttributeError):
            return 1, list(PLANES)
        planes += [p for p in PLANES if p not in planes][:3 - len(planes)]
        return (count if count in GRID else 1), planes

    def _save_layout(self) -> None:
        app.storage.user[self._storage_key()] = {"views": self.layout,
                                                 "planes": [str(p) for p in self.planes]}

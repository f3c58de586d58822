"""The slice viewport: one rendered slice, its label overlays, the drawing tools and navigation.

The server sends a rendered frame (``src``, re-rendered only on slice / window / invert changes)
and the label masks as bit patches; the browser draws pan and zoom (a CSS transform), the brush
cursor, the live stroke preview and the polygon or spline in progress at once, and sends pointer
input back as events. The element's box is the drawing area: size it from the page
(``.classes('w-full h-[70vh]')``); the image opens fitted (contain) and centred.

Coordinates are image pixels ``[row, col]`` (floats) with pixel centres at integers, so
``round()`` gives the pixel index. ``aspect`` is the physical height / width of one pixel; the
image is drawn stretched by it and the brush is a physical circle: a stroke covers pixel
``(i, j)`` when its physical distance (rows times ``aspect``) to a segment between consecutive
points (a lone point: to the point) is at most the radius. The preview paints exactly that, so a
server rasteriser that does the same (``tests/e2e/viewport_app.paint``) makes the swap from
preview to confirmed overlay invisible. A finished stroke's preview stays until
``clear_preview`` (sent after its final ``set_overlay``, in the same tick) or 5 s.

For tests the root element carries a read-only ``el.__viewport`` (``imageToClient(row, col)``,
``clientToImage(x, y)``, ``zoom``, ``scale``, ``pan``, ``shape``, ``previews``, ``frame``) and
fires a DOM ``overlaypatch`` event after each patch was painted.

How the overlay bytes travel: NiceGUI 3.18's ``run_method`` writes its arguments into a
JavaScript string with ``json.dumps`` (orjson: ``bytes`` raise ``TypeError``, base64 would be
needed), and a ``bytes`` prop does go out as a socket.io binary attachment but only inside the
element's whole ``update`` (re-sent with every later prop change, one value per outbox tick, and
the first page render serialises props to JSON, where bytes fail). So the element sends its own
socket.io event, ``labelstack_viewport``, through ``client.outbox.enqueue_message`` - the path
``ui.download`` uses for raw bytes. python-socketio turns each ``bytes`` value into a binary
attachment (no base64, no JSON escaping); the browser receives an ``ArrayBuffer``. Everything one
tick of the event loop produces (a clear and the next slice's patches, a stroke's patch and its
``clear_preview``) is one message, applied in one browser task, so it appears in one frame; a
message with a ``clear`` waits while a new base image is still loading, so a slice change swaps
image and overlays together. The
message carries NiceGUI's message id and the handler keeps ``window.nextMessageId``, so replay
after a reconnect works. Nothing is sent before the browser side reported ``ready`` (mounted,
socket connected); earlier calls are buffered. Note NiceGUI keeps sent messages for replay
(``app.config.message_history_length``, default 1000, and at most ping + reconnect timeout old).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self, cast

import numpy as np
from nicegui import ui
from nicegui.events import GenericEventArguments, Handler, UiEventArguments, handle_event

Tool = Literal["brush", "polygon", "spline", "none"]
Mode = Literal["draw", "erase"]
Box = tuple[int, int, int, int]
CHANNEL = "labelstack_viewport"
TOOLS = ("brush", "polygon", "spline", "none")
MODES = ("draw", "erase")


@dataclass(kw_only=True, slots=True)
class StrokeEventArguments(UiEventArguments):
    """A batch of brush points (one animation frame); the first batch starts with the press point."""

    stroke: int
    points: list[tuple[float, float]]
    final: bool
    mode: Mode
    radius: float


@dataclass(kw_only=True, slots=True)
class ShapeEventArguments(UiEventArguments):
    """A closed polygon or spline: its vertices / control points."""

    tool: Literal["polygon", "spline"]
    points: list[tuple[float, float]]


@dataclass(kw_only=True, slots=True)
class SliceEventArguments(UiEventArguments):
    delta: int  # wheel: ±1, shift+wheel: ±10; positive = wheel towards the user


@dataclass(kw_only=True, slots=True)
class WindowEventArguments(UiEventArguments):
    dx: float  # CSS pixels moved since the previous window event (right-drag), once per frame
    dy: float
    final: bool


@dataclass(kw_only=True, slots=True)
class PointEventArguments(UiEventArguments):
    row: float
    col: float


@dataclass(kw_only=True, slots=True)
class HoverEventArguments(UiEventArguments):
    row: int | None  # pixel under the pointer; None when it left the image
    col: int | None


class SliceViewport(ui.element, component="slice_viewport.js",
                    default_style="width: 100%; min-height: 240px"):
    def __init__(self, *, src: str = "", image_width: int, image_height: int, aspect: float = 1.0,
                 labels: Iterable[Mapping[str, Any]] = (), active_label: int | None = None,
                 tool: Tool = "none", mode: Mode = "draw", brush_radius_px: float = 5.0,
                 color: str | None = None, crosshair: Mapping[str, float] | None = None,
                 crosshair_click: bool = True,
                 orientation_letters: Mapping[str, str] | None = None,
                 corner_text: Mapping[str, str] | None = None,
                 on_stroke: Handler[StrokeEventArguments] | None = None,
                 on_shape: Handler[ShapeEventArguments] | None = None,
                 on_slice: Handler[SliceEventArguments] | None = None,
                 on_window: Handler[WindowEventArguments] | None = None,
                 on_point: Handler[PointEventArguments] | None = None,
                 on_hover: Handler[HoverEventArguments] | None = None,
                 on_ready: Handler[UiEventArguments] | None = None) -> None:
        """Slice viewport.

        :param src: URL of the rendered slice (JPEG/PNG); change it (e.g. a version query) to re-render
        :param image_width: native width in pixels (columns)
        :param image_height: native height in pixels (rows)
        :param aspect: physical height / width of one pixel
        :param labels: ``{id, color '#rrggbb', visible, opacity 0..1}`` per label overlay
        :param active_label: id of the label the brush paints (its colour and overlay group)
        :param tool: 'brush' | 'polygon' | 'spline' | 'none' (left click sets the crosshair)
        :param mode: brush 'draw' | 'erase'
        :param brush_radius_px: brush radius in image column pixels (rows scaled by ``aspect``)
        :param color: fallback colour of the active label if it is not in ``labels``
        :param crosshair: ``{row, col}`` drawn as thin lines, or None
        :param crosshair_click: whether a left click with tool 'none' emits ``point``
        :param orientation_letters: ``{top, bottom, left, right}`` at the edge midpoints
        :param corner_text: ``{tl, tr, bl, br}`` text (lines separated by newlines)
        """
        super().__init__()
        self._ready = False
        self._pending: list[dict[str, Any]] = []
        self._batch: dict[str, Any] | None = None
        self._ready_handlers: list[Handler[UiEventArguments]] = []
        self._props.update(src=src, image_width=int(image_width), image_height=int(image_height),
                           aspect=float(aspect), labels=_labels(labels), active_label=active_label,
                           tool=_check(tool, TOOLS), mode=_check(mode, MODES),
                           brush_radius_px=float(brush_radius_px), color=color,
                           crosshair=dict(crosshair) if crosshair else None, crosshair_click=crosshair_click,
                           orientation_letters=dict(orientation_letters) if orientation_letters else None,
                           corner_text=dict(corner_text) if corner_text else None)
        self.on("ready", self._handle_ready)
        for register, handler in ((self.on_stroke, on_stroke), (self.on_shape, on_shape),
                                  (self.on_slice, on_slice), (self.on_window, on_window),
                                  (self.on_point, on_point), (self.on_hover, on_hover),
                                  (self.on_ready, on_ready)):
            if handler:
                register(handler)

    # ---- state the browser draws (each setter sends a small prop update)

    def set_image(self, src: str, *, width: int | None = None, height: int | None = None,
                  aspect: float | None = None) -> None:
        """Show another frame; a new size (another plane or series) resets overlays and view."""
        updates: dict[str, Any] = {"src": src}
        if width is not None:
            updates["image_width"] = int(width)
        if height is not None:
            updates["image_height"] = int(height)
        if aspect is not None:
            updates["aspect"] = float(aspect)
        self._props.update(updates)

    @property
    def tool(self) -> Tool:
        return self._props["tool"]

    @tool.setter
    def tool(self, value: Tool) -> None:
        self._props["tool"] = _check(value, TOOLS)

    @property
    def mode(self) -> Mode:
        return self._props["mode"]

    @mode.setter
    def mode(self, value: Mode) -> None:
        self._props["mode"] = _check(value, MODES)

    @property
    def brush_radius_px(self) -> float:
        return self._props["brush_radius_px"]

    @brush_radius_px.setter
    def brush_radius_px(self, value: float) -> None:
        self._props["brush_radius_px"] = float(value)

    @property
    def labels(self) -> list[dict[str, Any]]:
        return [dict(label) for label in self._props["labels"]]

    @labels.setter
    def labels(self, value: Iterable[Mapping[str, Any]]) -> None:
        self._props["labels"] = _labels(value)

    @property
    def active_label(self) -> int | None:
        return self._props["active_label"]

    @active_label.setter
    def active_label(self, value: int | None) -> None:
        self._props["active_label"] = value

    @property
    def color(self) -> str | None:
        return self._props["color"]

    @color.setter
    def color(self, value: str | None) -> None:
        self._props["color"] = value

    @property
    def crosshair(self) -> dict[str, float] | None:
        return self._props["crosshair"]

    @crosshair.setter
    def crosshair(self, value: Mapping[str, float] | None) -> None:
        self._props["crosshair"] = dict(value) if value else None

    @property
    def orientation_letters(self) -> dict[str, str] | None:
        return self._props["orientation_letters"]

    @orientation_letters.setter
    def orientation_letters(self, value: Mapping[str, str] | None) -> None:
        self._props["orientation_letters"] = dict(value) if value else None

    @property
    def corner_text(self) -> dict[str, str] | None:
        return self._props["corner_text"]

    @corner_text.setter
    def corner_text(self, value: Mapping[str, str] | None) -> None:
        self._props["corner_text"] = dict(value) if value else None

    # ---- overlays: binary patches on the element's own socket.io event

    def set_overlay(self, label_id: int, box: Box, bits: bytes | bytearray | memoryview) -> None:
        """Replace the pixels ``[r0:r1, c0:c1]`` of one label's overlay.

        :param box: ``(r0, c0, r1, c1)``, end-exclusive, inside the image
        :param bits: ``np.packbits`` of the boolean ``(r1 - r0) x (c1 - c0)`` patch, C order
        """
        r0, c0, r1, c1 = (int(v) for v in box)
        height, width = self._props["image_height"], self._props["image_width"]
        if not (0 <= r0 <= r1 <= height and 0 <= c0 <= c1 <= width):
            raise ValueError(f"box {box} is outside the {height}x{width} image")
        data = bytes(bits)
        if len(data) != ((r1 - r0) * (c1 - c0) + 7) // 8:
            raise ValueError(f"{len(data)} bytes do not hold a {r1 - r0}x{c1 - c0} bit patch")
        if r1 > r0 and c1 > c0:
            self._send({"op": "patch", "label": int(label_id), "box": [r0, c0, r1, c1], "bits": data})

    def set_mask(self, label_id: int, mask: np.ndarray, box: Box | None = None) -> None:
        """``set_overlay`` from a boolean array: the whole slice, or ``mask[box]`` if a box is given."""
        if box is None:
            box = (0, 0, *mask.shape)
        r0, c0, r1, c1 = box
        self.set_overlay(label_id, box, np.packbits(mask[r0:r1, c0:c1], axis=None).tobytes())

    def clear_overlays(self, label_id: int | None = None) -> None:
        """Empty one label's overlay, or all of them and every stroke preview (a slice change).

        Send the new slice's ``set_overlay`` calls in the same tick: the browser then swaps the
        overlays together with the new base image.
        """
        op = {"op": "clear", "label": label_id}
        if label_id is None:
            if not self._ready:
                self._pending.clear()  # the browser starts empty anyway
                return
            if self._batch is not None and "_id" not in self._batch:
                self._batch["ops"] = [o for o in self._batch["ops"] if o["op"] != "patch"]
        self._send(op)

    def clear_preview(self, stroke_id: int) -> None:
        """Remove a finished stroke's preview; send it after the stroke's final ``set_overlay``."""
        self._send({"op": "clear_preview", "stroke": int(stroke_id)})

    # ---- view (browser only)

    def zoom_by(self, factor: float) -> None:
        """Zoom around the centre of the viewport."""
        self.run_method("zoom_by", float(factor))

    def reset_view(self) -> None:
        """Fit the image to the viewport again."""
        self.run_method("reset_view")

    # ---- events

    def on_stroke(self, handler: Handler[StrokeEventArguments]) -> Self:
        """Brush points, ``{stroke, points: [[r, c], ...], final, mode, radius}``, once per frame.

        Keep the handler synchronous (or serialise it): batches must be applied in order.
        """
        return self._on("stroke", handler, lambda a: StrokeEventArguments(
            sender=self, client=self.client, stroke=int(a["stroke"]),
            points=[(float(r), float(c)) for r, c in a["points"]], final=bool(a["final"]),
            mode=a["mode"], radius=float(a["radius"])))

    def on_shape(self, handler: Handler[ShapeEventArguments]) -> Self:
        """A closed polygon or spline, ``{tool, points: [[r, c], ...]}``."""
        return self._on("shape", handler, lambda a: ShapeEventArguments(
            sender=self, client=self.client, tool=a["tool"],
            points=[(float(r), float(c)) for r, c in a["points"]]))

    def on_slice(self, handler: Handler[SliceEventArguments]) -> Self:
        """Wheel: ``{delta: ±1}``, shift+wheel: ``{delta: ±10}``."""
        return self._on("slice", handler, lambda a: SliceEventArguments(
            sender=self, client=self.client, delta=int(a["delta"])))

    def on_window(self, handler: Handler[WindowEventArguments]) -> Self:
        """Right-drag, ``{dx, dy, final}`` in CSS pixels since the previous event, once per frame."""
        return self._on("window", handler, lambda a: WindowEventArguments(
            sender=self, client=self.client, dx=float(a["dx"]), dy=float(a["dy"]), final=bool(a["final"])))

    def on_point(self, handler: Handler[PointEventArguments]) -> Self:
        """Left click / drag with tool 'none': ``{row, col}`` for the crosshair."""
        return self._on("point", handler, lambda a: PointEventArguments(
            sender=self, client=self.client, row=float(a["row"]), col=float(a["col"])))

    def on_hover(self, handler: Handler[HoverEventArguments]) -> Self:
        """The pixel under the pointer when it changes (at most once per frame), None outside."""
        return self._on("hover", handler, lambda a: HoverEventArguments(
            sender=self, client=self.client, row=None if a is None else int(a["row"]),
            col=None if a is None else int(a["col"])))

    def on_ready(self, handler: Handler[UiEventArguments]) -> Self:
        """The browser side is (again) mounted and connected, with empty overlays: send them."""
        self._ready_handlers.append(handler)
        return self

    # ---- internals

    def _on(self, event: str, handler: Handler[Any], make: Callable[[Any], UiEventArguments]) -> Self:
        self.on(event, lambda e: handle_event(handler, make(e.args)))
        return self

    def _handle_ready(self, _: GenericEventArguments) -> None:
        self._ready = True
        self._batch = None
        pending, self._pending = self._pending, []
        for op in pending:
            self._send(op)
        for handler in self._ready_handlers:
            handle_event(handler, UiEventArguments(sender=self, client=self.client))

    def _send(self, op: dict[str, Any]) -> None:
        """Append to this tick's message; the outbox stamps ``_id`` when it starts sending it."""
        if not self._ready:
            self._pending.append(op)
            return
        if not self._is_safe_to_interact():
            return
        if self._batch is None or "_id" in self._batch:
            self._batch = {"id": self.id, "ops": []}
            self.client.outbox.enqueue_message(CHANNEL, self._batch, self.client.id)
        cast(list, self._batch["ops"]).append(op)


def _check(value: str, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _labels(labels: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": int(label["id"]), "color": str(label.get("color", "#ff0000")),
             "visible": bool(label.get("visible", True)), "opacity": float(label.get("opacity", 0.5))}
            for label in labels]

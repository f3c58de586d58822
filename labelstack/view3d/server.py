"""The trame application of one 3D view: the remote-rendered scene with its toolbar (preset,
opacity, reset), commands from the parent on stdin, events to it on stdout.

Every VTK call runs on the trame loop's thread: stdin is read by a thread that only hands
each line over to the loop.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import numpy as np
from trame.app import get_server
from trame.ui.vuetify3 import VAppLayout
from trame.widgets import html
from trame.widgets import vtk as vtk_widgets
from trame.widgets import vuetify3 as v3
from vtkmodules.vtkCommonCore import vtkCommand

from labelstack.view3d import protocol
from labelstack.view3d.presets import data_range, presets_for
from labelstack.view3d.scene import Scene
from labelstack.view3d.spec import LabelSpec, ViewSpec

DRAG_RATIO = 0.4  # image size while dragging, of the element's size
TOOLBAR = ("position: absolute; top: 6px; right: 6px; z-index: 2; display: flex; gap: 4px; "
           "align-items: center; background: rgba(20, 22, 26, 0.78); padding: 0 6px; "
           "border-radius: 6px; width: 330px; max-width: calc(100% - 12px)")


class View3D:
    def __init__(self, spec: ViewSpec) -> None:
        self.spec = spec
        pixels = np.load(spec.volume, mmap_mode="r")
        self.scene = Scene(spec, pixels)
        self.presets = {p.name: p for p in presets_for(spec.modality, *data_range(pixels))}
        self.server = get_server(f"view3d-{spec.port}", client_type="vue3")
        self.state = self.server.state
        first = next(iter(self.presets))
        self.state.update({"preset": first, "opacity": 1.0,
                           "presets": [{"title": p.title, "value": p.name} for p in self.presets.values()]})
        self.scene.set_preset(self.presets[first])
        self.state.change("preset", "opacity")(self.on_look)
        self.pressed: tuple[float, float, float] | None = None  # the camera at the last press
        style = self.scene.interactor.GetInteractorStyle()
        style.AddObserver(vtkCommand.LeftButtonPressEvent, self.on_press)
        self.server.controller.on_server_ready.add(self.on_ready)
        self.build_ui()

    def build_ui(self) -> None:
        with VAppLayout(self.server, full_height=True) as layout:
            layout.root.style = "background: #111418"
            with html.Div(style="position: relative; width: 100%; height: 100vh; overflow: hidden"):
                self.view = vtk_widgets.VtkRemoteView(
                    self.scene.window, ref="view3d", interactive_ratio=DRAG_RATIO, interactive_quality=70,
                    still_ratio=1, still_quality=92, style="width: 100%; height: 100%",
                    picking_modes=("picking_modes", ["click"]), click=(self.on_click, "[$event]"),
                    raw_attrs=['data-testid="view3d-render"'])
                with html.Div(style=TOOLBAR, raw_attrs=['data-testid="view3d-toolbar"']):
                    v3.VSelect(v_model=("preset",), items=("presets",), density="compact",
                               variant="plain", hide_details=True, theme="dark",
                               style="max-width: 150px; min-width: 110px",
                               raw_attrs=['data-testid="view3d-preset"'])
                    v3.VSlider(v_model=("opacity",), min=0.2, max=2.0, step=0.05, hide_details=True,
                               density="compact", theme="dark", color="teal-lighten-2",
                               prepend_icon="mdi-circle-opacity", style="min-width: 70px",
                               raw_attrs=['data-testid="view3d-opacity"'])
                    v3.VBtn(icon="mdi-fit-to-screen-outline", variant="text", density="comfortable",
                            theme="dark", click=self.reset, title="Reset the camera",
                            raw_attrs=['data-testid="view3d-reset"'])

    # ---- the toolbar

    def on_look(self, preset: str, opacity: float, **_: Any) -> None:
        chosen = self.presets.get(preset)
        if chosen is not None:
            self.scene.set_preset(chosen, float(opacity))
            self.view.update()

    def reset(self) -> None:
        self.scene.reset_camera()
        self.view.update()

    # ---- clicking a surface point

    def on_press(self, style: Any, _event: str) -> None:
        """An observer of the camera style replaces its handling: it is called on too."""
        self.pressed = self.scene.renderer.GetActiveCamera().GetPosition()
        style.OnLeftButtonDown()

    def on_click(self, event: dict[str, Any]) -> None:
        """The browser's click (its position in the image shown): a press and release that did
        not move the camera picks the surface point under it."""
        camera = self.scene.renderer.GetActiveCamera().GetPosition()
        if self.pressed is not None and np.allclose(camera, self.pressed):
            width, height = self.scene.window.GetSize()
            (shown_w, shown_h), at = event["size"], event["position"]
            zyx = self.scene.pick(round(at["x"] / shown_w * width), round(at["y"] / shown_h * height))
            if zyx is not None:
                emit(protocol.POINT, zyx=list(zyx))
        self.pressed = None

    # ---- the parent's commands

    def on_ready(self, **_: Any) -> None:
        loop = asyncio.get_running_loop()
        threading.Thread(target=self.read_commands, args=(loop,), daemon=True).start()
        emit(protocol.READY, port=self.server.port)

    def read_commands(self, loop: asyncio.AbstractEventLoop) -> None:
        for line in sys.stdin.buffer:
            message = protocol.decode(line)
            if message is not None:
                loop.call_soon_threadsafe(self.handle, message)
        loop.call_soon_threadsafe(self.stop)  # the parent is gone

    def handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == protocol.LABELS:
            self.scene.set_labels([LabelSpec(**item) for item in message["labels"]])
        elif kind == protocol.MASK:
            self.scene.update_mask(int(message["label"]), _box(message.get("box")))
        elif kind == protocol.SLICES:
            z, y, x = message["zyx"]
            self.scene.set_slices((z, y, x))
        elif kind == protocol.STOP:
            self.stop()
            return
        self.view.update()

    def stop(self) -> None:
        asyncio.ensure_future(self.server.stop())

    def start(self) -> None:
        self.server.start(port=self.spec.port, host=self.spec.host, open_browser=False, timeout=0,
                          show_connection_info=False)


def emit(kind: str, **fields: Any) -> None:
    sys.stdout.buffer.write(protocol.encode(kind, **fields))
    sys.stdout.buffer.flush()


def _box(value: list[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)

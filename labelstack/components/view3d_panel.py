"""The annotator's 3D view: an iframe onto a 3D view process (through the app's proxy), fed
with what the 2D views show.

The panel mirrors each label's mask into a memory-mapped file the process reads, copying only
the box a change touched, and tells the process which box changed; it follows the 2D views'
slices and the label panel's colours and visibility, and moves the 2D views to a surface
point clicked in 3D. The process goes when the panel does (another layout or image, the page
closed).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from nicegui import background_tasks, run, ui

from labelstack.components.annotator_geometry import project, voxel
from labelstack.components.view3d_processes import VIEWS, ViewProcess, ViewsExhausted
from labelstack.components.view3d_proxy import PREFIX
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.imaging.mpr import slice_map
from labelstack.imaging.volume import Volume
from labelstack.services.errors import ServiceError
from labelstack.services.images import runtime
from labelstack.services.images.volume_file import volume_file
from labelstack.view3d import protocol
from labelstack.view3d.geometry import mask_box
from labelstack.view3d.spec import LabelSpec, ViewSpec, label_mask_path

if TYPE_CHECKING:
    from labelstack.components.annotator_views import SliceViews

FOLLOW_SECONDS = 0.2  # how often the slices and label looks are compared with what 3D shows
Masks = Callable[[int], np.ndarray | None]


class View3DPanel(ui.element):
    def __init__(self, views: SliceViews, masks: Masks | None) -> None:
        super().__init__("div")
        self.classes("relative overflow-hidden rounded-borders bg-grey-10 min-h-0 min-w-0")
        self.props("data-testid=viewport-3d")
        self.views, self.masks = views, masks
        assert views.volume is not None
        self.volume: Volume = views.volume
        self.series_uid, self.user = views.series_uid, views.user
        self.process: ViewProcess | None = None
        self.directory: Path | None = None
        self.files: dict[int, np.memmap] = {}
        self.shown_slices: tuple[int | None, ...] | None = None
        self.shown_labels: list[dict[str, Any]] | None = None
        with self:
            self.status = ui.column().classes("absolute-full items-center justify-center text-grey-5 "
                                              "q-pa-md text-center no-wrap")
            self.frame = ui.element("iframe").classes("absolute-full").style(
                "border: 0; width: 100%; height: 100%").props("data-testid=view3d-frame")
        self.frame.set_visibility(False)
        self.show_status("Starting the 3D view…", spinner=True)
        self.follower = ui.timer(FOLLOW_SECONDS, self.follow, active=False)
        self.starting = background_tasks.create(self.start(), name="view3d-start")

    # ---- starting and stopping

    async def start(self) -> None:
        try:
            spec = await run.io_bound(self._prepare)
            self.process = await VIEWS.start(spec, user_id=_id(self.user), series_uid=self.series_uid,
                                             on_event=self.on_event)
        except ViewsExhausted as exc:
            self._cleanup_files()
            self.show_status(str(exc), icon="hourglass_empty", testid="view3d-busy")
            return
        except (ServiceError, RuntimeError, OSError) as exc:
            self._cleanup_files()
            detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
            self.show_status(f"The 3D view could not start: {detail}", icon="error_outline",
                             testid="view3d-error")
            return
        if self.is_deleted:
            await VIEWS.stop(self.process.view_id)
            return
        self.status.set_visibility(False)
        self.frame.props(f"src={PREFIX}/{self.process.view_id}/index.html "
                         f"data-view-id={self.process.view_id}")
        self.frame.set_visibility(True)
        self.follower.active = True

    def _prepare(self) -> ViewSpec:
        """The volume's file, the label files and the spec (blocks: decoding, copying); the
        view's directory holds the labels and any copy of the volume, and goes with the view."""
        base = runtime.current_settings().data_dir / "cache" / "view3d-views"
        base.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(dir=base))
        with session_scope() as session:
            path, _ = volume_file(session, actor=self.user, series_uid=self.series_uid,
                                  scratch=self.directory)
        labels = [self._mirror(item) for item in self.views.drawing.labels]
        self.shown_labels = self._looks()
        self.shown_slices = self._slices()
        v = self.volume
        return ViewSpec(volume=str(path), shape=(v.shape[0], v.shape[1], v.shape[2]),
                        spacing=v.spacing, origin=v.origin, orientation=v.orientation,
                        modality=v.modality, labels_dir=str(self.directory), labels=labels,
                        slices=self.shown_slices)  # type: ignore[arg-type]

    def _mirror(self, item: dict[str, Any]) -> LabelSpec:
        """The label's file, with its voxels copied in (within their box only)."""
        assert self.directory is not None
        label_id = int(item["id"])
        file = np.lib.format.open_memmap(label_mask_path(self.directory, label_id), mode="w+",
                                         dtype=np.uint8, shape=self.volume.shape[:3])
        self.files[label_id] = file
        mask = self.masks(label_id) if self.masks is not None else None
        box = mask_box(mask) if mask is not None else None
        if mask is not None and box is not None:
            region = _slices(box)
            file[region] = mask[region]
        return LabelSpec(id=label_id, color=str(item["color"]), visible=bool(item["visible"]), box=box)

    def _handle_delete(self) -> None:
        self.follower.active = False
        process = self.process
        if process is not None:
            background_tasks.create(VIEWS.stop(process.view_id), name="view3d-stop")
        elif not self.starting.done():
            self.starting.add_done_callback(lambda _: self._stop_late())
        super()._handle_delete()

    def _stop_late(self) -> None:
        if self.process is not None:
            background_tasks.create(VIEWS.stop(self.process.view_id), name="view3d-stop")

    def _cleanup_files(self) -> None:
        self.files.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def show_status(self, text: str, *, icon: str = "view_in_ar", spinner: bool = False,
                    testid: str = "view3d-status") -> None:
        self.status.clear()
        with self.status:
            if spinner:
                ui.spinner(size="36px", color="teal-4")
            else:
                ui.icon(icon, size="36px").classes("text-grey-5")
            ui.label(text).classes("text-body2 text-grey-4").style("max-width: 28rem") \
                .props(f"data-testid={testid}")
        self.status.set_visibility(True)

    # ---- following the 2D views and the labels

    def follow(self) -> None:
        if self.process is None:
            return
        slices = self._slices()
        if slices != self.shown_slices:
            self.shown_slices = slices
            self.process.send(protocol.SLICES, zyx=list(slices))
        looks = self._looks()
        if looks != self.shown_labels:
            self.shown_labels = looks
            self.process.send(protocol.LABELS, labels=[
                {"id": item["id"], "color": item["color"], "visible": item["visible"]} for item in looks
                if int(item["id"]) in self.files])

    def _slices(self) -> tuple[int | None, int | None, int | None]:
        """The (z, y, x) voxel planes the 2D views show (None: no view shows that axis)."""
        out: list[int | None] = [None, None, None]
        for view in self.views.views:
            axis = slice_map(self.volume, view.plane).axes[0]
            out[axis] = voxel(self.volume, view.plane, view.index, 0, 0)[axis]
        return out[0], out[1], out[2]

    def _looks(self) -> list[dict[str, Any]]:
        return [{"id": int(i["id"]), "color": str(i["color"]), "visible": bool(i["visible"])}
                for i in self.views.drawing.labels]

    def mask_changed(self, label_id: int, box: Sequence[int]) -> None:
        """A change of a label's mask inside `box`: copied into its file, then announced."""
        file = self.files.get(label_id)
        mask = self.masks(label_id) if self.masks is not None else None
        if file is None or mask is None or self.process is None or self.is_deleted:
            return
        region = _slices(box)
        file[region] = mask[region]
        self.process.send(protocol.MASK, label=label_id, box=[int(v) for v in box])

    def masks_reloaded(self) -> None:
        """Every mask may differ (reopened from the database): copied in full."""
        for label_id in list(self.files):
            shape = self.volume.shape[:3]
            self.mask_changed(label_id, (0, 0, 0, shape[0], shape[1], shape[2]))

    # ---- events of the process

    def on_event(self, message: dict[str, Any]) -> None:
        if message["type"] == protocol.POINT and not self.is_deleted:
            zyx = tuple(int(v) for v in message["zyx"])
            self.views.cursor = (zyx[0], zyx[1], zyx[2])
            for view in self.views.views:
                view.index = project(self.volume, self.views.cursor, view.plane)[0]
            with self:
                self.views.refresh()
            self.follow()


def _slices(box: Sequence[int]) -> tuple[slice, slice, slice]:
    return slice(box[0], box[3]), slice(box[1], box[4]), slice(box[2], box[5])


def _id(user: User) -> int:
    assert user.id is not None
    return user.id


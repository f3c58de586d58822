"""The VTK scene of one 3D view: the volume (fixed-point ray casting on the memory-mapped
pixels, no copy), the label surfaces, the three slice planes and the orientation cube, in
patient coordinates; off-screen, one thread (the trame loop's) renders it all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the render window implementation)
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkObject
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkFiltersCore import vtkFeatureEdges
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkInteractionWidgets import vtkOrientationMarkerWidget
from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkCellPicker,
    vtkColorTransferFunction,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkRenderWindow,
    vtkRenderWindowInteractor,
    vtkVolume,
    vtkVolumeProperty,
    vtkWindowToImageFilter,
)
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

from labelstack.view3d.geometry import box_union, patient_matrix, voxel_of
from labelstack.view3d.presets import Preset
from labelstack.view3d.spec import LabelSpec, ViewSpec
from labelstack.view3d.surfaces import label_surface

PLANE_COLOURS = ((0.95, 0.33, 0.30), (0.40, 0.80, 0.35), (0.95, 0.85, 0.30))  # z, y, x: Slicer's
BACKGROUND = (0.07, 0.08, 0.10)
INTERACTIVE_RATE = 15.0  # frames/s the ray caster aims at while dragging (coarser sampling)


@dataclass(kw_only=True, slots=True)
class Surface:
    actor: vtkActor
    mapper: vtkPolyDataMapper
    box: tuple[int, ...] | None


class Scene:
    def __init__(self, spec: ViewSpec, pixels: np.ndarray) -> None:
        vtkObject.GlobalWarningDisplayOff()
        self.spec = spec
        self.pixels = pixels
        self.matrix = patient_matrix(spec.spacing, spec.origin, spec.orientation)
        self.placement = _vtk_matrix(patient_matrix((1.0, 1.0, 1.0), spec.origin, spec.orientation))
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*BACKGROUND)
        self.renderer.SetBackground2(0.22, 0.24, 0.28)
        self.renderer.GradientBackgroundOn()
        self.window = vtkRenderWindow()
        self.window.SetOffScreenRendering(1)
        self.window.SetSize(*spec.size)
        self.window.AddRenderer(self.renderer)
        self.interactor = vtkRenderWindowInteractor()
        self.interactor.SetRenderWindow(self.window)
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.interactor.SetDesiredUpdateRate(INTERACTIVE_RATE)
        self.interactor.SetStillUpdateRate(0.0001)
        self.volume = self._volume()
        self.renderer.AddVolume(self.volume)
        self.planes = [self._plane(axis) for axis in range(3)]
        self.surfaces: dict[int, Surface] = {}
        self.picker = vtkCellPicker()
        self.picker.SetTolerance(0.002)
        self.marker = self._marker()
        self.set_slices(spec.slices)
        self.set_labels(spec.labels)
        self.reset_camera()

    # ---- the volume

    def _volume(self) -> vtkVolume:
        z, y, x = self.pixels.shape
        dz, dy, dx = self.spec.spacing
        image = vtkImageData()
        image.SetDimensions(x, y, z)
        image.SetSpacing(dx, dy, dz)
        flat = self.pixels.reshape(-1)  # a view of the memmap: VTK reads the page cache
        self._scalars = numpy_to_vtk(flat, deep=False)
        image.GetPointData().SetScalars(self._scalars)
        mapper = vtkFixedPointVolumeRayCastMapper()
        mapper.SetInputData(image)
        mapper.AutoAdjustSampleDistancesOn()
        mapper.SetImageSampleDistance(1.0)
        mapper.SetMaximumImageSampleDistance(4.0)
        self.property = vtkVolumeProperty()
        self.property.SetInterpolationTypeToLinear()
        self.property.ShadeOff()  # shading costs a gradient volume: ~12 s and 3 bytes a voxel at 512²×300
        volume = vtkVolume()
        volume.SetMapper(mapper)
        volume.SetProperty(self.property)
        volume.SetUserMatrix(self.placement)
        volume.PickableOff()
        return volume

    def set_preset(self, preset: Preset, opacity: float = 1.0) -> None:
        colour, alpha = vtkColorTransferFunction(), vtkPiecewiseFunction()
        for value, r, g, b, a in preset.scaled(opacity):
            colour.AddRGBPoint(value, r, g, b)
            alpha.AddPoint(value, a)
        self.property.SetColor(colour)
        self.property.SetScalarOpacity(alpha)
        self.property.SetScalarOpacityUnitDistance(float(min(self.spec.spacing)) * 2)

    # ---- labels

    def set_labels(self, labels: list[LabelSpec]) -> None:
        """Colours and visibility; a label seen for the first time gets its surface."""
        wanted = {label.id for label in labels}
        for gone in set(self.surfaces) - wanted:
            self.renderer.RemoveActor(self.surfaces.pop(gone).actor)
        for label in labels:
            surface = self.surfaces.get(label.id)
            if surface is None:
                surface = self.surfaces[label.id] = self._surface(label)
            surface.actor.GetProperty().SetColor(*_rgb(label.color))
            surface.actor.SetVisibility(int(label.visible))

    def update_mask(self, label_id: int, box: tuple[int, ...] | None) -> None:
        """The label's voxels changed inside `box`: its surface is made again over the union of
        every box it was told about (an erased part may leave a larger box: harmless)."""
        surface = self.surfaces.get(label_id)
        if surface is None:
            return
        surface.box = box_union(surface.box, box)
        surface.mapper.SetInputData(label_surface(self._mask(label_id), surface.box, self.spec.spacing))

    def _surface(self, label: LabelSpec) -> Surface:
        mapper = vtkPolyDataMapper()
        mapper.ScalarVisibilityOff()
        mapper.SetInputData(label_surface(self._mask(label.id), label.box, self.spec.spacing))
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.SetUserMatrix(self.placement)
        prop = actor.GetProperty()
        prop.SetSpecular(0.3)
        prop.SetSpecularPower(20)
        prop.SetDiffuse(0.8)
        self.renderer.AddActor(actor)
        return Surface(actor=actor, mapper=mapper, box=label.box)

    def _mask(self, label_id: int) -> np.ndarray:
        path = self.spec.label_path(label_id)
        return np.load(path, mmap_mode="r") if path.exists() else np.zeros(self.pixels.shape, np.uint8)

    # ---- slice planes

    def _plane(self, axis: int) -> tuple[vtkPlaneSource, list[vtkActor]]:
        """A faint fill and an opaque frame, in the colour of the plane's 2D view."""
        source = vtkPlaneSource()
        edges = vtkFeatureEdges()
        edges.SetInputConnection(source.GetOutputPort())
        edges.BoundaryEdgesOn()
        edges.FeatureEdgesOff()
        edges.NonManifoldEdgesOff()
        edges.ManifoldEdgesOff()
        edges.ColoringOff()
        actors = []
        for port, opacity in ((source.GetOutputPort(), 0.12), (edges.GetOutputPort(), 1.0)):
            mapper = vtkPolyDataMapper()
            mapper.SetInputConnection(port)
            mapper.ScalarVisibilityOff()
            actor = vtkActor()
            actor.SetMapper(mapper)
            actor.SetUserMatrix(self.placement)
            prop = actor.GetProperty()
            prop.SetColor(*PLANE_COLOURS[axis])
            prop.SetOpacity(opacity)
            prop.SetLineWidth(2.5)
            prop.LightingOff()
            actor.PickableOff()
            self.renderer.AddActor(actor)
            actors.append(actor)
        return source, actors

    def set_slices(self, zyx: tuple[int | None, int | None, int | None]) -> None:
        """Show the plane through voxel index zyx[a] of each axis a (None: hide it)."""
        z, y, x = self.pixels.shape
        dz, dy, dx = self.spec.spacing
        size = np.array([(x - 1) * dx, (y - 1) * dy, (z - 1) * dz])
        for axis, ((source, actors), index) in enumerate(zip(self.planes, zyx, strict=True)):
            for actor in actors:
                actor.SetVisibility(index is not None)
            if index is None:
                continue
            k = 2 - axis  # (z, y, x) axis → (x, y, z) coordinate
            at = float(index) * (dx, dy, dz)[k]
            origin, p1, p2 = np.zeros(3), np.zeros(3), np.zeros(3)
            u, v = [c for c in range(3) if c != k]
            origin[k] = p1[k] = p2[k] = at
            p1[u], p2[v] = size[u], size[v]
            source.SetOrigin(*origin)
            source.SetPoint1(*p1)
            source.SetPoint2(*p2)

    # ---- camera, marker, picking

    def reset_camera(self) -> None:
        """Looking at the patient from the front (anterior), head up."""
        camera = self.renderer.GetActiveCamera()
        centre = self.matrix @ np.array([*(np.array(self.pixels.shape[::-1]) - 1) / 2, 1.0])
        camera.SetFocalPoint(*centre[:3])
        camera.SetPosition(centre[0], centre[1] - 1000.0, centre[2])
        camera.SetViewUp(0.0, 0.0, 1.0)
        camera.Azimuth(-30.0)  # a little from the patient's right and from above: depth shows
        camera.Elevation(20.0)
        camera.OrthogonalizeViewUp()
        self.renderer.ResetCamera()
        camera.Zoom(1.2)

    def _marker(self) -> vtkOrientationMarkerWidget:
        cube = vtkAnnotatedCubeActor()  # LPS: +x left, +y posterior, +z head
        for face, text in zip(("XPlus", "XMinus", "YPlus", "YMinus", "ZPlus", "ZMinus"),
                              ("L", "R", "P", "A", "H", "F"), strict=True):
            getattr(cube, f"Set{face}FaceText")(text)
        cube.SetFaceTextScale(0.6)
        cube.GetCubeProperty().SetColor(0.30, 0.34, 0.40)
        cube.GetTextEdgesProperty().SetColor(0.8, 0.8, 0.8)
        for name in ("XPlus", "XMinus"):
            getattr(cube, f"Get{name}FaceProperty")().SetColor(0.95, 0.55, 0.5)
        for name in ("YPlus", "YMinus"):
            getattr(cube, f"Get{name}FaceProperty")().SetColor(0.55, 0.9, 0.55)
        for name in ("ZPlus", "ZMinus"):
            getattr(cube, f"Get{name}FaceProperty")().SetColor(0.55, 0.7, 1.0)
        widget = vtkOrientationMarkerWidget()
        widget.SetOrientationMarker(cube)
        widget.SetInteractor(self.interactor)
        widget.SetViewport(0.0, 0.0, 0.18, 0.18)
        widget.SetEnabled(1)
        widget.InteractiveOff()
        return widget

    def pick(self, x: int, y: int) -> tuple[int, int, int] | None:
        """The voxel of the label surface under display pixel (x, y), if any."""
        if not self.picker.Pick(x, y, 0, self.renderer) or self.picker.GetActor() is None:
            return None
        return voxel_of(self.matrix, self.picker.GetPickPosition(), self.pixels.shape)

    def render(self) -> None:
        self.window.Render()

    def screenshot(self) -> np.ndarray:
        """The last frame, (height, width, 3) uint8, top row first."""
        grab = vtkWindowToImageFilter()
        grab.SetInput(self.window)
        grab.ReadFrontBufferOff()
        grab.Update()
        image = grab.GetOutput()
        w, h, _ = image.GetDimensions()
        return vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, -1)[::-1, :, :3].copy()


def _vtk_matrix(matrix: np.ndarray) -> vtkMatrix4x4:
    out = vtkMatrix4x4()
    for i in range(4):
        for j in range(4):
            out.SetElement(i, j, float(matrix[i, j]))
    return out


def _rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    return int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255

"""A label's surface from its mask: surface nets on the box that holds the label (one voxel of
background around it, so the surface closes), lightly smoothed, in the volume's local
millimetres (x·dx, y·dy, z·dz)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkPolyDataNormals, vtkSurfaceNets3D

SMOOTHING_ITERATIONS = 12


def label_surface(mask: np.ndarray, box: Sequence[int] | None,
                  spacing: Sequence[float]) -> vtkPolyData:
    """The surface of `mask`'s set voxels inside `box` (z0, y0, x0, z1, y1, x1); empty when
    nothing is set there."""
    if box is None:
        return vtkPolyData()
    shape = mask.shape
    z0, y0, x0 = (max(0, int(box[i]) - 1) for i in range(3))
    z1, y1, x1 = (min(shape[i], int(box[i + 3]) + 1) for i in range(3))
    crop = np.zeros((z1 - z0 + 2, y1 - y0 + 2, x1 - x0 + 2), np.uint8)
    crop[1:-1, 1:-1, 1:-1] = mask[z0:z1, y0:y1, x0:x1] != 0
    if not crop.any():
        return vtkPolyData()
    dz, dy, dx = (float(s) for s in spacing)
    image = vtkImageData()
    image.SetDimensions(crop.shape[2], crop.shape[1], crop.shape[0])
    image.SetSpacing(dx, dy, dz)
    image.SetOrigin((x0 - 1) * dx, (y0 - 1) * dy, (z0 - 1) * dz)
    image.GetPointData().SetScalars(numpy_to_vtk(crop.reshape(-1), deep=True))
    nets = vtkSurfaceNets3D()
    nets.SetInputData(image)
    nets.SetValue(0, 1)
    nets.SetOutputMeshTypeToTriangles()
    nets.SmoothingOn()
    nets.SetNumberOfIterations(SMOOTHING_ITERATIONS)
    normals = vtkPolyDataNormals()
    normals.SetInputConnection(nets.GetOutputPort())
    normals.SplittingOff()
    normals.Update()
    out = vtkPolyData()
    out.ShallowCopy(normals.GetOutput())
    out.GetCellData().Initialize()  # the boundary labels: the mapper colours by the actor
    return out

"""`python -m labelstack.view3d SPEC.json`: serve one 3D view until told to stop (or stdin
closes: the parent is gone)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

NICENESS = 10  # rendering yields the CPU to the app's event loop (and to the 2D views)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: python -m labelstack.view3d SPEC.json")
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    os.nice(NICENESS)
    from labelstack.view3d.server import View3D
    from labelstack.view3d.spec import ViewSpec

    View3D(ViewSpec.read(Path(argv[0]))).start()


if __name__ == "__main__":
    main(sys.argv[1:])

"""The 3D view: a trame/VTK application run in its own process (`python -m labelstack.view3d
SPEC.json`), one per open 3D view.

It takes paths and geometry only (the volume's .npy in the volume disk cache, the label masks
the annotator mirrors into memory-mapped files) and never touches the database or services,
so it sits low like `imaging/`. Only `scene.py`, `surfaces.py` and `server.py` import VTK or
trame; the NiceGUI process imports `spec` and `protocol` alone.
"""

"""Labels: the catalogue admins manage, assignments to images, and labels added inside label tasks."""

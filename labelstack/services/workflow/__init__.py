"""The task workflow on top of tasks and annotations: creating tasks, moving them along
the status flow with each type's steps (`lifecycle`), and reworking rejected work."""

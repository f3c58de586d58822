"""Tasks: the status rules, the task rows and who may act on them, their items, queries and edits.

Creating tasks and moving them along their flow is `services.workflow`, which sits above
this and `annotations`."""

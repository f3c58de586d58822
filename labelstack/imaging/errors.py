"""The one exception the imaging core raises for bad or unsupported input."""


class ImagingError(ValueError):
    """Pixels or geometry cannot be used; the message is meant for the user (import report, UI)."""

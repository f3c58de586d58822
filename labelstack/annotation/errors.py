"""The one exception the drawing tools raise for input they cannot rasterise or replay."""


class AnnotationInputError(ValueError):
    """A stroke, shape or edit operation that is malformed; the message names what is wrong.

    A ValueError, so an API layer can map it to a 4xx without knowing the annotation core.
    """

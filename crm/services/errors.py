"""The error every use case raises when it refuses."""


class ServiceError(Exception):
    """A use case refused: the message is shown to the person who asked."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field

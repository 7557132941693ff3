"""Result objects as the platform's templates define them: plain objects whose attributes are
the response (the platform's runtime writes them with `json.dumps(default=__dict__)`)."""


class Response:
    pass


class ResultResponse(Response):
    """The result passed back to the caller, and metadata about how it was made."""

    def __init__(self, result: dict, metadata: dict = None):
        self.result = result
        self.metadata = metadata

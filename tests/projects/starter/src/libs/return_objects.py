"""Result objects as the platform's templates define them: plain objects whose attributes are
the response (the runtime writes `json.dumps(obj, default=__dict__)`)."""


class Response:
    pass


class ResultResponse(Response):
    """The result passed back to the caller, and metadata about how it was made."""

    def __init__(self, result: dict, metadata: dict = None):
        self.result = result
        self.metadata = metadata


class ErrorResponse(Response):
    """An application error passed back to the caller as a result."""

    def __init__(self, code: str, detail: str):
        self.code = code
        self.detail = detail

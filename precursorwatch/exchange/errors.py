"""The exchange's errors: each carries its HTTP status and a stable code (Contract 3).

They are mapped to `{"error": {"code": ..., "message": ...}}` in one place (app.py).
"""

from __future__ import annotations


class ExchangeError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Unauthorized(ExchangeError):
    status = 401
    code = "unauthorized"


class Forbidden(ExchangeError):
    """Only for records the caller may already see (e.g. a transit authority answering)."""

    status = 403
    code = "forbidden"


class NotFound(ExchangeError):
    """Also what a caller gets for records of others: existence is never disclosed."""

    status = 404
    code = "not_found"


class Conflict(ExchangeError):
    status = 409
    code = "conflict"


class Invalid(ExchangeError):
    status = 422
    code = "invalid_request"


class TooLarge(ExchangeError):
    status = 413
    code = "body_too_large"


class RateLimited(ExchangeError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AdminError(Exception):
    """A mistake in an admin command (unknown authority, duplicate code): said, never traced."""

"""The typed error every service layer raises; only `samlfed.api` turns it into AWS error XML."""

from __future__ import annotations


class ServiceError(Exception):
    """An AWS-style error: the wire code, the HTTP status and the message clients string-match."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.answer_not_before: float | None = None
        """`time.monotonic()` before which the answer must not leave (sts/decryption_guard.py); None: at once."""

    @property
    def fault(self) -> str:
        """AWS's error Type: the caller's fault (Sender) or ours (Receiver)."""
        return "Receiver" if self.status >= 500 else "Sender"


class ValidationFailed(ServiceError):
    """One or more parameters broke their constraints, reported in AWS's `N validation errors detected` form."""

    def __init__(self, violations: list[str]) -> None:
        count = len(violations)
        noun = "error" if count == 1 else "errors"
        super().__init__("ValidationError", f"{count} validation {noun} detected: " + "; ".join(violations), 400)
        self.violations = violations


def null_violation(field: str) -> str:
    """A required member that is missing, in AWS's wording (`field` as the model names it, e.g. 'roleArn')."""
    return f"Value null at '{field}' failed to satisfy constraint: Member must not be null"


def service_unavailable() -> ServiceError:
    """AWS's common error for a temporary failure of the server (HTTP 503, which SDKs retry): what a request gets
    when the database fails it (samlfed.store.DatabaseUnavailable)."""
    return ServiceError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503)

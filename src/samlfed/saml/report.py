"""Records the outcome of each named check as the pipeline runs, for the doctor, logs and error messages."""

from __future__ import annotations

from .checks import CHECK_ORDER, check
from .errors import SamlValidationError
from .model import CheckResult


class Report:
    def __init__(self) -> None:
        self.results: list[CheckResult] = []
        self.warnings: list[str] = []

    def passed(self, check_id: str, message: str) -> None:
        self.results.append(CheckResult(check_id, "pass", message))

    def warned(self, check_id: str, message: str, hint: str | None = None) -> None:
        self.results.append(CheckResult(check_id, "warn", message, hint))
        self.warnings.append(message)

    def skipped(self, check_id: str, message: str) -> None:
        self.results.append(CheckResult(check_id, "skip", message))

    def fail(self, error: SamlValidationError) -> SamlValidationError:
        """Record the failure, mark every check not yet run as skipped, and hand the error back to raise."""
        check(error.check_id)  # an unknown id is a programming error: fail loudly in tests
        self.results.append(CheckResult(error.check_id, "fail", error.message, error.hint))
        done = {result.id for result in self.results}
        for check_id in CHECK_ORDER:
            if check_id not in done:
                self.results.append(CheckResult(check_id, "skip", "not run: an earlier check failed"))
        error.checks = list(self.results)
        error.warnings = list(self.warnings)
        return error

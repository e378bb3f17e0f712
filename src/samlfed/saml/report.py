"""Records the outcome of each named check as the pipeline runs, for the doctor, logs and error messages."""

from __future__ import annotations

from .checks import CHECK_ORDER, check
from .errors import SamlValidationError
from .model import CheckEntry, CheckResult, Message, check_results

_POSITION = {check_id: position for position, check_id in enumerate(CHECK_ORDER)}


class Report:
    """Outcomes are kept as plain tuples: a validation records about thirty, and `CheckResult` objects are
    built only for whoever reads them (the doctor, a failure), not for every accepted response."""

    def __init__(self) -> None:
        self.entries: list[CheckEntry] = []
        self.warnings: list[str] = []

    @property
    def results(self) -> list[CheckResult]:
        return list(check_results(tuple(self.entries)))

    def passed(self, check_id: str, message: Message) -> None:
        self.entries.append((check_id, "pass", message, None))

    def warned(self, check_id: str, message: str, hint: str | None = None) -> None:
        self.entries.append((check_id, "warn", message, hint))
        self.warnings.append(message)

    def skipped(self, check_id: str, message: str) -> None:
        self.entries.append((check_id, "skip", message, None))

    def fail(self, error: SamlValidationError) -> SamlValidationError:
        """Record the failure, mark every check not yet run as skipped, and hand the error back to raise.

        A structural failure can stop the pipeline before checks listed earlier have run (a missing Subject fails
        subject_confirmation before issuer), so the outcomes are put in the documented order for whoever reads them.
        """
        check(error.check_id)  # an unknown id is a programming error: fail loudly in tests
        self.entries.append((error.check_id, "fail", error.message, error.hint))
        done = {entry[0] for entry in self.entries}
        for check_id in CHECK_ORDER:
            if check_id not in done:
                self.entries.append((check_id, "skip", _not_run(error.check_id), None))
        self.entries.sort(key=lambda entry: _POSITION[entry[0]])  # stable: a check's own entries keep their order
        error.checks = self.results
        error.warnings = list(self.warnings)
        return error


def _not_run(failed_check_id: str) -> str:
    return f"not run: {failed_check_id} failed"


def stopped_at(earlier: SamlValidationError, error: SamlValidationError) -> SamlValidationError:
    """`earlier`, a failure a check of `error`'s run noted without stopping it, as that run's failure had it stopped
    there: the checks before it keep their outcomes and the ones after it were not run (so the doctor reports what
    STS, which stops at that check, answers, without validating again)."""
    position = _POSITION[earlier.check_id]
    before = [result for result in error.checks if _POSITION[result.id] < position]
    after = dict.fromkeys(result.id for result in error.checks if _POSITION[result.id] > position)
    earlier.checks = [
        *before,
        CheckResult(earlier.check_id, "fail", earlier.message, earlier.hint),
        *(CheckResult(check_id, "skip", _not_run(earlier.check_id)) for check_id in after),
    ]
    dropped = {result.message for result in error.checks if _POSITION[result.id] >= position and result.status == "warn"}
    earlier.warnings = [warning for warning in error.warnings if warning not in dropped]
    earlier.document, earlier.decrypted_at = error.document, error.decrypted_at
    return earlier

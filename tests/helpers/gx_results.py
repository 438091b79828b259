"""Great Expectations' own result objects, shaped as a checkpoint returns them, for the findings tests."""

from __future__ import annotations

from typing import Any

NOT_RAISED = {"raised_exception": False, "exception_message": None, "exception_traceback": None}


def expectation_result(
    expectation_type: str,
    meta: dict[str, Any],
    *,
    success: bool,
    result: dict[str, Any] | None = None,
    exception_info: dict[str, Any] | None = None,
) -> Any:
    """An ``ExpectationValidationResult`` of ``expectation_type`` carrying drdrill's ``meta``."""
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationValidationResult(
        success=success,
        expectation_config=ExpectationConfiguration(type=expectation_type, kwargs={}, meta=meta),
        result=result or {},
        exception_info=NOT_RAISED if exception_info is None else exception_info,
    )


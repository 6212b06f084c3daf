"""The directory's errors, each with its code; `rcp.messaging.endpoint` turns them into replies."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rcp.errors import ErrorCode, ReceptionistError


class NoSuchTenant(ReceptionistError):
    """The tenant does not exist."""

    def __init__(self, tenant_id: UUID) -> None:
        super().__init__(
            ErrorCode.NO_SUCH_TENANT, f"no tenant {tenant_id}", {"tenant_id": str(tenant_id)}
        )


class TenantSuspended(ReceptionistError):
    """The tenant exists but is suspended: its directory is not served."""

    def __init__(self, tenant_id: UUID) -> None:
        super().__init__(
            ErrorCode.TENANT_SUSPENDED,
            f"tenant {tenant_id} is suspended",
            {"tenant_id": str(tenant_id)},
        )


class EmptyInput(ReceptionistError):
    """The caller entered no digits."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.EMPTY_INPUT, message)


class InvalidDigits(ReceptionistError):
    """The caller entered keys that spell no letter (0, 1, *, #...)."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(ErrorCode.INVALID_DIGITS, message, details)


class TooFewDigits(ReceptionistError):
    """Fewer digits than a prefix search needs, and the caller did not end entry early."""

    def __init__(self, entered: int, needed: int) -> None:
        super().__init__(
            ErrorCode.TOO_FEW_DIGITS,
            f"{entered} digit(s) entered; a search needs {needed} unless entry ended with #",
            {"entered": entered, "needed": needed},
        )


class InvalidCursor(ReceptionistError):
    """A page cursor this service did not write."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.INVALID_REQUEST, "the page cursor is not valid")

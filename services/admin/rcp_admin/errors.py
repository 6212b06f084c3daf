"""Errors of the admin API and the one place where each becomes an HTTP status.

Every error answers `{"code", "message", "field"}` (plus `details` where there is more to
say), so that a client can show the message next to the field it names.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from rcp.errors import ErrorCode, ReceptionistError

# Codes of the admin API beyond the shared ones. Wire values: never renamed once published.
MALFORMED_JSON = "malformed_json"
MALFORMED_BODY = "malformed_body"
MALFORMED_ARCHIVE = "malformed_archive"
VALIDATION_FAILED = "validation_failed"
NUMBER_IN_USE = "number_in_use"
NUMBER_TAKEN = "number_taken"
UNKNOWN_TARGET = "unknown_target"
IN_USE = "in_use"
PRECONDITION_FAILED = "precondition_failed"
RATE_LIMITED = "rate_limited"
PAYLOAD_TOO_LARGE = "payload_too_large"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
TENANT_ACTIVE = "tenant_active"
METHOD_NOT_ALLOWED = "method_not_allowed"
DATABASE_UNAVAILABLE = "database_unavailable"

# While the database cannot be reached: when a client should try again (Retry-After).
DATABASE_RETRY_AFTER_S = 5
UNKNOWN_DEVICE = "unknown_device"
DIAL_STRING_NOT_ALLOWED = "dial_string_not_allowed"
ENDPOINT_NOT_ALLOWED = "endpoint_not_allowed"
ENDPOINT_TAKEN = "endpoint_taken"
DESTINATION_NOT_ALLOWED = "destination_not_allowed"
INVALID_CALENDAR = "invalid_calendar"
UNKNOWN_COUNTRY = "unknown_country"
# People and their sessions.
SIGN_IN_FAILED = "sign_in_failed"
CSRF_FAILED = "csrf_failed"
READ_ONLY = "read_only"
EMAIL_TAKEN = "email_taken"
LAST_ADMIN = "last_admin"
LINK_INVALID = "link_invalid"
WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an error code
NOTHING_TO_PUBLISH = "nothing_to_publish"

STATUS_BY_CODE: dict[str, HTTPStatus] = {
    ErrorCode.INVALID_REQUEST: HTTPStatus.UNPROCESSABLE_ENTITY,
    VALIDATION_FAILED: HTTPStatus.UNPROCESSABLE_ENTITY,
    UNKNOWN_TARGET: HTTPStatus.UNPROCESSABLE_ENTITY,
    UNKNOWN_DEVICE: HTTPStatus.UNPROCESSABLE_ENTITY,
    DIAL_STRING_NOT_ALLOWED: HTTPStatus.UNPROCESSABLE_ENTITY,
    ENDPOINT_NOT_ALLOWED: HTTPStatus.UNPROCESSABLE_ENTITY,
    DESTINATION_NOT_ALLOWED: HTTPStatus.UNPROCESSABLE_ENTITY,
    INVALID_CALENDAR: HTTPStatus.UNPROCESSABLE_ENTITY,
    UNKNOWN_COUNTRY: HTTPStatus.UNPROCESSABLE_ENTITY,
    MALFORMED_JSON: HTTPStatus.BAD_REQUEST,
    MALFORMED_BODY: HTTPStatus.BAD_REQUEST,
    MALFORMED_ARCHIVE: HTTPStatus.BAD_REQUEST,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.NO_SUCH_TENANT: HTTPStatus.NOT_FOUND,
    ErrorCode.CONFLICT: HTTPStatus.CONFLICT,
    NUMBER_IN_USE: HTTPStatus.CONFLICT,
    NUMBER_TAKEN: HTTPStatus.CONFLICT,
    ENDPOINT_TAKEN: HTTPStatus.CONFLICT,
    IN_USE: HTTPStatus.CONFLICT,
    TENANT_ACTIVE: HTTPStatus.CONFLICT,
    NOTHING_TO_PUBLISH: HTTPStatus.CONFLICT,
    ErrorCode.UNAUTHORIZED: HTTPStatus.UNAUTHORIZED,
    SIGN_IN_FAILED: HTTPStatus.UNAUTHORIZED,
    CSRF_FAILED: HTTPStatus.FORBIDDEN,
    READ_ONLY: HTTPStatus.FORBIDDEN,
    EMAIL_TAKEN: HTTPStatus.CONFLICT,
    LAST_ADMIN: HTTPStatus.CONFLICT,
    LINK_INVALID: HTTPStatus.GONE,
    WRONG_PASSWORD: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.TENANT_SUSPENDED: HTTPStatus.FORBIDDEN,
    PRECONDITION_FAILED: HTTPStatus.PRECONDITION_FAILED,
    RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
    PAYLOAD_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.NOT_AUDIO: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.UNSUPPORTED_AUDIO_FORMAT: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.CORRUPT_AUDIO: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.EMPTY_AUDIO: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.AUDIO_TOO_LONG: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.FILE_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.MEDIA_LOST: HTTPStatus.GONE,
    ErrorCode.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    DATABASE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.TIMEOUT: HTTPStatus.GATEWAY_TIMEOUT,
    ErrorCode.INTERNAL: HTTPStatus.INTERNAL_SERVER_ERROR,
}


class ApiError(ReceptionistError):
    """An error answered to an API client, naming the field to fix when there is one."""

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, details)
        self.field = field
        self.headers = headers or {}

    @property
    def status(self) -> HTTPStatus:
        """The HTTP status this error is answered with."""
        return STATUS_BY_CODE.get(self.code, HTTPStatus.BAD_REQUEST)


def not_found(what: str, field: str | None = None) -> ApiError:
    """The same answer whether the thing does not exist or belongs to another tenant."""
    return ApiError(ErrorCode.NOT_FOUND, f"{what} not found", field)

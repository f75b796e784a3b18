"""The one error type the command's parts raise: a message and its exit code."""

from __future__ import annotations

from iaxphone.errors import IaxphoneError


class CommandError(IaxphoneError):
    """A failure with its exit code and a one-line message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code

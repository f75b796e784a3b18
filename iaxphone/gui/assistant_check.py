"""The account assistant's live test: register once, say the outcome in words.

Qt-free: a short-lived :class:`~iaxphone.phone.Phone` with the typed-in
account registers, and whatever happens (registered, refused, no answer, a
name that does not resolve) becomes one :class:`CheckResult` for the page.
The phone releases the registration when it closes, so the window's own
phone registers afresh right after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from iaxphone.aio.client import RegistrationError, UnreachableError
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.wire.constants import Format

CHECK_TIMEOUT_S = 12.0  # the registration's own retries give up within about 6 s


@dataclass(frozen=True)
class CheckResult:
    registered: bool
    text: str  # one or two sentences for a person


async def check_account(
    server: tuple[str, int], user: str, secret: str, *, timeout: float = CHECK_TIMEOUT_S
) -> CheckResult:
    host, port = server
    where = f"{host}:{port}"
    phone = Phone(
        [PhoneAccount("assistant-check", server, user, secret)],
        formats=[Format.ULAW],
        register=False,
    )
    try:
        async with phone:
            registered = await asyncio.wait_for(phone.register(), timeout)
    except RegistrationError as exc:
        if exc.failure.auth_rejected:
            return CheckResult(
                False,
                f"The PBX at {where} refused the login: {exc}. Check the extension and the secret.",
            )
        return CheckResult(False, f"Not registered with {where}: {exc}.")
    except UnreachableError as exc:
        return CheckResult(False, f"Cannot find the server: {exc}. Check its name.")
    except TimeoutError:
        return CheckResult(
            False,
            f"No answer from {where} within {timeout:.0f} s. Check the server's name and port,"
            " and that the PBX is running.",
        )
    except OSError as exc:
        return CheckResult(False, f"Cannot reach {where}: {exc.strerror or exc}.")
    mail = ""
    if registered.new_messages:
        mail = f" You have {registered.new_messages} new voicemail messages."
    return CheckResult(True, f"Registered: extension {user} at {where} is ready for calls.{mail}")

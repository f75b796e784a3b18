"""Clicked ``iax:`` links: what the desktop hands ``iaxphone gui URL`` / ``iaxphone dial URL``.

A link is turned into what the window's dial field takes: an extension (the
account's own server) or an ``iax:`` URI in the form :mod:`iaxphone.target`
parses (RFC 5456, section 12: ``iax:[user@]host[:port][/number[?context]]``).

Accepted, as web pages and PBX screens write them:

========================== =========================================
``iax:600``                 extension 600 on the account's own server
``iax:600@pbx.example.com`` extension 600 at that server (like a sip: link)
``iax:pbx.example.com/600`` the same, RFC 5456's form
``iax://6001@host/600``     with a user name (the ``//`` some pages add)
``iax:host:4569/600?ctx``   a port and a dial-plan context
``iax://host/600@ctx``      the same context, as Asterisk writes dial strings
                            (``IAX2/[user@]peer[:port][/exten[@context]]``)
``600``                     a bare number (``gui --dial 600``)
========================== =========================================

Browsers may percent-encode a link (``%40`` for ``@``); it is decoded
first.  A link with a password in it (``user:secret@host``) is refused:
the secret comes from the account, never from a page.  Anything else is a
:class:`~iaxphone.target.TargetError` whose text is one line for the user.
"""

from __future__ import annotations

from urllib.parse import unquote

from iaxphone.target import TargetError, check_number, parse_target

FORMS = "iax:EXTEN, iax:EXTEN@HOST or iax://[user@]host[:port]/EXTEN"


class PasswordInLinkError(TargetError):
    """A link that carries a password: refused, never dialled with it."""

    def __init__(self, link: str) -> None:
        shown = link.split("@", 1)[-1]  # the secret is not repeated back
        super().__init__(f"iax: links with a password are not taken (...@{shown})")


def dial_string(link: str) -> str:
    """The window's dial string for ``link`` (TargetError if it is not one)."""
    text = unquote(link.strip())
    if not text:
        raise TargetError(f"empty iax: link (expected {FORMS})")
    if not text.lower().startswith("iax:"):
        try:
            return check_number(text)
        except TargetError:
            raise TargetError(f"not an iax: link: {link!r} (expected {FORMS})") from None
    rest = text[4:]
    rest = rest.removeprefix("//")
    try:
        if "/" in rest:
            rest = rest.rstrip("/")
            if "/" not in rest:
                raise TargetError("no extension")  # [user@]host[:port]/number[?context]
            address, _, tail = rest.rpartition("/")
            if "@" in address and ":" in address.partition("@")[0]:
                raise PasswordInLinkError(link)
            if "@" in tail and "?" not in tail:  # Asterisk's exten@context
                number, _, context = tail.partition("@")
                tail = f"{number}?{context}"
            uri = f"iax:{address}/{tail}"
            if parse_target(uri, None).number == "s":
                raise TargetError("no extension")
            return uri
        if "@" in rest:  # EXTEN@HOST[:PORT]
            number, _, host = rest.partition("@")
            check_number(number)
            uri = f"iax:{host}/{number}"
            parse_target(uri, None)  # the host and port must make sense
            return uri
        return check_number(rest)
    except PasswordInLinkError:
        raise
    except TargetError:
        raise TargetError(f"not an iax: link: {link!r} (expected {FORMS})") from None

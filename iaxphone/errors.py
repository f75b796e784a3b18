"""The base of every exception iaxphone raises, and who broke the rules.

Every exception class in the package derives from :class:`IaxphoneError`,
so a front end can catch "anything iaxphone refused" in one place and show
its one-line message.  Most also keep the built-in class they always had
(``ValueError``, ``KeyError`` ...), so existing ``except`` clauses still
work.

Protocol errors are split by who broke a rule, as in h11:

* :class:`LocalProtocolError`: *we* asked for something the protocol does
  not allow now (answer a call that is already up, hold a ringing call).
  A bug or a race in the caller; the message says what and why.
* :class:`RemoteProtocolError`: the *peer* sent something that breaks the
  protocol (a malformed datagram, a frame its state does not allow).  The
  endpoint drops such input and counts it; it never ends the other calls.
"""

from __future__ import annotations


class IaxphoneError(Exception):
    """Base class of every iaxphone exception; ``str()`` is one line for the user."""


class ProtocolError(IaxphoneError):
    """A rule of IAX2 was broken (see the two subclasses for by whom)."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol (or the call's state) does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol (or the session's state) does not allow."""


__all__ = ["IaxphoneError", "LocalProtocolError", "ProtocolError", "RemoteProtocolError"]

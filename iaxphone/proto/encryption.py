"""Whether a call is encrypted: a small state machine beside the call's own.

Theory of operation
-------------------
Our policy (``CallOptions.encryption``) sets the start state: "off" never
offers AES-128, "allowed" offers it in the NEW and goes on in clear if the
PBX does not take it up, "required" offers it and ends the call if the PBX
does not.  Encryption is agreed in the AUTHREQ: the PBX offers AES-128 and
a challenge, and with our secret both sides derive the key (so the AUTHREP
is the first encrypted frame).  An ACCEPT without that (no authentication
at all) means the call runs in clear::

    ALLOWED  --AUTHREQ offers AES-->         ACTIVE  (start the cipher)
    REQUIRED --AUTHREQ offers AES-->         ACTIVE  (start the cipher)
    ALLOWED  --AUTHREQ without, ACCEPT-->    CLEAR
    REQUIRED --AUTHREQ without, ACCEPT-->    CLEAR   (refuse: end the call)
    ACTIVE   --AUTHREQ offers AES-->         ACTIVE  (a new challenge: a new key)
    OFF, CLEAR, ACTIVE --anything else-->    unchanged

Incoming calls are never encrypted (OFF).  Every pair is in the table:
what the PBX offers is never a protocol error, only possibly a reason to
end the call.
"""

from __future__ import annotations

import enum

from .machine import Machine, Step

REFUSED_MESSAGE = "encryption required but the far end would not encrypt"


class CryptoState(enum.Enum):
    OFF = "off"
    ALLOWED = "offered"
    REQUIRED = "required"
    ACTIVE = "encrypted"
    CLEAR = "in clear"


class CryptoTrigger(enum.Enum):
    KEY_OFFERED = "AUTHREQ offering AES-128"
    NO_KEY = "AUTHREQ without AES-128"
    ACCEPTED = "ACCEPT"


class CryptoAction(enum.Enum):
    START_CIPHER = "derive the key, encrypt from the AUTHREP on"
    REFUSE = "end the call: encryption required"


_C, _CT, _CA = CryptoState, CryptoTrigger, CryptoAction
TABLE: dict[tuple[CryptoState, CryptoTrigger], Step[CryptoState, CryptoAction]] = {
    **{(_C.OFF, trigger): Step(_C.OFF) for trigger in CryptoTrigger},
    (_C.ALLOWED, _CT.KEY_OFFERED): Step(_C.ACTIVE, _CA.START_CIPHER),
    (_C.ALLOWED, _CT.NO_KEY): Step(_C.CLEAR),
    (_C.ALLOWED, _CT.ACCEPTED): Step(_C.CLEAR),
    (_C.REQUIRED, _CT.KEY_OFFERED): Step(_C.ACTIVE, _CA.START_CIPHER),
    (_C.REQUIRED, _CT.NO_KEY): Step(_C.CLEAR, _CA.REFUSE),
    (_C.REQUIRED, _CT.ACCEPTED): Step(_C.CLEAR, _CA.REFUSE),
    (_C.ACTIVE, _CT.KEY_OFFERED): Step(_C.ACTIVE, _CA.START_CIPHER),
    (_C.ACTIVE, _CT.NO_KEY): Step(_C.ACTIVE),
    (_C.ACTIVE, _CT.ACCEPTED): Step(_C.ACTIVE),
    **{(_C.CLEAR, trigger): Step(_C.CLEAR) for trigger in CryptoTrigger},
}

_FROM_PEER = frozenset(CryptoTrigger)
POLICY = {"off": CryptoState.OFF, "allowed": CryptoState.ALLOWED, "required": CryptoState.REQUIRED}


def encryption(name: str, policy: str) -> Machine[CryptoState, CryptoTrigger, CryptoAction]:
    """The machine for a call placed with ``policy`` ("off", "allowed", "required")."""
    return Machine(
        f"{name} encryption",
        TABLE,
        POLICY.get(policy, CryptoState.OFF),
        remote=frozenset(CryptoTrigger),
    )


__all__ = ["REFUSED_MESSAGE", "TABLE", "CryptoAction", "CryptoState", "CryptoTrigger", "encryption"]

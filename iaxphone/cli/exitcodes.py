"""Exit codes of the ``iaxphone`` command (documented in the README)."""

from __future__ import annotations

OK = 0  # the call was answered and ended normally / the command did its job
FAILURE = 1  # anything else that went wrong (the message says what)
USAGE = 2  # bad arguments or input files
AUTH_REJECTED = 3  # the PBX refused our username or password
BUSY = 4  # the far end is busy (or in do-not-disturb)
NO_ANSWER = 5  # nobody answered in time
UNREACHABLE = 6  # congestion, no route, or the PBX did not answer at all
ENCRYPTION_REFUSED = 7  # encryption was required and could not be agreed
NOT_FOUND = 8  # the number or extension does not exist

# Q.931 causes (CallEnded.cause_code) before answer -> exit code.
CAUSE_EXIT = {
    1: NOT_FOUND,  # unallocated number
    3: NOT_FOUND,  # no route to destination (Asterisk: no such extension)
    17: BUSY,
    18: NO_ANSWER,
    19: NO_ANSWER,
    21: AUTH_REJECTED,  # call rejected
    27: UNREACHABLE,
    29: AUTH_REJECTED,  # facility rejected (Asterisk: registration refused)
    34: UNREACHABLE,
    38: UNREACHABLE,
    41: UNREACHABLE,
    42: UNREACHABLE,
    50: AUTH_REJECTED,  # facility not subscribed (Asterisk: no authority found)
    58: FAILURE,  # no common codec
}

"""Exit codes of the ``iaxphone`` command (documented in the README)."""

from __future__ import annotations

from iaxphone.wire.constants import Cause

OK = 0  # the call was answered and ended normally / the command did its job
FAILURE = 1  # anything else that went wrong (the message says what)
USAGE = 2  # bad arguments or input files
AUTH_REJECTED = 3  # the PBX refused our username or password
BUSY = 4  # the far end is busy (or in do-not-disturb)
NO_ANSWER = 5  # nobody answered in time
UNREACHABLE = 6  # congestion, no route, or the PBX did not answer at all
ENCRYPTION_REFUSED = 7  # encryption was required and could not be agreed
NOT_FOUND = 8  # the number or extension does not exist
UNSUPPORTED = 9  # the PBX does not offer it (module not loaded, no such mechanism)
LOAD_FAILED_CALLS = 10  # iaxphone load: more calls failed than --max-failed allows
LOAD_LOW_MOS = 11  # iaxphone load: an answered call's MOS was below --min-mos

# Q.931 causes (CallEnded.cause_code) before answer -> exit code.
CAUSE_EXIT: dict[int, int] = {
    Cause.UNALLOCATED: NOT_FOUND,  # unallocated number
    Cause.NO_ROUTE_DESTINATION: NOT_FOUND,  # Asterisk: no such extension
    Cause.USER_BUSY: BUSY,
    Cause.NO_USER_RESPONSE: NO_ANSWER,
    Cause.NO_ANSWER: NO_ANSWER,
    Cause.CALL_REJECTED: AUTH_REJECTED,
    Cause.DESTINATION_OUT_OF_ORDER: UNREACHABLE,
    Cause.FACILITY_REJECTED: AUTH_REJECTED,  # Asterisk: registration refused
    Cause.NORMAL_CIRCUIT_CONGESTION: UNREACHABLE,
    Cause.NETWORK_OUT_OF_ORDER: UNREACHABLE,
    Cause.NORMAL_TEMPORARY_FAILURE: UNREACHABLE,
    Cause.SWITCH_CONGESTION: UNREACHABLE,
    Cause.FACILITY_NOT_SUBSCRIBED: AUTH_REJECTED,  # Asterisk: no authority found
    Cause.BEARERCAPABILITY_NOTAVAIL: FAILURE,  # no common codec
}

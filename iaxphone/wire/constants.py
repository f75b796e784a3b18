"""Numeric constants of the IAX2 protocol (RFC 5456 as spoken by Asterisk).

Values come from RFC 5456 and Asterisk's ``channels/iax2/include/iax2.h``,
``include/asterisk/frame.h``, ``include/asterisk/causes.h`` and
``include/asterisk/format_compatibility.h``.  Everything here is plain data:
enums for frame types, IAX commands, control subclasses, information element
numbers, the 64-bit media format bit field, Q.931 hangup causes and the
authentication / encryption method bit masks.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

IAX_PROTO_VERSION = 2
"""Protocol version carried in the VERSION information element of NEW."""

DEFAULT_PORT = 4569
"""UDP port IAX2 listens on by default (IAX_DEFAULT_PORTNO)."""

MAX_CALLS = 32768
"""Call numbers are 15 bits wide on the wire."""

WINDOW = 64
"""Asterisk's IAX_WINDOW: how far ahead an outgoing sequence number may run."""

DEFAULT_REG_EXPIRE = 60
"""Seconds a registration lasts when REFRESH is absent (IAX_DEFAULT_REG_EXPIRE)."""

FIRMWARE_MAGIC = 0x69617879
"""Magic number at the start of an IAX2 firmware image ("iaxy")."""

FLAG_FULL = 0x8000
"""High bit of the first 16-bit word: set on full frames."""

FLAG_RETRANS = 0x8000
"""High bit of the destination call number: set on retransmissions."""

FLAG_SC_LOG = 0x80
"""Subclass byte flag: the low six bits hold log2 of the subclass value."""

MAX_SHIFT = 0x3F
"""Mask of the exponent bits in a log-compressed subclass byte."""

SC_VIDEO_MARK = 0x40
"""In a log-compressed VIDEO subclass byte, bit 6 marks the last frame of a picture."""


class FrameType(IntEnum):
    """Full frame type byte (Asterisk's ``enum ast_frame_type``)."""

    DTMF_END = 1
    VOICE = 2
    VIDEO = 3
    CONTROL = 4
    NULL = 5
    IAX = 6
    TEXT = 7
    IMAGE = 8
    HTML = 9
    CNG = 10
    MODEM = 11
    DTMF_BEGIN = 12
    DTMF = 1  # alias of DTMF_END, as AST_FRAME_DTMF


class IaxCommand(IntEnum):
    """Subclass of IAX frames (``enum iax_frame_subclass`` in iax2.h)."""

    NEW = 1
    PING = 2
    PONG = 3
    ACK = 4
    HANGUP = 5
    REJECT = 6
    ACCEPT = 7
    AUTHREQ = 8
    AUTHREP = 9
    INVAL = 10
    LAGRQ = 11
    LAGRP = 12
    REGREQ = 13
    REGAUTH = 14
    REGACK = 15
    REGREJ = 16
    REGREL = 17
    VNAK = 18
    DPREQ = 19
    DPREP = 20
    DIAL = 21
    TXREQ = 22
    TXCNT = 23
    TXACC = 24
    TXREADY = 25
    TXREL = 26
    TXREJ = 27
    QUELCH = 28
    UNQUELCH = 29
    POKE = 30
    PAGE = 31
    MWI = 32
    UNSUPPORT = 33
    TRANSFER = 34
    PROVISION = 35
    FWDOWNL = 36
    FWDATA = 37
    TXMEDIA = 38
    RTKEY = 39
    CALLTOKEN = 40


class ControlType(IntEnum):
    """Subclass of CONTROL frames (Asterisk's ``AST_CONTROL_*``).

    chan_iax2 only passes some of these across a link (see
    ``iax2_is_control_frame_allowed``); the rest are listed so that a frame
    from a peer still gets a name.  A subclass of -1 (byte 0xFF) means "stop
    playing indications".
    """

    HANGUP = 1
    RING = 2
    RINGING = 3
    ANSWER = 4
    BUSY = 5
    TAKEOFFHOOK = 6
    OFFHOOK = 7
    CONGESTION = 8
    FLASH = 9
    WINK = 10
    OPTION = 11
    RADIO_KEY = 12
    RADIO_UNKEY = 13
    PROGRESS = 14
    PROCEEDING = 15
    HOLD = 16
    UNHOLD = 17
    VIDUPDATE = 18
    T38 = 19  # deprecated in Asterisk
    SRCUPDATE = 20
    TRANSFER = 21
    CONNECTED_LINE = 22
    REDIRECTING = 23
    T38_PARAMETERS = 24
    CC = 25
    SRCCHANGE = 26
    READ_ACTION = 27
    AOC = 28
    END_OF_Q = 29
    INCOMPLETE = 30
    MCID = 31
    UPDATE_RTP_PEER = 32
    PVT_CAUSE_CODE = 33
    MASQUERADE_NOTIFY = 34
    STREAM_TOPOLOGY_REQUEST_CHANGE = 35
    STREAM_TOPOLOGY_CHANGED = 36
    STREAM_TOPOLOGY_SOURCE_CHANGED = 37


CONTROL_STOP_INDICATIONS = -1
"""Control subclass -1 (wire byte 0xFF): stop any ringing/busy tone being played."""


class IE(IntEnum):
    """Information element numbers (``IAX_IE_*`` in iax2.h)."""

    CALLED_NUMBER = 1
    CALLING_NUMBER = 2
    CALLING_ANI = 3
    CALLING_NAME = 4
    CALLED_CONTEXT = 5
    USERNAME = 6
    PASSWORD = 7
    CAPABILITY = 8
    FORMAT = 9
    LANGUAGE = 10
    VERSION = 11
    ADSICPE = 12
    DNID = 13
    AUTHMETHODS = 14
    CHALLENGE = 15
    MD5_RESULT = 16
    RSA_RESULT = 17
    APPARENT_ADDR = 18
    REFRESH = 19
    DPSTATUS = 20
    CALLNO = 21
    CAUSE = 22
    IAX_UNKNOWN = 23
    MSGCOUNT = 24
    AUTOANSWER = 25
    MUSICONHOLD = 26
    TRANSFERID = 27
    RDNIS = 28
    PROVISIONING = 29
    AESPROVISIONING = 30
    DATETIME = 31
    DEVICETYPE = 32
    SERVICEIDENT = 33
    FIRMWAREVER = 34
    FWBLOCKDESC = 35
    FWBLOCKDATA = 36
    PROVVER = 37
    CALLINGPRES = 38
    CALLINGTON = 39
    CALLINGTNS = 40
    SAMPLINGRATE = 41
    CAUSECODE = 42
    ENCRYPTION = 43
    ENCKEY = 44
    CODEC_PREFS = 45
    RR_JITTER = 46
    RR_LOSS = 47
    RR_PKTS = 48
    RR_DELAY = 49
    RR_DROPPED = 50
    RR_OOO = 51
    VARIABLE = 52
    OSPTOKEN = 53
    CALLTOKEN = 54
    CAPABILITY2 = 55
    FORMAT2 = 56
    CALLINGANI2 = 57


class Format(IntFlag):
    """Asterisk's legacy 64-bit media format bit field, as carried by IAX2.

    Note that bit 4 is G.726 with AAL2 codeword packing (RFC 5456 calls it
    just "G.726"); RFC 3551-packed G.726 is bit 11.  Formats above bit 31
    (G.719, Speex16, Opus) only fit in the FORMAT2/CAPABILITY2 IEs.
    """

    G723_1 = 1 << 0
    GSM = 1 << 1
    ULAW = 1 << 2
    ALAW = 1 << 3
    G726_AAL2 = 1 << 4
    ADPCM = 1 << 5
    SLINEAR = 1 << 6
    LPC10 = 1 << 7
    G729 = 1 << 8
    SPEEX = 1 << 9
    ILBC = 1 << 10
    G726 = 1 << 11
    G722 = 1 << 12
    SIREN7 = 1 << 13
    SIREN14 = 1 << 14
    SLINEAR16 = 1 << 15
    JPEG = 1 << 16
    PNG = 1 << 17
    H261 = 1 << 18
    H263 = 1 << 19
    H263P = 1 << 20
    H264 = 1 << 21
    MP4 = 1 << 22
    VP8 = 1 << 23
    T140_RED = 1 << 26
    T140 = 1 << 27
    G719 = 1 << 32
    SPEEX16 = 1 << 33
    OPUS = 1 << 34


AUDIO_FORMATS = (
    Format.G723_1
    | Format.GSM
    | Format.ULAW
    | Format.ALAW
    | Format.G726_AAL2
    | Format.ADPCM
    | Format.SLINEAR
    | Format.LPC10
    | Format.G729
    | Format.SPEEX
    | Format.ILBC
    | Format.G726
    | Format.G722
    | Format.SIREN7
    | Format.SIREN14
    | Format.SLINEAR16
    | Format.G719
    | Format.SPEEX16
    | Format.OPUS
)
VIDEO_FORMATS = Format.H261 | Format.H263 | Format.H263P | Format.H264 | Format.MP4 | Format.VP8

FORMAT_NAMES: dict[int, str] = {
    Format.G723_1: "g723",
    Format.GSM: "gsm",
    Format.ULAW: "ulaw",
    Format.ALAW: "alaw",
    Format.G726_AAL2: "g726aal2",
    Format.ADPCM: "adpcm",
    Format.SLINEAR: "slin",
    Format.LPC10: "lpc10",
    Format.G729: "g729",
    Format.SPEEX: "speex",
    Format.ILBC: "ilbc",
    Format.G726: "g726",
    Format.G722: "g722",
    Format.SIREN7: "siren7",
    Format.SIREN14: "siren14",
    Format.SLINEAR16: "slin16",
    Format.JPEG: "jpeg",
    Format.PNG: "png",
    Format.H261: "h261",
    Format.H263: "h263",
    Format.H263P: "h263p",
    Format.H264: "h264",
    Format.MP4: "mpeg4",
    Format.VP8: "vp8",
    Format.T140_RED: "red",
    Format.T140: "t140",
    Format.G719: "g719",
    Format.SPEEX16: "speex16",
    Format.OPUS: "opus",
}
"""Asterisk's codec names for each format bit (as ``core show codecs`` prints them)."""


def format_names(bits: int) -> str:
    """Name every format bit set in ``bits``, e.g. ``"ulaw|alaw"``; unknown bits as hex."""
    if bits == 0:
        return "(none)"
    if bits < 0:
        return str(bits)
    names = []
    for bit in range(64):
        mask = 1 << bit
        if bits & mask:
            names.append(FORMAT_NAMES.get(mask, f"0x{mask:x}"))
    return "|".join(names)


CODEC_PREF_ORDER: tuple[int, ...] = (
    Format.G723_1,
    Format.GSM,
    Format.ULAW,
    Format.ALAW,
    Format.G726,
    Format.ADPCM,
    Format.SLINEAR,
    Format.LPC10,
    Format.G729,
    Format.SPEEX,
    Format.SPEEX16,
    Format.ILBC,
    Format.G726_AAL2,
    Format.G722,
    Format.SLINEAR16,
    Format.JPEG,
    Format.PNG,
    Format.H261,
    Format.H263,
    Format.H263P,
    Format.H264,
    Format.MP4,
    Format.T140_RED,
    Format.T140,
    Format.SIREN7,
    Format.SIREN14,
    0,  # reserved (was testlaw)
    Format.G719,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    Format.OPUS,
    Format.VP8,
)
"""Formats in CODEC_PREFS order: character ``chr(ord("A") + i + 1)`` means entry ``i``.

This is chan_iax2's own table (``iax2_supported_formats``); it is not in bit
order (Speex16 sits after Speex) and has unused slots (0).
"""


class Cause(IntEnum):
    """Q.931 hangup cause codes carried in the CAUSECODE IE (``AST_CAUSE_*``)."""

    NOTDEFINED = 0
    UNALLOCATED = 1
    NO_ROUTE_TRANSIT_NET = 2
    NO_ROUTE_DESTINATION = 3
    MISDIALLED_TRUNK_PREFIX = 5
    CHANNEL_UNACCEPTABLE = 6
    CALL_AWARDED_DELIVERED = 7
    PRE_EMPTED = 8
    NUMBER_PORTED_NOT_HERE = 14
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    REDIRECTED_TO_NEW_DESTINATION = 23
    ANSWERED_ELSEWHERE = 26
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    FACILITY_REJECTED = 29
    RESPONSE_TO_STATUS_ENQUIRY = 30
    NORMAL_UNSPECIFIED = 31
    NORMAL_CIRCUIT_CONGESTION = 34
    NETWORK_OUT_OF_ORDER = 38
    NORMAL_TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    ACCESS_INFO_DISCARDED = 43
    REQUESTED_CHAN_UNAVAIL = 44
    FACILITY_NOT_SUBSCRIBED = 50
    OUTGOING_CALL_BARRED = 52
    INCOMING_CALL_BARRED = 54
    BEARERCAPABILITY_NOTAUTH = 57
    BEARERCAPABILITY_NOTAVAIL = 58
    BEARERCAPABILITY_NOTIMPL = 65
    CHAN_NOT_IMPLEMENTED = 66
    FACILITY_NOT_IMPLEMENTED = 69
    INVALID_CALL_REFERENCE = 81
    INCOMPATIBLE_DESTINATION = 88
    INVALID_MSG_UNSPECIFIED = 95
    MANDATORY_IE_MISSING = 96
    MESSAGE_TYPE_NONEXIST = 97
    WRONG_MESSAGE = 98
    IE_NONEXIST = 99
    INVALID_IE_CONTENTS = 100
    WRONG_CALL_STATE = 101
    RECOVERY_ON_TIMER_EXPIRE = 102
    MANDATORY_IE_LENGTH_ERROR = 103
    PROTOCOL_ERROR = 111
    INTERWORKING = 127
    # Asterisk's short aliases.
    BUSY = 17
    NORMAL = 16
    NOANSWER = 19
    CONGESTION = 34
    FAILURE = 38
    UNREGISTERED = 20


_CAUSES = {int(cause): cause for cause in Cause}


def cause_of(code: int | None) -> int | None:
    """A CAUSECODE as it came off the wire: a :class:`Cause` when it is one, else the number.

    ``Cause`` members are ints (they compare, format, store and serialise as
    their number), so a code no member names still passes through.
    """
    if code is None:
        return None
    return _CAUSES.get(code, code)


class AuthMethod(IntFlag):
    """AUTHMETHODS IE bits (``IAX_AUTH_*``)."""

    PLAINTEXT = 1 << 0
    MD5 = 1 << 1
    RSA = 1 << 2


class Encryption(IntFlag):
    """ENCRYPTION IE bits (``IAX_ENCRYPT_*``)."""

    AES128 = 1 << 0
    KEYROTATE = 1 << 15


class SamplingRate(IntFlag):
    """SAMPLINGRATE IE bits (``IAX_RATE_*``); 8 kHz is assumed when the IE is absent."""

    RATE_8KHZ = 1 << 0
    RATE_11KHZ = 1 << 1
    RATE_16KHZ = 1 << 2
    RATE_22KHZ = 1 << 3
    RATE_44KHZ = 1 << 4
    RATE_48KHZ = 1 << 5


class DialplanStatus(IntFlag):
    """DPSTATUS IE bits (``IAX_DPSTATUS_*``)."""

    EXISTS = 1 << 0
    CANEXIST = 1 << 1
    NONEXISTENT = 1 << 2
    IGNOREPAT = 1 << 14
    MATCHMORE = 1 << 15


class MetaCommand(IntEnum):
    """Meta frame command byte (``IAX_META_*``); only TRUNK is in use."""

    TRUNK = 1
    VIDEO = 2  # obsolete; meta video frames are recognised by the call number's high bit


class TrunkMode(IntEnum):
    """Command data byte of a trunk meta frame (``IAX_META_TRUNK_*``)."""

    SUPERMINI = 0
    """Entries are (call number, length, data): no per-call timestamps."""
    MINI = 1
    """Entries are (length, call number, 16-bit timestamp, data): "trunktimestamps"."""

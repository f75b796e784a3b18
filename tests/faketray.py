"""A minimal system tray manager for an X display (the freedesktop system tray protocol).

Run as ``python -m tests.faketray`` with DISPLAY set: it takes the
``_NET_SYSTEM_TRAY_S0`` selection, announces itself with the MANAGER client
message (so Qt's ``QSystemTrayIcon.isSystemTrayAvailable()`` is true), prints
``ready``, then prints ``dock WINDOW`` for every icon that asks to dock
(``SYSTEM_TRAY_REQUEST_DOCK``).  It embeds nothing: the icons' requests are
what a test checks.  Only libX11 (there wherever Xvfb is) through ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

CLIENT_MESSAGE = 33
STRUCTURE_NOTIFY_MASK = 1 << 17
REQUEST_DOCK = 0


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class Event(ctypes.Union):
    _fields_ = [
        ("type", ctypes.c_int),
        ("xclient", ClientMessage),
        ("pad", ctypes.c_long * 24),
    ]


def main() -> None:
    x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XDefaultRootWindow.restype = ctypes.c_ulong
    x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x.XCreateSimpleWindow.restype = ctypes.c_ulong
    x.XCreateSimpleWindow.argtypes = (
        [ctypes.c_void_p, ctypes.c_ulong]
        + [ctypes.c_int] * 2
        + [ctypes.c_uint] * 3
        + [ctypes.c_ulong] * 2
    )
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XSetSelectionOwner.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    x.XSendEvent.argtypes = [
        ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)
    ]  # fmt: skip
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(Event)]

    display = x.XOpenDisplay(None)
    if not display:
        sys.exit("faketray: cannot open the display")
    root = x.XDefaultRootWindow(display)
    window = x.XCreateSimpleWindow(display, root, 0, 0, 1, 1, 0, 0, 0)
    selection = x.XInternAtom(display, b"_NET_SYSTEM_TRAY_S0", 0)
    opcode = x.XInternAtom(display, b"_NET_SYSTEM_TRAY_OPCODE", 0)
    x.XSetSelectionOwner(display, selection, window, 0)
    announce = Event()
    announce.xclient.type = CLIENT_MESSAGE
    announce.xclient.window = root
    announce.xclient.message_type = x.XInternAtom(display, b"MANAGER", 0)
    announce.xclient.format = 32
    announce.xclient.data[:] = [0, selection, window, 0, 0]
    x.XSendEvent(display, root, 0, STRUCTURE_NOTIFY_MASK, ctypes.byref(announce))
    x.XFlush(display)
    print("ready", flush=True)
    event = Event()
    while True:
        x.XNextEvent(display, ctypes.byref(event))
        message = event.xclient
        if (
            event.type == CLIENT_MESSAGE
            and message.message_type == opcode
            and message.data[1] == REQUEST_DOCK
        ):
            print(f"dock {message.data[2]}", flush=True)


if __name__ == "__main__":
    main()

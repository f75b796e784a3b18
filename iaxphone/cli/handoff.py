"""One window per user: a second ``iaxphone gui`` or ``dial`` hands its work to the first.

Theory of operation
-------------------
The running window listens on a Unix socket in the user's state folder
(``$XDG_STATE_HOME/iaxphone/window.sock``, mode 0600, so only its owner can
talk to it).  A new ``iaxphone gui``/``dial`` first tries that socket: when
a window answers it sends one line and reads one line back, then exits:

    dial NUMBER-OR-URI   ->  ok | error TEXT      (the window dials it)
    show                 ->  ok                   (the window comes to the front)

No answer (no socket, or a stale one left by a crash) means no window is
running: the new process opens its own and, before listening, removes the
stale socket.  This is how desk softphones pass a clicked link to the
instance already running instead of starting a second phone on the same
account.  Nothing here imports Qt; the window gives :class:`HandoffServer`
a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

import platformdirs

from iaxphone.config import APP

log = logging.getLogger("iaxphone.handoff")

MAX_LINE = 2048
TIMEOUT_S = 5.0

Handler = Callable[[str, str], str]  # (command, argument) -> reply line


def socket_path() -> Path:
    return Path(platformdirs.user_state_dir(APP)) / "window.sock"


def send(command: str, argument: str = "", path: Path | None = None) -> str | None:
    """Hand ``command`` to the running window: its reply, or None when none is running."""
    where = path or socket_path()
    line = f"{command} {argument}".strip() + "\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT_S)
            sock.connect(str(where))
            sock.sendall(line.encode("utf-8"))
            reply = sock.makefile("rb").readline(MAX_LINE)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        return None  # nobody listens: no window, or a stale socket after a crash
    except OSError as exc:
        log.warning("the running window did not answer on %s: %s", where, exc)
        return None
    return reply.decode("utf-8", "replace").strip() or None


class HandoffServer:
    """The window's end: each connection brings one command line, answered by ``handler``."""

    def __init__(self, handler: Handler, path: Path | None = None) -> None:
        self.handler = handler
        self.path = path or socket_path()
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> bool:
        """Listen; False (and a log line) if the socket cannot be made here."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # stale: send() found nobody listening on it
            self.server = await asyncio.start_unix_server(self._serve, path=str(self.path))
            os.chmod(self.path, 0o600)
        except OSError as exc:
            log.warning("links will open new windows: cannot listen on %s: %s", self.path, exc)
            return False
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await asyncio.wait_for(reader.readline(), TIMEOUT_S)
            command, _, argument = raw[:MAX_LINE].decode("utf-8", "replace").strip().partition(" ")
            try:
                reply = self.handler(command, argument.strip())
            except Exception as exc:  # the window's trouble is the caller's one line
                reply = f"error {exc}"
            writer.write(reply.encode("utf-8") + b"\n")
            await writer.drain()
        except (TimeoutError, OSError) as exc:
            log.info("handoff connection dropped: %s", exc)
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

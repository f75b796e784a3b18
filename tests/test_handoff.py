"""One window per user: a second gui/dial hands its link to the window already running."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from pathlib import Path

from iaxphone.cli import handoff
from iaxphone.cli.gui import LinkInbox


async def test_a_running_window_takes_the_dial_and_answers(own_folders: Path) -> None:
    heard: list[tuple[str, str]] = []

    def handler(command: str, argument: str) -> str:
        heard.append((command, argument))
        return "ok"

    server = handoff.HandoffServer(handler)
    assert await server.start()
    path = handoff.socket_path()
    assert path.is_relative_to(own_folders)  # the test's own state folder, never the user's
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    try:
        reply = await asyncio.to_thread(handoff.send, "dial", "iax:127.0.0.1/600")
        assert reply == "ok"
        assert heard == [("dial", "iax:127.0.0.1/600")]
    finally:
        server.close()
    assert not path.exists()
    assert await asyncio.to_thread(handoff.send, "show") is None  # nobody listens now


def test_no_window_and_a_stale_socket_both_mean_nobody(tmp_path: Path) -> None:
    assert handoff.send("show", path=tmp_path / "absent.sock") is None
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as left_behind:
        left_behind.bind(str(stale))  # bound, never listening: what a crash leaves
    assert stale.exists()
    assert handoff.send("show", path=stale) is None


async def test_a_new_window_replaces_a_stale_socket(tmp_path: Path) -> None:
    stale = tmp_path / "window.sock"
    stale.write_bytes(b"")
    server = handoff.HandoffServer(lambda command, argument: "ok", path=stale)
    assert await server.start()
    try:
        assert await asyncio.to_thread(handoff.send, "show", "", stale) == "ok"
    finally:
        server.close()


async def test_a_handler_error_is_the_callers_one_line(tmp_path: Path) -> None:
    def broken(command: str, argument: str) -> str:
        raise RuntimeError("the window is closing")

    where = tmp_path / "w.sock"
    server = handoff.HandoffServer(broken, path=where)
    assert await server.start()
    try:
        reply = await asyncio.to_thread(handoff.send, "dial", "600", where)
    finally:
        server.close()
    assert reply == "error the window is closing"


def test_links_wait_for_the_window_then_go_straight_to_it() -> None:
    inbox = LinkInbox("600")
    assert inbox.take("dial", "iax:601@127.0.0.1") == "ok"
    assert inbox.take("dial", "iax:not a link").startswith("error not an iax: link")
    assert inbox.take("hello", "") == "error unknown request 'hello'"
    dialled: list[str] = []
    shown: list[bool] = []
    inbox.deliver(dialled.append, lambda: shown.append(True))
    assert dialled == ["600", "iax:127.0.0.1/601"]  # the ones that came before the window
    assert inbox.take("dial", "iax:602") == "ok"
    assert inbox.take("show", "") == "ok"
    assert dialled[-1] == "602"
    assert len(shown) == 2  # a dial brings the window to the front too


def test_the_socket_folder_is_private(own_folders: Path) -> None:
    async def start_and_stop() -> None:
        server = handoff.HandoffServer(lambda command, argument: "ok")
        assert await server.start()
        server.close()

    asyncio.run(start_and_stop())
    assert stat.S_IMODE(os.stat(handoff.socket_path().parent).st_mode) == 0o700

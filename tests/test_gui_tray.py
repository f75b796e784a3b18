"""The tray icon and the desktop notifications.

* The tray's model: which line events are an incoming call, a missed one.
* The tray on a real X server (Xvfb) with a system tray manager
  (:mod:`tests.faketray`): Qt finds the tray, the icon asks to dock, its
  tooltip, badge and menu say what they should.
* Notifications over a real D-Bus session bus (a private ``dbus-daemon``)
  to a notification service (:mod:`tests.notifyserver`): ``iaxphone gui``
  registered on the bundled PBX is called and the caller gives up, and the
  service receives "Incoming call" and then "Missed call"; the incoming
  notice's Answer and Decline buttons, clicked through the service,
  answer and decline the real call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from iaxphone.linestate import LineState
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.phone import LineChanged, LineInfo, Phone, PhoneAccount, RegistrationChanged
from iaxphone.viewmodels.tray import Notice, TrayModel
from iaxphone.wire.constants import Format
from tests.ami import AmiWatcher
from tests.guiloop import desk_phone, gui_env, registered, until
from tests.pbx import Pbx
from tests.require import unavailable
from tests.test_gui_x11 import x_display  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent


def idle_phone() -> Phone:
    return Phone(  # never started: only its events matter here
        [PhoneAccount("desk", ("127.0.0.1", 9), "6001", "secret")],
        source=ToneSource(440, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
    )


def line(line_id: int, state: LineState, answered: float | None = None) -> LineChanged:
    info = LineInfo(line_id, "desk", "in", "6003", "Carol", state, answered=answered)
    return LineChanged(info)


def test_the_tray_model_counts_missed_calls_and_says_what_to_notify() -> None:
    model = TrayModel(idle_phone())
    notices: list[Notice] = []
    model.on_notice = notices.append
    model.on_event(RegistrationChanged("desk", True, change="registered"))
    assert model.view().registered and model.view().status == "desk: registered"
    model.on_event(line(1, LineState.INCOMING))
    model.on_event(line(1, LineState.INCOMING))  # a detail changed: no second notice
    model.on_event(line(1, LineState.ENDED))  # the caller gave up
    model.on_event(line(2, LineState.INCOMING))
    model.on_event(line(2, LineState.TALKING, answered=5.0))
    model.on_event(line(2, LineState.ENDED, answered=5.0))  # answered: not missed
    assert [(n.kind, n.summary, n.body) for n in notices] == [
        ("incoming", "Incoming call", "Carol <6003>"),
        ("missed", "Missed call", "Carol <6003>"),
        ("incoming", "Incoming call", "Carol <6003>"),
    ]
    view = model.view()
    assert view.missed == 1
    assert view.tooltip == "iaxphone - desk: registered - 1 missed call"
    model.seen()
    assert model.view().missed == 0
    model.on_event(RegistrationChanged("desk", False, reason="timeout", change="lost"))
    assert not model.view().registered
    assert "registration lost" in model.view().tooltip


TRAY_SCRIPT = """
import json, sys
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QApplication, QSystemTrayIcon
from iaxphone.gui.tray import PhoneTray, tray_pixmap
from iaxphone.phone import RegistrationChanged
from tests.test_gui_tray import idle_phone, line
from iaxphone.linestate import LineState
app = QApplication(sys.argv)
tray = PhoneTray(idle_phone())
asked = []
tray.dnd_requested.connect(asked.append)
tray.model.on_event(RegistrationChanged("desk", True, change="registered"))
tray.model.on_event(line(1, LineState.INCOMING))
tray.model.on_event(line(1, LineState.ENDED))
tray.model.on_event(line(2, LineState.INCOMING))
tray.model.on_event(line(2, LineState.ENDED))
app.processEvents()
image = tray_pixmap(tray.view).toImage()
badge = QColor(image.pixel(int(image.width() * 0.74), int(image.height() * 0.1)))
phone = QColor(image.pixel(int(image.width() * 0.2), int(image.height() * 0.8)))
tray.dnd_action.trigger()
print(json.dumps({
    "available": QSystemTrayIcon.isSystemTrayAvailable(),
    "visible": tray.icon.isVisible(),
    "tooltip": tray.icon.toolTip(),
    "menu": [a.text() for a in tray.menu.actions() if not a.isSeparator()],
    "badge": [badge.red(), badge.green(), badge.blue()],
    "dnd_asked": asked,
    "routes": [s.route for s in tray.notifier.sent],
}))
"""


def test_the_tray_docks_on_x11_with_registration_and_missed_calls(x_display: str) -> None:  # noqa: F811
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no notification service: the tray's balloons
    manager = subprocess.Popen(
        [sys.executable, "-m", "tests.faketray"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert manager.stdout is not None and manager.stdout.readline().strip() == "ready"
        result = subprocess.run(
            [sys.executable, "-c", TRAY_SCRIPT],
            capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout.strip().splitlines()[-1])
        docked = manager.stdout.readline().split()
    finally:
        manager.terminate()
        manager.wait(timeout=5)
    assert docked[0] == "dock" and int(docked[1]) > 0  # the icon asked the tray to take it
    assert shown["available"] and shown["visible"]
    assert shown["tooltip"] == "iaxphone - desk: registered - 2 missed calls"
    assert shown["menu"] == ["&Show iaxphone", "&Do not disturb", "&Quit"]
    red, green, blue = shown["badge"]
    assert red > 180 and green < 100 and blue < 100  # the red missed-call badge
    assert shown["dnd_asked"] == [True]
    # Without a notification service the notices went to the tray's own messages.
    assert shown["routes"] == ["tray", "tray", "tray", "tray"]


@pytest.fixture
def notification_service(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A private session bus with a notification service on it: (bus address, the service)."""
    daemon_path = shutil.which("dbus-daemon")
    if daemon_path is None:
        unavailable("dbus-daemon is not installed (Debian package dbus-daemon)")
    address = f"unix:path={tmp_path / 'bus'}"
    daemon = subprocess.Popen(
        [daemon_path, "--session", "--nofork", f"--address={address}", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert daemon.stdout is not None
    daemon.stdout.readline()  # printed once it listens
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, PYTHONPATH=str(ROOT))
    env["QT_QPA_PLATFORM"] = "offscreen"
    service = subprocess.Popen(
        [sys.executable, "-m", "tests.notifyserver"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "ready"
        yield address, service
    finally:
        for process in (service, daemon):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


async def read_notice(service: subprocess.Popen[str]) -> dict[str, object]:
    assert service.stdout is not None
    text = await asyncio.wait_for(asyncio.to_thread(service.stdout.readline), 20)
    result: dict[str, object] = json.loads(text)
    return result


@contextlib.asynccontextmanager
async def registered_window(pbx: Pbx, tmp_path: Path, bus: str) -> AsyncIterator[str]:
    """``iaxphone gui`` as 6009 on the session bus ``bus``, once registered; yields the user."""
    user, secret = pbx.extension(6009)
    env = gui_env(tmp_path, QT_QPA_PLATFORM="offscreen", DBUS_SESSION_BUS_ADDRESS=bus)
    async with AmiWatcher(pbx) as ami:
        mark = len(ami.events)
        gui = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "iaxphone.cli", "gui",
            "--server", f"{pbx.host}:{pbx.iax_port}", "--user", user, "--secret", secret,
            env=env, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await ami.wait_for(lambda e: ami.events.index(e) >= mark and registered(user)(e), 20)
            yield user
        finally:
            if gui.returncode is None:
                gui.terminate()
                await asyncio.wait_for(gui.communicate(), 15)


async def test_incoming_and_missed_calls_reach_the_desktop_notification_service(
    pbx: Pbx, tmp_path: Path, notification_service: tuple[str, subprocess.Popen[str]]
) -> None:
    address, service = notification_service
    async with registered_window(pbx, tmp_path, address) as user, desk_phone(pbx, 6003) as carol:
        line_id = await carol.dial(user)
        incoming = await read_notice(service)
        assert (incoming["app"], incoming["summary"]) == ("iaxphone", "Incoming call")
        assert "6003" in str(incoming["body"])
        assert incoming["icon"] == "call-start"
        await carol.hangup(line_id)  # Carol gives up before anyone answers
        # The incoming notice, Answer and Decline and all, is withdrawn first.
        assert (await read_notice(service)) == {"closed": incoming["id"]}
        missed = await read_notice(service)
        assert (missed["summary"], missed["icon"]) == ("Missed call", "call-stop")
        assert "6003" in str(missed["body"])


@pytest.mark.parametrize("button", ["answer", "decline"])
async def test_the_incoming_notice_answers_or_declines_the_call(
    pbx: Pbx, tmp_path: Path, notification_service: tuple[str, subprocess.Popen[str]], button: str
) -> None:
    address, service = notification_service
    assert service.stdin is not None
    async with registered_window(pbx, tmp_path, address) as user, desk_phone(pbx, 6003) as carol:
        line_id = await carol.dial(user)
        incoming = await read_notice(service)
        assert incoming["summary"] == "Incoming call"
        assert incoming["actions"] == ["answer", "Answer", "decline", "Decline"]
        assert carol.lines[line_id].info.state is not LineState.TALKING
        service.stdin.write(f"invoke {incoming['id']} {button}\n")
        service.stdin.flush()
        assert (await read_notice(service))["invoked"] == incoming["id"]
        if button == "answer":
            await until(carol, lambda: carol.lines[line_id].info.state is LineState.TALKING)
            await carol.hangup(line_id)
        else:
            await until(
                carol,
                lambda: (
                    line_id not in carol.lines or carol.lines[line_id].info.state is LineState.ENDED
                ),
            )
            assert line_id not in carol.lines or carol.lines[line_id].info.answered is None

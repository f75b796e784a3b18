"""The README's window screenshots, made on a real X display against the bundled PBX.

``python -m tests.handset_screens OUTDIR`` (DISPLAY set to an X server with
a system tray, the PBX instance's environment as for the tests) runs the
real main window (handset, contacts from AMI, history) on desk phone 6005
and saves, as OUTDIR/NAME.png:

* ``window-idle``: registered, a missed call from 6006 in the history and
  on the tray's badge;
* ``window-in-call``: talking to the echo test, speech played into it, the
  graphs filled for a few seconds;
* ``window-ringing``: 6006 calling;
* ``window-compact``: the compact view during a call;
* ``window-in-call-dark``: the in-call window in the dark scheme.

It prints one line per screenshot (``saved NAME WIDTHxHEIGHT``), then
``done``.  tests/test_gui_screens.py runs it; docs/screenshots/ holds copies.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import numpy as np
import qasync
from PyQt6.QtWidgets import QApplication, QWidget

from iaxphone.gui.app import MainWindow
from iaxphone.gui.console.style import apply_scheme
from iaxphone.history import History
from iaxphone.media.virtual import ArraySource, MemorySink
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.wire.constants import Format
from tests.ami import console_client
from tests.guiloop import desk_phone, until
from tests.pbx import Pbx
from tests.speech import speech


def save(window: QWidget, out: Path, name: str) -> None:
    shot = window.grab()
    assert shot.save(str(out / f"{name}.png"))
    print(f"saved {name} {shot.width()}x{shot.height()}", flush=True)


async def run_for(seconds: float) -> None:
    await asyncio.sleep(seconds)  # not a wait for something: the graphs fill in real time


def talking_phone(pbx: Pbx, extension: int, history: History) -> Phone:
    user, secret = pbx.extension(extension)
    voice = np.tile(speech(8000), 6)  # half a minute of speech into the echo test
    return Phone(
        [PhoneAccount("desk", (pbx.host, pbx.iax_port), user, secret, "Alice Archer")],
        source=ArraySource(voice, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
        history=history,
    )


async def scenario(app: QApplication, out: Path, data: Path) -> None:
    pbx = Pbx()
    history = History(data / "history.sqlite3")
    async with (
        console_client(pbx) as client,
        talking_phone(pbx, 6005, history) as alice,
        desk_phone(pbx, 6006) as bob,
    ):
        window = MainWindow(alice, pbx=client, history=history, config_path=data / "c.toml")
        window.resize(1180, 720)
        window.show()
        handset = window.handset
        await until(alice, lambda: handset.registration.text() == "desk: registered")
        await run_for(0.3)  # the layout settles
        save(window, out, "window-idle")
        # A missed call: Bob rings and gives up (the History dock shows it).
        missed = await bob.dial("6005")
        await until(alice, lambda: handset.call_state.text() == "incoming")
        await bob.hangup(missed)
        await until(alice, lambda: window.tray.view.missed == 1)
        assert window.history_view is not None
        await until(alice, lambda: "1 missed" in window.history_view.summary.text())
        window.history_view.parentWidget().raise_()  # the History tab in front
        for key in "600":
            handset.press_key(key)

        handset.call_or_answer()
        await until(alice, lambda: handset.call_state.text() == "talking")
        await run_for(6)
        save(window, out, "window-in-call")
        handset.compact_button.click()
        await run_for(0.5)
        save(window, out, "window-compact")
        handset.compact_button.click()

        apply_scheme(app, "dark")
        await run_for(2)
        save(window, out, "window-in-call-dark")
        apply_scheme(app, "light")
        handset.hang_up()
        await until(alice, lambda: handset.call_state.text() == "ended")
        handset.number.clear()

        ringing = await bob.dial("6005")
        await until(alice, lambda: handset.call_state.text() == "incoming")
        await run_for(0.5)  # the window raised and the ringtone going
        save(window, out, "window-ringing")
        await bob.hangup(ringing)
        await until(alice, lambda: handset.call_state.text() == "ended")
        window.close()
    print("done", flush=True)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # the scenario closes the window itself
    loop = qasync.QEventLoop(app)
    with tempfile.TemporaryDirectory() as data:
        try:
            loop.run_until_complete(scenario(app, out, Path(data)))
        finally:
            loop.close()


if __name__ == "__main__":
    main()

"""The handset's Qt-free model on the in-memory network with the built-in registrar.

A fake clock and no Asterisk: each test runs in a fraction of a second.  The
same features are tested through the window against Asterisk in
tests/test_gui_handset.py and tests/test_gui_calls.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from iaxphone.linestate import LineState
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.capabilities import Availability, Capabilities, Facility, not_loaded
from iaxphone.pbx.dnd import DndMechanism
from iaxphone.phone import LineInfo, Phone
from iaxphone.viewmodels.handset import (
    IDLE_HINT,
    HandsetModel,
    HandsetView,
    Key,
    next_live,
    summary,
)
from tests.memnet import MemoryNetwork, MiniPbx, memory_phone, run_virtual
from tests.proto_link import Conditions

# Every datagram: 20 ms on the way, 3 % lost, 5 % overtaken (seeded, so a failure replays).
LOSSY = Conditions(loss=0.03, delay=0.02, reorder=0.05)


def test_the_view_models_import_no_qt() -> None:
    code = (
        "import sys, iaxphone.viewmodels.handset, iaxphone.viewmodels.transfer, "
        "iaxphone.viewmodels.parking, iaxphone.viewmodels.pbxlines, iaxphone.viewmodels.chat, "
        "iaxphone.phone; "
        "print(sorted(m for m in sys.modules if m.startswith(('PyQt', 'qasync', 'pyqtgraph'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class Seen:
    """What the model told its widget."""

    def __init__(self, model: HandsetModel) -> None:
        self.changes = 0
        self.incoming: list[str] = []
        self.current: list[int | None] = []
        model.on_change = self._changed
        model.on_incoming = self.incoming.append
        model.on_current = lambda line: self.current.append(line.id if line else None)

    def _changed(self) -> None:
        self.changes += 1


async def until(phone: Phone, holds: Callable[[], bool], timeout: float = 5) -> None:
    async def wait() -> None:
        with phone.event_queue() as events:
            while not holds():
                await events.get()

    await asyncio.wait_for(wait(), timeout)


def run_model(scenario: Callable[[Phone, HandsetModel, MiniPbx], object], tmp: Path) -> None:
    async def main() -> None:
        network = MemoryNetwork(seed=11, conditions=LOSSY)
        async with MiniPbx(network) as pbx, memory_phone(network) as phone:
            model = HandsetModel(phone, recordings=tmp / "recordings")
            await scenario(phone, model, pbx)  # type: ignore[misc]
            model.close()

    run_virtual(main)


def test_a_call_on_the_display_with_its_time(tmp_path: Path) -> None:
    async def scenario(phone: Phone, model: HandsetModel, _pbx: MiniPbx) -> None:
        seen = Seen(model)
        assert model.view().registration == "desk: registered"
        assert model.view().call_state == "idle" and not model.view().in_call
        assert model.view().enabled == {Key.CALL, Key.DND, Key.CONFERENCE}
        model.call_or_answer(" 600 ")
        await until(phone, lambda: model.view().call_state == "talking")
        view: HandsetView = model.view()
        assert (view.caller, view.in_call) == ("to 600", True)
        # Encryption offered ("allowed"), the in-memory PBX does not take it up: open padlock.
        assert view.codec.startswith("ulaw not encrypted") and view.padlock == "open"
        assert [(k.slot, k.label, k.current) for k in view.line_keys] == [(1, "talking 600", True)]
        assert view.enabled == set(Key) - {Key.COMPLETE, Key.CANCEL}
        await asyncio.sleep(65.5)
        assert model.view().timer == "1:05"
        assert model.press_key("5") is False  # DTMF on the call, not into the number
        model.hang_up()
        await until(phone, lambda: model.view().call_state == "ended")
        await asyncio.sleep(10)
        ended = model.view()
        assert ended.timer == "1:05" and ended.message == "call ended: normal clearing"
        assert ended.line_keys == () and not ended.in_call
        assert model.press_key("5") is True  # no call: the key goes into the number
        assert seen.changes > 3 and seen.current[0] is not None

    run_model(scenario, tmp_path)


def test_call_waiting_answer_swap_and_succession(tmp_path: Path) -> None:
    async def scenario(phone: Phone, model: HandsetModel, pbx: MiniPbx) -> None:
        seen = Seen(model)
        model.call_or_answer("600")
        await until(phone, lambda: model.view().call_state == "talking")
        first = model.line
        assert first is not None
        waiting = await pbx.call(phone.client.local, "6001", caller_name="Bob")
        await until(phone, lambda: len(model.view().line_keys) == 2)
        view = model.view()
        assert [k.label for k in view.line_keys] == ["talking 600", "waiting Bob"]
        assert model.line is not None and model.line.id == first.id  # still the first call
        assert seen.incoming == ["Bob <6002>"]
        assert not view.ringing  # the shared speaker is busy with the call
        assert Key.CONFERENCE in view.enabled  # always: its message says what it needs
        model.call_or_answer("")  # Enter answers the waiting call ...
        await waiting.wait_answered(timeout=2)
        view = model.view()
        assert [k.label for k in view.line_keys] == ["held 600", "talking Bob"]
        assert view.caller == "from Bob <6002>" and Key.CONFERENCE in view.enabled
        model.choose_line(first.id)  # swap
        assert [k.label for k in model.view().line_keys] == ["talking 600", "held Bob"]
        assert model.view().caller == "to 600"
        model.hang_up()  # ... and the held call follows
        await until(phone, lambda: len(model.lines) == 1)
        after = model.view()
        assert after.caller == "from Bob <6002>" and after.held
        assert after.message == "call with 600 ended: normal clearing"
        model.toggle_hold()
        assert model.view().call_state == "talking"
        await waiting.hangup()
        await until(phone, lambda: not model.lines)

    run_model(scenario, tmp_path)


def test_refused_commands_say_why_on_the_display(tmp_path: Path) -> None:
    async def scenario(phone: Phone, model: HandsetModel, pbx: MiniPbx) -> None:
        model.flash()
        assert model.view().message == "no call to flash"
        model.toggle_hold()
        assert model.view().message == "no call to hold"
        model.set_mute(True)
        assert model.view().message == "no call to mute" and not model.view().muted
        model.conference()
        assert model.view().message == "a conference needs a held call and a talking one"
        assert model.transfer_to("") is False
        assert model.view().message == "type the number to transfer to"
        pbx.answer_calls = False
        model.call_or_answer("600")
        await until(phone, lambda: model.view().call_state == "ringing")
        assert model.view().enabled == {Key.CALL, Key.DND, Key.CONFERENCE, Key.HANG_UP, Key.MUTE}
        model.toggle_record()
        assert model.view().message == "no call to record"
        line = model.line
        assert line is not None
        model.toggle_hold()  # the state table refuses: the display says so
        assert model.view().message == f"line {line.id} is not talking (it is ringing)"
        model.dial("not a number!")
        await asyncio.sleep(0.1)
        assert "number" in model.view().message
        model.hang_up()
        await until(phone, lambda: not model.lines)

    run_model(scenario, tmp_path)


def test_consult_cancel_and_complete_without_a_pbx_panel(tmp_path: Path) -> None:
    async def scenario(phone: Phone, model: HandsetModel, _pbx: MiniPbx) -> None:
        model.call_or_answer("600")
        await until(phone, lambda: model.view().call_state == "talking")
        assert model.consult("601") is True
        await until(phone, lambda: model.view().consulting and model.view().in_call)
        await until(phone, lambda: model.view().call_state == "talking (consulting)")
        assert model.view().message == "consulting 601: Complete or Cancel"
        assert [k.label for k in model.view().line_keys] == ["held 600", "talking 601"]
        assert {Key.COMPLETE, Key.CANCEL} <= model.view().enabled
        assert Key.CONSULT not in model.view().enabled
        model.cancel_transfer()
        await until(phone, lambda: model.view().message == "transfer cancelled")
        view = model.view()
        assert not view.consulting and [k.label for k in view.line_keys] == ["talking 600"]
        model.consult("601")
        await until(phone, lambda: model.view().call_state == "talking (consulting)")
        held = next(k.line_id for k in model.view().line_keys if k.label == "held 600")
        model.complete_transfer()
        await until(phone, lambda: model.view().message == "transferred to 601")
        assert model.outcome[held] == "transferred to 601" and not model.view().consulting
        model.hang_up()
        await until(phone, lambda: not model.lines)

    run_model(scenario, tmp_path)


def test_a_strangers_call_never_reaches_the_handset_and_the_pbxs_rings(tmp_path: Path) -> None:
    async def main() -> None:
        network = MemoryNetwork(seed=12, conditions=LOSSY)
        async with (
            MiniPbx(network) as pbx,
            MiniPbx(network, ("127.0.0.99", 4569)) as stranger,
            memory_phone(network) as phone,
        ):
            model = HandsetModel(phone, recordings=tmp_path)
            seen = Seen(model)
            intruder = await stranger.call(phone.client.local, "6001", caller_name="Mallory")
            await intruder.wait_ended(timeout=5)
            assert seen.incoming == [] and model.view().line_keys == ()
            assert not model.view().ringing
            call = await pbx.call(phone.client.local, "6001", caller_name="Bob")
            await until(phone, lambda: model.view().ringing)
            view = model.view()
            assert seen.incoming == ["Bob <6002>"] and view.answer
            assert view.call_state == "incoming" and view.caller == "from Bob <6002>"
            model.call_or_answer("")
            await call.wait_answered(timeout=2)
            assert not model.view().ringing and model.view().call_state == "talking"
            await call.hangup()
            await until(phone, lambda: not model.lines)
            model.close()

    run_virtual(main)


def test_succession_prefers_a_talking_then_a_ringing_line() -> None:
    def line(i: int, state: LineState) -> LineInfo:
        return LineInfo(i, "desk", "in", str(i), None, state)

    lines = [line(1, LineState.DIALING), line(2, LineState.HELD), line(3, LineState.INCOMING)]
    assert next_live(lines) == lines[2]
    assert next_live([*lines, line(4, LineState.TALKING)]).id == 4  # type: ignore[union-attr]
    assert next_live(lines[:2]) == lines[1]
    assert next_live([]) is None


def test_park_and_dnd_on_a_pbx_that_has_neither(tmp_path: Path) -> None:
    """The probe said no res_parking and no DND: Park is greyed and says why; DND
    still holds this phone's calls off and the display says the PBX has none."""

    async def main() -> None:
        network = MemoryNetwork(seed=11, conditions=LOSSY)
        async with MiniPbx(network), memory_phone(network) as phone:
            client = PbxClient("127.0.0.1", 1, "console", "unused")
            facilities = tuple(
                Availability(f, f is not Facility.PARKING, not_loaded(f, "res_parking"))
                for f in Facility
            )
            client.capabilities = Capabilities(
                frozenset({"Redirect"}), frozenset({"call"}), facilities, DndMechanism.NONE, "none"
            )
            model = HandsetModel(phone, client, recordings=tmp_path / "recordings")
            model.call_or_answer("600")
            await until(phone, lambda: model.view().call_state == "talking")
            assert Key.PARK not in model.view().enabled
            assert Key.TRANSFER in model.view().enabled
            model.park()
            assert model.view().message == (
                "this PBX has no call parking (res_parking is not loaded)"
            )
            model.set_dnd(True)
            await until(phone, lambda: "do-not-disturb" in model.view().message)
            assert model.view().message.startswith("this PBX has no do-not-disturb")
            assert phone.dnd
            model.hang_up()
            await until(phone, lambda: not model.lines)
            model.close()
            client.close()

    run_virtual(main)


def test_the_display_bottom_line_says_what_else_is_going_on() -> None:
    carol = LineInfo(2, "desk", "in", "6003", "Carol", LineState.INCOMING)
    bob = LineInfo(1, "desk", "out", "6002", "Bob", LineState.TALKING)
    assert summary(None, [], dnd=False) == IDLE_HINT
    assert summary(bob, [bob], dnd=False) == ""  # a call and nothing else: the call says it
    assert summary(bob, [bob, carol], dnd=False) == "line 2: waiting Carol"
    assert summary(None, [], dnd=True) == "do not disturb"
    assert summary(bob, [bob, carol], dnd=True) == "do not disturb · line 2: waiting Carol"

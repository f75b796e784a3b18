"""The handset window's call handling against the bundled PBX (Qt offscreen).

Call waiting and line keys, the ringtone and incoming-call notice,
transfers (blind and consulted), park (with and without AMI), flash,
conference, recording, the graphs, compact view and the keyboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from iaxphone.gui.ringer import Ringer, ring_cycle
from iaxphone.media.virtual import MemorySink, Samples, ToneSource
from iaxphone.pbx.ami import PbxClient
from iaxphone.phone import LineInfo, LineState, LineStats, Phone, PhoneAccount
from iaxphone.proto.events import FlashReceived
from iaxphone.wire.constants import Format
from tests.ami import AmiWatcher, console_client
from tests.bridges import joined, wait_talking
from tests.guiloop import run_on_qt_loop, screenshot, until
from tests.pbx import Pbx
from tests.phones import next_incoming
from tests.phones import phone as iax_phone


class WatchedSink(MemorySink):
    """A MemorySink that says when something was written (tests wait on it)."""

    def __init__(self, rate: int) -> None:
        super().__init__(rate)
        self.written = asyncio.Event()

    def write(self, samples: Samples) -> None:
        super().write(samples)
        self.written.set()


def desk(pbx: Pbx, extension: int, tone: float = 440.0) -> Phone:
    user, secret = pbx.extension(extension)
    return Phone(
        [PhoneAccount("desk", (pbx.host, pbx.iax_port), user, secret)],
        source=ToneSource(tone, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
    )


def speaker(phone: Phone) -> MemorySink:
    sink = phone.gate.sink
    assert isinstance(sink, MemorySink)
    return sink


async def stats_ticks(phone: Phone, count: int, timeout: float = 10.0) -> None:
    """Wait for ``count`` LineStats events (a tenth of a second each)."""

    async def wait() -> None:
        with phone.event_queue(LineStats) as stats:
            for _ in range(count):
                await stats.get()

    await asyncio.wait_for(wait(), timeout)


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def state_of(phone: Phone, line_id: int) -> LineState | None:
    line = phone.lines.get(line_id)
    return line.info.state if line is not None else None


def dominant_frequency(samples: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def band_level(samples: np.ndarray, frequency: float, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[(freqs > frequency - 15) & (freqs < frequency + 15)].max())


# ------------------------------------------------------------------ ringer (no PBX)


def test_ring_cycle_is_a_tone_then_silence() -> None:
    cycle = ring_cycle(8000, on_s=1.0, off_s=2.0)
    assert len(cycle) == 24000
    assert np.abs(cycle[:8000]).max() > 5000 and not cycle[8000:].any()
    assert dominant_frequency(cycle[:8000]) in (
        pytest.approx(440, abs=5),
        pytest.approx(480, abs=5),
    )


def test_ringer_writes_what_the_clock_says_is_due(qapp: QApplication) -> None:
    now = [100.0]
    sink = MemorySink(8000)
    ringer = Ringer(sink, clock=lambda: now[0])
    ringer.start()
    first = len(sink.samples)
    assert first == 160  # one tick ahead: 20 ms
    now[0] += 0.5
    ringer._tick()
    assert len(sink.samples) == 4000 + 160  # real time, even after a late timer
    ringer._tick()
    assert len(sink.samples) == 4160  # nothing is due twice
    ringer.stop()
    now[0] += 1.0
    ringer._tick()
    assert len(sink.samples) == 4160 and not ringer.ringing


# ------------------------------------------------------------------ call waiting, ringing


def test_call_waiting_rings_notifies_and_line_keys_swap(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with desk(pbx, 6001) as alice, desk(pbx, 6002) as bob, desk(pbx, 6003) as carol:
            ring = WatchedSink(8000)
            window = HandsetWindow(alice, ring_sink=ring)
            qtbot.addWidget(window)
            window.show()
            current: list[LineInfo] = []
            window.current_line_changed.connect(current.append)
            assert window.line_buttons.isHidden()
            from_bob = await bob.dial("6001")
            await until(alice, lambda: window.call_state.text() == "incoming")
            assert window.notifier.shown == ["Incoming call from Bob Baker <6002>"]
            assert "Incoming call from" in window.windowTitle()
            await asyncio.wait_for(ring.written.wait(), 5)  # the ringtone plays
            assert np.abs(ring.samples).max() > 3000
            qtbot.keyClick(window.number, Qt.Key.Key_Return)  # answer
            await until(alice, lambda: window.call_state.text() == "talking")
            assert not window.ringer.ringing and window.windowTitle() == "iaxphone"
            rung = len(ring.samples)
            await stats_ticks(alice, 10)  # a second of the call: no more ringing
            assert len(ring.samples) == rung

            from_carol = await carol.dial("6001")  # a second call while Alice talks
            await until(alice, lambda: len(window.line_buttons.buttons) == 2)
            (bobs, carols) = window.line_buttons.buttons.values()
            assert "talking Bob Baker" in bobs.text() and "waiting Carol" in carols.text()
            assert "6002" in window.caller.text()  # the current line is still Bob's
            assert window.notifier.shown[-1].startswith("Incoming call from Carol")
            assert window.ringer.ringing  # a separate ringing device rings while we talk
            screenshot(window, "handset-call-waiting")
            click(qtbot, carols)  # answer Carol: Bob goes on hold
            await until(alice, lambda: "talking Carol" in carols.text())
            assert "held Bob" in bobs.text() and "6003" in window.caller.text()
            assert carols.isChecked() and not bobs.isChecked()
            assert current[-1].number == "6003" and current[-1].state is LineState.TALKING
            assert not window.ringer.ringing
            await carol.wait_line(from_carol, LineState.TALKING)
            click(qtbot, bobs)  # swap back to Bob
            await until(alice, lambda: "talking Bob" in bobs.text())
            assert "held Carol" in carols.text() and "6002" in window.caller.text()
            assert [line.info.state for line in alice.lines.values()] == [
                LineState.TALKING,
                LineState.HELD,
            ]
            qtbot.keyClick(window, Qt.Key.Key_Escape)  # hang up Bob: Carol's line is current
            await bob.wait_line(from_bob, LineState.ENDED)
            await until(alice, lambda: len(window.line_buttons.buttons) == 1)
            assert "held Carol" in window.call_state.text() or window.call_state.text() == "held"
            click(qtbot, window.hold_button)  # resume Carol
            await until(alice, lambda: window.call_state.text() == "talking")
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await carol.wait_line(from_carol, LineState.ENDED)
            await until(alice, window.line_buttons.isHidden)
            again = await bob.dial("6001")  # and once more: Esc declines a ringing call
            await until(alice, lambda: window.call_state.text() == "incoming")
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            ended = await bob.wait_line(again, LineState.ENDED)
            assert ended.cause_code is not None and ended.cause_code != 16
            await until(alice, lambda: window.call_state.text() == "ended")
            assert not window.ringer.ringing

    run_on_qt_loop(qapp, scenario())


# ------------------------------------------------------------------ transfers


def test_blind_transfer_hands_the_caller_to_the_number_typed(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with (
            console_client(pbx) as client,
            desk(pbx, 6004) as alice,
            desk(pbx, 6005) as bob,
            desk(pbx, 6006) as carol,
        ):
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            call = await bob.dial("6004")
            await until(alice, lambda: window.call_state.text() == "incoming")
            click(qtbot, window.call_button)
            await bob.wait_line(call, LineState.TALKING)
            qtbot.keyClicks(window.number, "6006")
            click(qtbot, window.transfer_button)
            assert window.message.text() == "transferring to 6006 ..."
            for_carol = await next_incoming(carol)
            await until(alice, lambda: window.call_state.text() == "ended")
            assert window.message.text() == "transferred to 6006"
            carol.answer(for_carol)
            assert await wait_talking(client, "IAX2/6005-", "IAX2/6006-")
            assert state_of(bob, call) is LineState.TALKING
            await carol.hangup(for_carol)

    run_on_qt_loop(qapp, scenario())


def test_consult_then_cancel_then_complete(pbx: Pbx, qapp: QApplication, qtbot: QtBot) -> None:
    async def scenario() -> None:
        async with (
            console_client(pbx) as client,
            desk(pbx, 6007) as alice,
            desk(pbx, 6008) as bob,
            desk(pbx, 6009) as carol,
        ):
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            assert window.complete_button.isHidden() and window.cancel_button.isHidden()
            call = await bob.dial("6007")
            await until(alice, lambda: window.call_state.text() == "incoming")
            click(qtbot, window.call_button)
            await bob.wait_line(call, LineState.TALKING)
            with_bob = window.line
            assert with_bob is not None
            qtbot.keyClicks(window.number, "6009")
            window.consult_button.trigger()  # Bob waits, Alice asks Carol
            carol.answer(await next_incoming(carol))
            await until(alice, lambda: window.call_state.text() == "talking (consulting)")
            assert state_of(alice, with_bob.id) is LineState.HELD
            assert not window.complete_button.isHidden() and not window.cancel_button.isHidden()
            click(qtbot, window.cancel_button)  # Carol says no: back to Bob
            await until(
                alice,
                lambda: (
                    window.line is not None
                    and window.line.id == with_bob.id
                    and window.call_state.text() == "talking"
                ),
            )
            assert window.complete_button.isHidden() and len(alice.lines) == 1
            window.consult_button.trigger()  # ... then yes (the number is still typed)
            carol.answer(await next_incoming(carol))
            await until(alice, lambda: window.call_state.text() == "talking (consulting)")
            click(qtbot, window.complete_button)
            for_carol = await next_incoming(carol)  # Bob's call now rings Carol
            await until(alice, lambda: not alice.lines)
            assert window.message.text() == "transferred to 6009"
            assert window.complete_button.isHidden()
            carol.answer(for_carol)
            assert await wait_talking(client, "IAX2/6008-", "IAX2/6009-")
            await carol.hangup(for_carol)

    run_on_qt_loop(qapp, scenario())


CONSULTING_AT_PBX = "talking (consulting 6003 at the PBX)"


@contextlib.asynccontextmanager
async def bob_calls_alice_at_the_window(
    pbx: Pbx, qtbot: QtBot
) -> AsyncIterator[tuple[PbxClient, HandsetWindow, Phone, Phone, Phone, int]]:
    """Alice's window with AMI has answered Bob (6002); Carol (6003) is idle.

    Yields (client, window, alice, bob, carol, bob's line) with 6003 typed in.
    """
    async with (
        console_client(pbx) as client,
        desk(pbx, 6001) as alice,
        desk(pbx, 6002) as bob,
        desk(pbx, 6003) as carol,
    ):
        window = HandsetWindow(alice, client)
        qtbot.addWidget(window)
        window.show()
        call = await bob.dial("6001")
        await until(alice, lambda: window.call_state.text() == "incoming")
        click(qtbot, window.call_button)
        await bob.wait_line(call, LineState.TALKING)
        qtbot.keyClicks(window.number, "6003")
        yield client, window, alice, bob, carol, call


async def consult_carol(qtbot: QtBot, window: HandsetWindow, alice: Phone, carol: Phone) -> int:
    """Consult (the PBX holds Bob and calls Carol); Carol answers.  Returns her line."""
    window.consult_button.trigger()
    try:
        consult = await next_incoming(carol)
        carol.answer(consult)
        await until(alice, lambda: window.call_state.text() == CONSULTING_AT_PBX)
    except TimeoutError:
        raise AssertionError(
            f"not consulting: {window.call_state.text()!r}, {window.message.text()!r}"
        ) from None
    return consult


def test_consult_through_ami_is_a_true_attended_transfer(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with bob_calls_alice_at_the_window(pbx, qtbot) as (
            client,
            window,
            alice,
            bob,
            carol,
            call,
        ):
            consult = await consult_carol(qtbot, window, alice, carol)
            assert len(alice.lines) == 1  # one line all along: the PBX runs the consultation
            assert await wait_talking(client, "IAX2/6001-", "IAX2/6003-")
            assert not joined(await client.channels(), "IAX2/6002-", "IAX2/6003-")
            click(qtbot, window.cancel_button)  # Carol says no: Bob is back
            await carol.wait_line(consult, LineState.ENDED)
            assert await wait_talking(client, "IAX2/6001-", "IAX2/6002-")
            await until(alice, lambda: window.message.text() == "transfer cancelled")
            assert window.call_state.text() == "talking" and window.complete_button.isHidden()
            consult = await consult_carol(qtbot, window, alice, carol)  # ... then yes
            click(qtbot, window.complete_button)
            await until(alice, lambda: window.call_state.text() == "ended")
            assert window.message.text() == "transferred to 6003"
            assert await wait_talking(client, "IAX2/6002-", "IAX2/6003-")
            assert state_of(carol, consult) is LineState.TALKING  # Carol's phone did not ring again
            await carol.hangup(consult)
            await bob.wait_line(call, LineState.ENDED)

    run_on_qt_loop(qapp, scenario())


def test_a_consultation_at_the_pbx_that_ends_under_us_is_seen_to_end(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    """With AMI our line stays up through the consultation whatever happens,
    so its end is read from the PBX: the consulted party hanging up gives us
    the caller back; the caller hanging up leaves us with the one consulted."""

    async def scenario() -> None:
        async with bob_calls_alice_at_the_window(pbx, qtbot) as (
            client,
            window,
            alice,
            bob,
            carol,
            call,
        ):
            consult = await consult_carol(qtbot, window, alice, carol)
            await carol.hangup(consult)  # Carol will not take it
            back = "6003 hung up: you are back with the caller"
            await until(alice, lambda: window.message.text() == back)
            assert window.call_state.text() == "talking", window.call_state.text()
            assert window.complete_button.isHidden() and window.consult_button.isEnabled()
            assert await wait_talking(client, "IAX2/6001-", "IAX2/6002-")

            consult = await consult_carol(qtbot, window, alice, carol)  # Bob gives up waiting
            await bob.hangup(call)
            alone = "the caller hung up: you are talking to 6003"
            await until(alice, lambda: window.message.text() == alone)
            assert window.call_state.text() == "talking", window.call_state.text()
            assert window.cancel_button.isHidden()
            assert await wait_talking(client, "IAX2/6001-", "IAX2/6003-")
            assert state_of(carol, consult) is LineState.TALKING

    run_on_qt_loop(qapp, scenario())


# ------------------------------------------------------------------ park


def test_park_with_ami_shows_the_slot(pbx: Pbx, qapp: QApplication, qtbot: QtBot) -> None:
    async def scenario() -> None:
        async with console_client(pbx) as client, desk(pbx, 6001) as alice, desk(pbx, 6010) as bob:
            window = HandsetWindow(alice, client)
            qtbot.addWidget(window)
            window.show()
            call = await bob.dial("6001")
            await until(alice, lambda: window.call_state.text() == "incoming")
            click(qtbot, window.call_button)
            await bob.wait_line(call, LineState.TALKING)
            window.park_button.trigger()
            await until(bob, lambda: window.message.text().startswith("parked at 7"))
            slot = window.message.text().removeprefix("parked at ")
            assert slot == window.parked_slot
            parked = client.state.parked[slot]
            assert parked.caller_number == "6010" and parked.channel.startswith("IAX2/6010-")
            await until(alice, lambda: window.call_state.text() == "ended")
            assert state_of(bob, call) is LineState.TALKING  # Bob waits in the lot
            await bob.hangup(call)

    run_on_qt_loop(qapp, scenario())


def test_park_without_ami_transfers_to_the_lot(pbx: Pbx, qapp: QApplication, qtbot: QtBot) -> None:
    async def scenario() -> None:
        async with AmiWatcher(pbx) as ami, desk(pbx, 6002) as alice, desk(pbx, 6003) as bob:
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            call = await bob.dial("6002")
            await until(alice, lambda: window.call_state.text() == "incoming")
            click(qtbot, window.call_button)
            await bob.wait_line(call, LineState.TALKING)
            mark = len(ami.events)
            window.park_button.trigger()
            parked = await ami.wait_for(
                lambda e: (
                    ami.events.index(e) >= mark
                    and e.Event == "ParkedCall"
                    and e.ParkeeCallerIDNum == "6003"
                )
            )
            assert str(parked.ParkingSpace).startswith("7")
            assert window.message.text() == "parked on 700 (the slot is shown only with AMI)"
            await until(alice, lambda: window.call_state.text() == "ended")
            await bob.hangup(call)

    run_on_qt_loop(qapp, scenario())


# ------------------------------------------------------------------ flash, conference, record


def test_flash_reaches_the_far_end(pbx: Pbx, qapp: QApplication, qtbot: QtBot) -> None:
    async def scenario() -> None:
        async with desk(pbx, 6004) as alice, iax_phone(pbx, 6005) as bob:
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            qtbot.keyClicks(window.number, "6005")
            click(qtbot, window.call_button)
            call = await asyncio.wait_for(bob.incoming.get(), 10)
            call.answer()
            await until(alice, lambda: window.call_state.text() == "talking")
            window.flash_button.trigger()
            assert window.message.text() == "flash"

            async def flashed() -> None:
                while not isinstance(await call.events.get(), FlashReceived):
                    pass

            await asyncio.wait_for(flashed(), 5)
            await call.hangup()
            await until(alice, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())


def test_conference_joins_the_held_and_the_talking_call(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with (
            desk(pbx, 6006, tone=400) as alice,
            desk(pbx, 6007, tone=600) as bob,
            desk(pbx, 6008, tone=900) as carol,
        ):
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            window.conference_button.trigger()
            assert window.message.text() == "a conference needs a held call and a talking one"
            window.dial("6007")
            bob.answer(await next_incoming(bob))
            await until(alice, lambda: window.call_state.text() == "talking")
            window.dial("6008")  # Bob goes on hold
            carol.answer(await next_incoming(carol))
            await until(
                alice,
                lambda: (
                    [line.state for line in window.lines.values()]
                    == [LineState.HELD, LineState.TALKING]
                ),
            )
            window.conference_button.trigger()
            assert window.message.text() == "conference: 6007 + 6008"
            assert window.call_state.text() == "talking (conference of 2)"
            assert all(line.info.state is LineState.TALKING for line in alice.lines.values())
            heard = len(speaker(bob).samples)
            await until(bob, lambda: len(speaker(bob).samples) > heard + 12000)
            b = speaker(bob).samples[-8000:]
            quiet = band_level(b, 1500)  # a frequency nobody sends
            assert band_level(b, 400) > 20 * quiet and band_level(b, 900) > 20 * quiet
            click(qtbot, window.hold_button)  # as a desk phone does: the whole conference
            await until(
                alice,
                lambda: all(line.state is LineState.HELD for line in window.lines.values()),
            )
            assert window.call_state.text() == "held (conference of 2)"
            click(qtbot, window.hold_button)  # ... and back, still a conference
            await until(
                alice,
                lambda: all(line.state is LineState.TALKING for line in window.lines.values()),
            )
            assert window.call_state.text() == "talking (conference of 2)"
            heard = len(speaker(bob).samples)
            await until(bob, lambda: len(speaker(bob).samples) > heard + 12000)
            b = speaker(bob).samples[-8000:]
            assert band_level(b, 400) > 20 * quiet and band_level(b, 900) > 20 * quiet
            for line_id in list(alice.lines):
                await alice.hangup(line_id)
            await until(alice, lambda: not window.lines)

    run_on_qt_loop(qapp, scenario())


def test_record_key_writes_the_call_to_a_wav_file(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with desk(pbx, 6009, tone=700) as alice:
            window = HandsetWindow(alice, recordings=tmp_path / "rec")
            qtbot.addWidget(window)
            window.show()
            window.dial("600")
            await until(alice, lambda: window.call_state.text() == "talking")
            click(qtbot, window.record_button)
            assert window.record_button.isChecked()
            path = window.last_recording
            assert path is not None and path.parent == tmp_path / "rec"
            assert window.message.text() == f"recording to {path}"
            await stats_ticks(alice, 15)
            click(qtbot, window.record_button)
            await until(alice, lambda: not window.record_button.isChecked())
            assert window.message.text() == f"recorded to {path}"
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(alice, lambda: window.call_state.text() == "ended")
            with wave.open(str(path)) as wav:
                heard = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            assert len(heard) >= 8000  # at least a second
            assert dominant_frequency(heard[-6000:]) == pytest.approx(700, abs=10)

    run_on_qt_loop(qapp, scenario())


# ------------------------------------------------------------------ graphs


def test_graphs_follow_the_echo_call_ten_times_a_second(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with desk(pbx, 6010) as alice:
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            qtbot.keyClicks(window.number, "600")
            qtbot.keyClick(window.number, Qt.Key.Key_Return)
            await until(alice, lambda: window.call_state.text() == "talking")
            graphs = window.graphs
            await until(alice, lambda: _finite(graphs.loss.samples) >= 5)
            start, pushed = time.monotonic(), _finite(graphs.loss.samples)
            await until(alice, lambda: _finite(graphs.loss.samples) >= pushed + 20)
            assert time.monotonic() - start < 2.6  # about ten updates a second
            mic = graphs.levels.series["mic"]
            spk = graphs.levels.series["speaker"]
            assert np.nanmax(mic) == pytest.approx(-15, abs=2)  # the -12 dBFS peak tone
            assert np.nanmax(spk) > -40  # and its echo
            assert graphs.echo.text() == "Echo cancellation off"  # a tone is no microphone
            assert _finite(graphs.erle.samples) == 0  # so no ERLE is drawn
            for graph in graphs.graphs:
                if graph is graphs.erle:
                    continue
                assert _finite(graph.samples) >= 25
                assert not np.isnan(graph.samples[-1])  # the newest sample is at "now"
            assert np.nanmax(graphs.buffer.samples) > 0  # the jitter buffer holds something
            assert 0 <= graphs.loss.samples[-1] < 5
            assert float(window.mos.text().removeprefix("MOS ")) >= 3.5  # a clean echo call
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(alice, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())


def _finite(values: np.ndarray) -> int:
    return int((~np.isnan(values)).sum())


# ------------------------------------------------------------------ compact view, keyboard


def test_compact_view_and_keyboard(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with desk(pbx, 6005) as alice:
            window = HandsetWindow(alice, recordings=tmp_path)
            qtbot.addWidget(window)
            window.show()
            window.dial("600")
            await until(alice, lambda: window.call_state.text() == "talking")
            assert window.isActiveWindow()
            full = window.sizeHint().height()
            qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            assert window.compact_button.isChecked() and window.graphs.isHidden()
            assert window.sizeHint().height() < full - 100
            screenshot(window, "handset-compact")
            chain, widget = [], window.number
            for _ in range(6):
                chain.append(widget)
                widget = widget.nextInFocusChain()
            assert chain == [
                window.number,
                window.call_button,
                window.hangup_button,
                window.hold_button,
                window.mute_button,
                window.dnd_button,
            ]
            texts = [b.text() for b in (*window.call_keys, *window.feature_keys)]
            mnemonics = [t[t.index("&") + 1].lower() for t in texts]
            assert len(set(mnemonics)) == len(mnemonics)  # every key has its own Alt+letter
            assert window.line_buttons.buttons[1].accessibleName() == "line 1: talking 600"
            assert window.call_state.accessibleName() == "call state"
            qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
            await until(alice, lambda: window.call_state.text() == "held")
            qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
            await until(alice, lambda: window.call_state.text() == "talking")
            qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
            await until(alice, lambda: window.line is not None and window.line.muted)
            assert window.mute_button.isChecked()
            qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)  # mnemonic
            await until(alice, lambda: window.line is not None and not window.line.muted)
            qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
            await until(alice, lambda: window.line is not None and window.line.recording)
            qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
            await until(alice, lambda: window.line is not None and not window.line.recording)
            assert window.last_recording is not None and window.last_recording.parent == tmp_path
            qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
            assert window.message.text() == "type the number to transfer to"
            qtbot.keyClicks(window.number, "602")
            shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
            qtbot.keyClick(window, Qt.Key.Key_T, shift_ctrl)  # consult 602
            await until(alice, lambda: window.call_state.text() == "talking (consulting)")
            assert next(iter(window.lines.values())).state is LineState.HELD
            qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)  # Cance&l
            await until(
                alice, lambda: len(window.lines) == 1 and window.call_state.text() == "talking"
            )
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(alice, lambda: window.call_state.text() == "ended")
            qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            assert not window.graphs.isHidden()

    run_on_qt_loop(qapp, scenario())

"""The phone model against the bundled PBX: lines, call waiting, swap, DND, auto-answer, history."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from iaxphone.history import History
from iaxphone.media.session import MuteMode
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.phone import (
    LineState,
    Phone,
    PhoneAccount,
    RegistrationChanged,
    VoicemailChanged,
)
from iaxphone.wire.constants import Format
from tests.ami import AmiWatcher
from tests.pbx import Pbx
from tests.phones import next_incoming

pytestmark = pytest.mark.asyncio


def dominant_frequency(samples: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@contextlib.asynccontextmanager
async def desk_phone(
    pbx: Pbx,
    extension: int,
    tmp_path: Path,
    tone: float = 440.0,
    auto_answer: bool = False,
    mute_mode: MuteMode = MuteMode.SILENCE,
) -> AsyncIterator[tuple[Phone, MemorySink]]:
    user, secret = pbx.extension(extension)
    speaker = MemorySink(8000)
    account = PhoneAccount("desk", (pbx.host, pbx.iax_port), user, secret, auto_answer=auto_answer)
    history = History(tmp_path / f"{extension}.sqlite3")
    phone = Phone(
        [account],
        source=ToneSource(tone, 8000),
        sink=speaker,
        formats=[Format.ULAW],
        history=history,
        local=("127.0.0.1", 0),
        mute_mode=mute_mode,
    )
    events = phone.event_queue()  # from before start: the registration is in it
    async with phone:
        seen = []
        wanted = (RegistrationChanged, VoicemailChanged)  # REGACK carries the message count
        while not all(any(isinstance(e, kind) for e in seen) for kind in wanted):
            seen.append(await asyncio.wait_for(events.get(), 10))
        events.close()
        registered = next(e for e in seen if isinstance(e, RegistrationChanged))
        assert registered.registered, registered
        # REGACK's message count (other tests may have left messages in this mailbox)
        assert VoicemailChanged("desk", *pbx.mailbox_count(extension)) in seen
        yield phone, speaker
    history.close()


async def test_a_call_between_two_desk_phones(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        desk_phone(pbx, 6001, tmp_path, tone=600) as (alice, _),
        desk_phone(pbx, 6002, tmp_path) as (bob, bob_hears),
    ):
        line = await alice.dial("6002")
        incoming = await next_incoming(bob)
        assert bob.line(incoming).info.number == "6001"
        bob.answer(incoming)
        await alice.wait_line(line, LineState.TALKING)
        await asyncio.sleep(1.5)  # let a second and a half of audio flow
        assert dominant_frequency(bob_hears.samples[-8000:]) == pytest.approx(600, abs=10)
        await alice.hangup(line)
        await bob.wait_line(incoming, LineState.ENDED)
    (record,) = History(tmp_path / "6001.sqlite3").recent()
    assert (record.direction, record.number, record.codec, record.cause_code) == (
        "out",
        "6002",
        "ulaw",
        16,
    )
    assert record.mos is not None and record.mos > 4.0


async def test_call_waiting_holds_the_first_call_and_swap_resumes_it(
    pbx: Pbx, tmp_path: Path
) -> None:
    async with (
        AmiWatcher(pbx) as ami,
        desk_phone(pbx, 6003, tmp_path) as (alice, _),
        desk_phone(pbx, 6004, tmp_path) as (bob, _),
        desk_phone(pbx, 6005, tmp_path) as (carol, _),
    ):
        with_bob = await alice.dial("6004")
        bob.answer(await next_incoming(bob))
        await alice.wait_line(with_bob, LineState.TALKING)
        await carol.dial("6003")
        from_carol = await next_incoming(alice)
        alice.answer(from_carol)  # call waiting: Bob goes on hold
        assert alice.line(with_bob).info.state is LineState.HELD
        assert alice.line(from_carol).info.state is LineState.TALKING
        await ami.wait_for(lambda e: e.Event == "Hold" and str(e.Channel).startswith("IAX2/6003"))
        alice.resume(with_bob)  # swap
        assert alice.line(from_carol).info.state is LineState.HELD
        assert alice.line(with_bob).info.state is LineState.TALKING
        assert alice.active_line is alice.line(with_bob)
        await ami.wait_for(lambda e: e.Event == "Unhold" and str(e.Channel).startswith("IAX2/6003"))
        await alice.hangup(with_bob)
        await alice.hangup(from_carol)


async def test_dnd_gives_the_caller_busy_and_auto_answer_answers(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        AmiWatcher(pbx) as ami,
        desk_phone(pbx, 6006, tmp_path) as (alice, _),
        desk_phone(pbx, 6007, tmp_path, auto_answer=True) as (bob, _),
    ):
        bob.set_dnd(True)
        line = await alice.dial("6007")
        dial_end = await ami.wait_for(
            lambda e: e.Event == "DialEnd" and str(e.DestChannel).startswith("IAX2/6007")
        )
        assert dial_end.DialStatus == "BUSY"  # the dialplan then offers Bob's voicemail
        await alice.hangup(line)
        await alice.wait_line(line, LineState.ENDED)
        bob.set_dnd(False)
        line = await alice.dial("6007")
        await alice.wait_line(line, LineState.TALKING)  # nobody touched Bob's phone
        assert bob.active_line is not None and bob.active_line.info.number == "6006"
        await alice.hangup(line)


async def test_redial_mute_and_recording(pbx: Pbx, tmp_path: Path) -> None:
    async with desk_phone(pbx, 6008, tmp_path, tone=800) as (alice, _):
        line = await alice.dial("600")
        await alice.wait_line(line, LineState.TALKING)
        recording = tmp_path / "echo.wav"
        alice.start_recording(line, recording)
        await asyncio.sleep(1.0)
        alice.mute(line, True)
        assert alice.line(line).info.muted
        await asyncio.sleep(0.6)
        alice.stop_recording(line)
        await alice.hangup(line)
        with wave.open(str(recording)) as wav:
            heard = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        assert dominant_frequency(heard[2000:6000]) == pytest.approx(800, abs=10)  # the echo
        assert np.abs(heard[-1600:]).max() < 200  # muted: the echo of silence
        again = await alice.redial()
        assert alice.line(again).info.number == "600"
        await alice.wait_line(again, LineState.TALKING)
        await alice.hangup(again)


async def played(speaker: MemorySink, seconds: float, timeout: float = 10.0) -> None:
    """Wait until the line has played ``seconds`` more to the speaker (the media clock's pace)."""
    wanted = sum(len(c) for c in speaker.chunks) + int(seconds * speaker.rate)

    async def wait() -> None:
        while sum(len(c) for c in speaker.chunks) < wanted:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def test_muted_before_the_answer_and_a_mute_that_stops_sending(
    pbx: Pbx, tmp_path: Path
) -> None:
    """``[audio] mute = "stop"``: a muted line sends no voice at all; mute set
    while the call is still ringing holds once it is answered."""
    async with desk_phone(pbx, 6008, tmp_path, tone=800, mute_mode=MuteMode.STOP) as (
        alice,
        speaker,
    ):
        line = await alice.dial("600")
        alice.mute(line, True)  # before the echo test answers
        await alice.wait_line(line, LineState.TALKING)
        audio = alice.line(line).audio
        assert audio is not None and audio.session.mute_mode is MuteMode.STOP
        await played(speaker, 0.6)
        assert audio.session.stats.sent_packets == 0  # nothing went out ...
        assert audio.session.jitter.stats.received == 0  # ... so nothing came back
        alice.mute(line, False)
        await played(speaker, 1.0)
        assert audio.session.stats.sent_packets > 0
        heard = speaker.samples[-4000:]
        assert dominant_frequency(heard) == pytest.approx(800, abs=10)  # the echo again
        await alice.hangup(line)


def band_level(samples: np.ndarray, frequency: float, rate: int = 8000) -> float:
    """Spectral magnitude near ``frequency`` (relative; for comparing tones in a mix)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[(freqs > frequency - 15) & (freqs < frequency + 15)].max())


async def test_local_three_way_conference_mixes_everyone(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        desk_phone(pbx, 6001, tmp_path, tone=400) as (alice, alice_hears),
        desk_phone(pbx, 6002, tmp_path, tone=600) as (bob, bob_hears),
        desk_phone(pbx, 6003, tmp_path, tone=900) as (carol, carol_hears),
    ):
        to_bob = await alice.dial("6002")
        bob.answer(await next_incoming(bob))
        await alice.wait_line(to_bob, LineState.TALKING)
        to_carol = await alice.dial("6003")  # Bob goes on hold
        carol.answer(await next_incoming(carol))
        await alice.wait_line(to_carol, LineState.TALKING)
        alice.conference(to_bob, to_carol)
        await asyncio.sleep(2.0)
        a, b, c = (
            alice_hears.samples[-8000:],
            bob_hears.samples[-8000:],
            carol_hears.samples[-8000:],
        )
        quiet = band_level(a, 1500)  # a frequency nobody sends
        assert (
            band_level(a, 600) > 20 * quiet and band_level(a, 900) > 20 * quiet
        )  # Alice hears both
        assert (
            band_level(b, 400) > 20 * quiet and band_level(b, 900) > 20 * quiet
        )  # Bob hears Alice and Carol
        assert (
            band_level(c, 400) > 20 * quiet and band_level(c, 600) > 20 * quiet
        )  # Carol hears Alice and Bob
        alice.hold(to_bob)  # holds the conference, not just Bob
        assert [alice.line(i).info.state for i in (to_bob, to_carol)] == [LineState.HELD] * 2
        alice.resume(to_carol)  # either member brings the conference back
        assert [alice.line(i).info.state for i in (to_bob, to_carol)] == [LineState.TALKING] * 2
        await played(bob_hears, 1.0)
        b = bob_hears.samples[-8000:]
        assert band_level(b, 400) > 20 * quiet and band_level(b, 900) > 20 * quiet
        await alice.hangup(to_bob)
        await alice.hangup(to_carol)


async def test_stereo_recording_keeps_both_sides_apart(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        desk_phone(pbx, 6004, tmp_path, tone=500) as (alice, _),
        desk_phone(pbx, 6005, tmp_path, tone=1100) as (bob, _),
    ):
        line = await alice.dial("6005")
        bob.answer(await next_incoming(bob))
        await alice.wait_line(line, LineState.TALKING)
        path = tmp_path / "stereo.wav"
        alice.start_recording(line, path, stereo=True)
        await asyncio.sleep(1.5)
        alice.stop_recording(line)
        await alice.hangup(line)
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert dominant_frequency(frames[-6000:, 0]) == pytest.approx(500, abs=10)  # us
    assert dominant_frequency(frames[-6000:, 1]) == pytest.approx(1100, abs=10)  # them


async def test_attended_transfer_consult_cancel_and_complete(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        desk_phone(pbx, 6006, tmp_path) as (alice, _),
        desk_phone(pbx, 6007, tmp_path) as (bob, _),
        desk_phone(pbx, 6008, tmp_path) as (carol, _),
    ):
        call = await bob.dial("6006")  # Bob calls Alice, the receptionist
        with_bob = await next_incoming(alice)
        alice.answer(with_bob)
        await bob.wait_line(call, LineState.TALKING)
        consult = await alice.consult(with_bob, "6008")  # Bob on hold, Alice asks Carol
        assert alice.line(with_bob).info.state is LineState.HELD
        carol.answer(await next_incoming(carol))
        await alice.wait_line(consult, LineState.TALKING)
        await alice.cancel_transfer(with_bob, consult)  # Carol says no: back to Bob
        assert alice.line(with_bob).info.state is LineState.TALKING
        consult = await alice.consult(with_bob, "6008")  # ... then yes
        carol.answer(await next_incoming(carol))
        await alice.wait_line(consult, LineState.TALKING)
        await alice.complete_transfer(with_bob, consult)
        for_carol = await next_incoming(carol)  # Bob's call now rings Carol
        assert carol.line(for_carol).info.state is LineState.INCOMING
        await alice.wait_line(with_bob, LineState.ENDED)  # Alice is out of it
        carol.answer(for_carol)
        await bob.wait_line(call, LineState.TALKING)
        assert bob.line(call).info.state is LineState.TALKING
        await carol.hangup(for_carol)


async def test_declining_a_ringing_call_ends_it_for_the_caller(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        desk_phone(pbx, 6009, tmp_path) as (alice, _),
        desk_phone(pbx, 6010, tmp_path) as (bob, _),
    ):
        call = await bob.dial("6009")
        ringing = await next_incoming(alice)  # accepted and ringing here
        await alice.hangup(ringing)
        declined = await alice.wait_line(ringing, LineState.ENDED)
        assert (declined.cause, declined.cause_code) == ("rejected", 21)
        ended = await bob.wait_line(call, LineState.ENDED)
        assert ended.cause_code != 16  # not a normal clearing: nobody answered


async def test_a_failing_background_task_is_logged_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = Phone(
        [PhoneAccount("desk", ("127.0.0.1", 9), "6001", "x")],
        source=ToneSource(440, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
    )

    async def broken() -> None:
        raise RuntimeError("the sound card vanished")

    with caplog.at_level("ERROR", logger="iaxphone.phone"):
        phone._spawn(broken())
        await asyncio.gather(*phone._tasks, return_exceptions=True)
    assert "phone task failed: the sound card vanished" in caplog.text
    assert not phone._tasks

"""Trust against the bundled PBX: a stranger on 127.0.0.2 can neither ring the phone nor
make it answer, nor hang up, talk into or change the voicemail of a call; the PBX's
intercom is answered, with the microphone muted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from iaxphone.history import History
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.phone import LineChanged, LineState, Phone, PhoneAccount, PhoneEvent, VoicemailChanged
from iaxphone.wire.constants import Format, IaxCommand
from iaxphone.wire.ies import InformationElements
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.stranger import iax_frame, mini_voice, stranger

pytestmark = pytest.mark.asyncio


class Recorder:
    """Every event of a phone, with a wait for the first that matches."""

    def __init__(self, phone: Phone) -> None:
        self.events: list[PhoneEvent] = []
        self._changed = asyncio.Event()
        phone.subscribe(self._on_event)

    def _on_event(self, event: PhoneEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def lines(self) -> list[LineChanged]:
        return [e for e in self.events if isinstance(e, LineChanged)]

    async def wait_for(
        self, match: Callable[[PhoneEvent], bool], timeout: float = 10
    ) -> PhoneEvent:
        async def wait() -> PhoneEvent:
            seen = 0
            while True:
                for event in self.events[seen:]:
                    if match(event):
                        return event
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def desk_phone(
    pbx: Pbx, extension: int, tmp_path: Path, **account: object
) -> AsyncIterator[tuple[Phone, Recorder, History, MemorySink]]:
    user, secret = pbx.extension(extension)
    history = History(tmp_path / f"{extension}.sqlite3")
    speaker = MemorySink(8000)
    desk = Phone(
        [PhoneAccount("desk", (pbx.host, pbx.iax_port), user, secret, **account)],  # type: ignore[arg-type]
        source=ToneSource(500, 8000),
        sink=speaker,
        formats=[Format.ULAW],
        history=history,
        local=("127.0.0.1", 0),
    )
    recorder = Recorder(desk)
    try:
        async with desk:
            assert desk.registered["desk"]
            yield desk, recorder, history, speaker
    finally:
        history.close()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for a condition on the phone's own counters (it has no event for drops)."""

    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def dominant_frequency(samples: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


async def test_a_stranger_can_neither_ring_the_phone_nor_make_it_answer(
    pbx: Pbx, tmp_path: Path
) -> None:
    async with desk_phone(pbx, 6006, tmp_path) as (desk, seen, history, _), stranger() as knock:
        port = desk.client.local_address[1]
        ring = await knock.call(("127.0.0.1", port), name="Stranger", number="9999")
        answer = await knock.call(("127.0.0.1", port), auto_answer=True, source_call=778)
        for reply in (ring, answer):
            assert reply.subclass == IaxCommand.REJECT, reply
            assert reply.ies is not None and reply.ies.cause_code == 21
        assert seen.lines() == [] and desk.lines == {}
        assert history.recent() == []
        assert desk.client.endpoint.strangers_refused == 2
        # The PBX still gets through.
        async with phone(pbx, 6007, register=False) as caller:
            await call_from(caller, pbx, 6007, "6006")
            ringing = await seen.wait_for(
                lambda e: isinstance(e, LineChanged) and e.line.state is LineState.INCOMING
            )
            assert isinstance(ringing, LineChanged) and ringing.line.number == "6007"
            await desk.hangup(ringing.line.id)


async def test_a_strangers_hangups_voice_and_voicemail_counts_change_nothing(
    pbx: Pbx, tmp_path: Path
) -> None:
    async with desk_phone(pbx, 6008, tmp_path) as (desk, seen, _, speaker), stranger() as intruder:
        line_id = await desk.dial("600")  # the echo test: we hear our own 500 Hz back
        await seen.wait_for(
            lambda e: isinstance(e, LineChanged) and e.line.state is LineState.TALKING
        )
        call = desk.client.endpoint._call(desk.line(line_id).call.call_id)
        port = desk.client.local_address[1]
        before = desk.client.endpoint.dropped
        forged = [
            iax_frame(
                IaxCommand.HANGUP,
                source_call=call.remote_call,
                dest_call=call.local_call,
                oseqno=seq,
                iseqno=seq,
                ies=InformationElements(cause="forged", cause_code=16),
            )
            for seq in range(256)
        ]
        noise = [mini_voice(call.remote_call, ts * 20, bytes([0x00]) * 160) for ts in range(200)]
        mwi = iax_frame(
            IaxCommand.MWI, source_call=90, dest_call=0, ies=InformationElements(msg_count=5)
        )
        for frame in [*forged, *noise, mwi]:
            intruder.send(frame, ("127.0.0.1", port))
        await until(lambda: desk.client.endpoint.dropped >= before + len(forged) + len(noise) + 1)
        mark = len(speaker.samples)
        await asyncio.sleep(1.0)  # a second of the call after the forgeries, to listen to
        assert desk.line(line_id).info.state is LineState.TALKING
        assert dominant_frequency(speaker.samples[mark:]) == pytest.approx(500, abs=10)
        assert not [e for e in seen.events if isinstance(e, VoicemailChanged) and e.new_messages]
        assert desk.voicemail.get("desk", (0, 0)) == (0, 0)
        assert intruder.received == []  # not even an ACK
        await desk.hangup(line_id)


async def test_the_pbxs_intercom_is_answered_with_the_microphone_muted(
    pbx: Pbx, tmp_path: Path
) -> None:
    async with (
        desk_phone(pbx, 6009, tmp_path) as (desk, seen, _, _),
        phone(pbx, 6010, register=False) as caller,
    ):
        call = await call_from(caller, pbx, 6010, "*806009")
        talking = await seen.wait_for(
            lambda e: isinstance(e, LineChanged) and e.line.state is LineState.TALKING
        )
        assert isinstance(talking, LineChanged)
        assert talking.line.intercom and talking.line.muted and talking.line.direction == "in"
        await call.wait_answered(timeout=5)
        assert desk.active_line is not None and desk.active_line.audio is not None
        assert desk.active_line.audio.session.muted  # nothing of the room goes out
        await call.hangup()


async def test_intercom_rings_when_the_account_does_not_allow_it(pbx: Pbx, tmp_path: Path) -> None:
    async with (
        desk_phone(pbx, 6009, tmp_path, intercom=False) as (_, seen, _, _),
        phone(pbx, 6010, register=False) as caller,
    ):
        call = await call_from(caller, pbx, 6010, "*806009")
        ringing = await seen.wait_for(
            lambda e: isinstance(e, LineChanged) and e.line.state is LineState.INCOMING
        )
        assert isinstance(ringing, LineChanged) and not ringing.line.intercom
        await call.hangup()
        await seen.wait_for(
            lambda e: isinstance(e, LineChanged) and e.line.state is LineState.ENDED
        )
        states = [e.line.state for e in seen.lines()]
        assert LineState.TALKING not in states

"""Faults the handset window tells about, on the in-memory network (fake clock).

* The network gone for 30 s (laptop asleep, cable out): the registration is
  lost (the keepalive POKE goes unanswered), retried on a short back-off and
  recovered once the network is back; the display says each step.
* A recording whose disk is full: the call goes on, the recording stops,
  and the display says why in one line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from iaxphone.linestate import LineState
from iaxphone.phone import RecordingStopped, RegistrationChanged
from iaxphone.proto.registration import KEEPALIVE_S, MAX_BACKOFF
from iaxphone.proto.reliability import RetryPolicy
from iaxphone.viewmodels.handset import HandsetModel
from tests.memnet import PBX, PHONE, MemoryNetwork, MiniPbx, memory_phone, run_virtual
from tests.proto_link import BLACK_HOLE, Conditions

RETRY_S = RetryPolicy().give_up_after()
CLEAR = Conditions(delay=0.005)


def test_the_network_gone_for_30_s_is_told_and_the_registration_recovers(tmp_path: Path) -> None:
    async def main() -> tuple[list[RegistrationChanged], list[str], float, float]:
        network = MemoryNetwork(seed=3)
        async with MiniPbx(network), memory_phone(network) as phone:
            model = HandsetModel(phone, recordings=tmp_path)
            shown: list[str] = []
            model.on_change = lambda: shown.append(f"{model.view().registration} | {model.message}")
            changes = phone.event_queue(RegistrationChanged)
            loop = asyncio.get_running_loop()
            for way in ((PHONE, PBX), (PBX, PHONE)):
                network.condition(*way, BLACK_HOLE)
            gone = loop.time()
            lost = await asyncio.wait_for(changes.get(), KEEPALIVE_S + RETRY_S + 1)
            noticed = loop.time() - gone
            await asyncio.sleep(gone + 30.0 - loop.time())
            for way in ((PHONE, PBX), (PBX, PHONE)):
                network.condition(*way, CLEAR)
            back = loop.time()
            recovered = await asyncio.wait_for(changes.get(), MAX_BACKOFF + RETRY_S + 1)
            again = loop.time() - back
            assert phone.registered == {"desk": True}
            model.close()
            return [lost, recovered], shown, noticed, again

    (lost, recovered), shown, noticed, again = run_virtual(main)
    assert lost.change == "lost" and not lost.registered and "no answer" in lost.reason
    assert noticed <= KEEPALIVE_S + RETRY_S + 0.5
    assert recovered.change == "recovered" and recovered.registered
    assert recovered.offline_s == pytest.approx(30.0 - noticed + again, abs=0.05)  # since the loss
    assert again <= MAX_BACKOFF + RETRY_S + 0.5
    assert any("registration lost, retrying" in s and "connection to the server lost" in s
               for s in shown), shown  # fmt: skip
    assert "desk: registered | desk: server back, registered again after" in shown[-1], shown


def test_a_full_disk_stops_the_recording_not_the_call(tmp_path: Path) -> None:
    async def main() -> None:
        network = MemoryNetwork(seed=5)
        async with MiniPbx(network), memory_phone(network) as phone:
            model = HandsetModel(phone, recordings=tmp_path)
            stopped = phone.event_queue(RecordingStopped)
            line = await phone.dial("600")
            await phone.wait_line(line, LineState.TALKING)
            phone.start_recording(line, Path("/dev/full"))  # every write: ENOSPC
            event = await asyncio.wait_for(stopped.get(), 2)
            assert event.line_id == line
            assert event.message == (
                "recording stopped: /dev/full: No space left on device (the call goes on)"
            )
            assert model.message == event.message
            assert not phone.line(line).info.recording
            received = phone.line(line).audio.session.jitter.stats.received  # type: ignore[union-attr]
            await asyncio.sleep(2.0)
            audio = phone.line(line).audio
            assert phone.line(line).info.state is LineState.TALKING
            assert audio is not None and audio.session.jitter.stats.received > received + 80
            await phone.hangup(line)
            model.close()

    run_virtual(main)

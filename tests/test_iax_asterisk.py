"""The IAX2 core against the real bundled Asterisk: registration, calls, in-call signalling."""

from __future__ import annotations

import asyncio

import pytest

from iaxphone.aio.client import CallFailedError, RegistrationError
from iaxphone.proto.call import CallOptions
from iaxphone.proto.events import CallEnded, DtmfReceived
from iaxphone.proto.registration import Account
from tests.ami import AmiWatcher
from tests.pbx import Pbx
from tests.phones import call_from, drain_audio, phone, pump_audio

pytestmark = pytest.mark.asyncio


async def wait_for_peer_ok(ami: AmiWatcher, peer: str, timeout: float = 5.0) -> str:
    """Poll "iax2 show peer" until Asterisk's qualify says OK; returns the output."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await ami.command(f"iax2 show peer {peer}")
        if "Status       : OK" in output:
            return output
        if loop.time() > deadline:
            raise AssertionError(f"peer {peer} never qualified OK:\n{output}")
        await asyncio.sleep(0.05)


async def test_register_with_call_tokens_and_answer_qualify(pbx: Pbx) -> None:
    async with AmiWatcher(pbx) as ami, phone(pbx, 6001, register=False) as client:
        username, secret = pbx.extension(6001)
        registered = await client.register(Account(username, secret, (pbx.host, pbx.iax_port)))
        assert registered.expires == 60
        assert registered.apparent_address == client.local_address
        assert (registered.new_messages, registered.old_messages) == (0, 0)
        registered_event = await ami.wait_for(
            lambda e: (
                e.Event == "PeerStatus" and e.Peer == "IAX2/6001" and e.PeerStatus == "Registered"
            )
        )
        assert registered_event.Address == client.local_address[0]
        # Asterisk qualifies the new registration with a POKE; our PONG makes it "OK".
        peer = await wait_for_peer_ok(ami, "6001")
        host, port = client.local_address
        assert f"Addr->IP     : {host} Port {port}" in peer


async def test_wrong_secret_is_a_clear_authentication_error(pbx: Pbx) -> None:
    async with phone(pbx, 6002, register=False) as client:
        with pytest.raises(RegistrationError) as failure:
            await client.register(Account("6002", "not-the-secret", (pbx.host, pbx.iax_port)))
    assert "wrong username or password" in str(failure.value)
    assert failure.value.failure.auth_rejected
    assert failure.value.failure.cause_code == 29


async def test_echo_call_carries_audio_both_ways(pbx: Pbx) -> None:
    async with phone(pbx, 6001) as client:
        call = await call_from(client, pbx, 6001, "600")
        await call.wait_answered(timeout=5)
        sent = await pump_audio(call, 100)
        # Echo() returns what it gets; wait until the last frames came back.
        loop = asyncio.get_running_loop()
        received: list[bytes] = []
        deadline = loop.time() + 3
        while loop.time() < deadline and not (received and received[-1] == sent[-1]):
            frame = await asyncio.wait_for(call.audio.get(), deadline - loop.time())
            received.append(frame.payload)
        received += drain_audio(call)
        ended = await call.hangup()
    sent_set = set(sent)
    echoed = [p for p in received if p in sent_set]
    assert len(echoed) >= 0.9 * len(received), "Echo() returned audio we never sent"
    assert len(set(echoed)) >= 0.8 * len(sent), (
        f"only {len(set(echoed))} of {len(sent)} frames came back"
    )
    assert ended.by_remote is False and ended.cause_code == 16


async def test_unknown_extension_is_rejected_with_cause(pbx: Pbx) -> None:
    async with phone(pbx, 6001) as client:
        call = await call_from(client, pbx, 6001, "4242")
        with pytest.raises(CallFailedError) as failure:
            await call.wait_answered(timeout=5)
    ended = failure.value.ended
    assert ended.by_remote
    assert ended.cause_code == 3  # no route to destination
    assert "No such context/extension" in ended.cause


async def test_wrong_password_on_a_call(pbx: Pbx) -> None:
    async with phone(pbx, 6001) as client:
        options = CallOptions("600", username="6001", secret="bad", caller_number="6001")
        call = await client.dial((pbx.host, pbx.iax_port), options)
        with pytest.raises(CallFailedError) as failure:
            await call.wait_answered(timeout=15)
    # The call offers encryption, so the PBX (which cannot decrypt an AUTHREP
    # made with the wrong secret) stays silent; the retries run out.
    assert failure.value.ended.cause_code == 50
    assert "wrong username or password" in failure.value.ended.cause


async def test_wrong_password_on_a_call_in_clear_is_rejected_at_once(pbx: Pbx) -> None:
    async with phone(pbx, 6001) as client:
        options = CallOptions(
            "600", username="6001", secret="bad", caller_number="6001", encryption="off"
        )
        call = await client.dial((pbx.host, pbx.iax_port), options)
        with pytest.raises(CallFailedError) as failure:
            await call.wait_answered(timeout=5)
    assert failure.value.ended.cause_code == 50
    assert failure.value.ended.cause == "No authority found (wrong username or password)"


async def test_call_between_two_iaxphones_through_asterisk(pbx: Pbx) -> None:
    async with phone(pbx, 6001) as alice, phone(pbx, 6002) as bob:
        call = await call_from(alice, pbx, 6001, "6002")
        incoming = await asyncio.wait_for(bob.incoming.get(), 5)
        assert incoming.incoming is not None
        assert incoming.incoming.caller_number == "6001"
        assert incoming.incoming.caller_name == "Alice Archer"
        incoming.answer()
        await call.wait_answered(timeout=5)
        sent_by_alice, sent_by_bob = await asyncio.gather(
            pump_audio(call, 50), pump_audio(incoming, 50)
        )
        await asyncio.sleep(0.2)  # let the last frames cross the PBX (its jitter buffer)
        heard_by_bob = set(drain_audio(incoming))
        heard_by_alice = set(drain_audio(call))
        assert len(heard_by_bob & set(sent_by_alice)) >= 40
        assert len(heard_by_alice & set(sent_by_bob)) >= 40
        await incoming.hangup()
        ended = await call.wait_ended(timeout=5)
    assert ended.by_remote and ended.cause_code == 16


async def test_asterisk_originated_call_is_answered(pbx: Pbx) -> None:
    async with AmiWatcher(pbx) as ami, phone(pbx, 6003) as client:
        await wait_for_peer_ok(ami, "6003")
        # With Async, panoramisk's reply completes only with OriginateResponse,
        # which needs our answer: send it and answer meanwhile.
        originate = asyncio.ensure_future(
            ami.action(
                Action="Originate",
                Channel="IAX2/6003",
                Context="office",
                Exten="600",
                Priority="1",
                CallerID='"Operator" <6010>',
                Async="true",
            )
        )
        incoming = await asyncio.wait_for(client.incoming.get(), 10)
        assert incoming.incoming is not None and incoming.incoming.caller_number == "6010"
        incoming.answer()
        replies = await asyncio.wait_for(originate, 10)
        assert [r.Response for r in replies] == ["Success", "Success"]
        assert replies[1].Event == "OriginateResponse"
        sent = await pump_audio(incoming, 50)
        await asyncio.sleep(0.2)
        assert len(set(drain_audio(incoming)) & set(sent)) >= 40
        await incoming.hangup()


async def test_hangup_causes_cross_both_ways(pbx: Pbx) -> None:
    async with AmiWatcher(pbx) as ami, phone(pbx, 6004) as client:
        # We hang up: Asterisk records our cause code.
        call = await call_from(client, pbx, 6004, "600")
        await call.wait_answered(timeout=5)
        await call.hangup("user went home", 16)
        hangup = await ami.wait_for(
            lambda e: e.Event == "Hangup" and str(e.Channel).startswith("IAX2/6004")
        )
        assert hangup.Cause == "16"
        # Asterisk hangs up (602 plays a prompt, then Hangup()): we get its cause.
        call = await call_from(client, pbx, 6004, "602")
        await call.wait_answered(timeout=5)
        ended = await call.wait_ended(timeout=30)
    assert isinstance(ended, CallEnded)
    assert ended.by_remote and ended.cause_code == 16


async def test_dtmf_reaches_asterisk_and_the_far_phone(pbx: Pbx) -> None:
    async with AmiWatcher(pbx) as ami, phone(pbx, 6005) as alice, phone(pbx, 6010) as bob:
        call = await call_from(alice, pbx, 6005, "6010")
        incoming = await asyncio.wait_for(bob.incoming.get(), 5)
        incoming.answer()
        await call.wait_answered(timeout=5)
        # As a desk phone does: audio keeps flowing, each digit lasts 100 ms.
        audio = asyncio.ensure_future(pump_audio(call, 60))
        for digit in "19*#":
            call.send_dtmf(digit, begin=True)
            await asyncio.sleep(0.1)
            call.send_dtmf(digit)
            await asyncio.sleep(0.1)
        await audio
        await ami.wait_for(
            lambda e: (
                e.Event == "DTMFEnd" and e.Digit == "#" and str(e.Channel).startswith("IAX2/6005")
            )
        )
        seen_by_asterisk = [
            e.Digit
            for e in ami.events
            if e.Event == "DTMFEnd"
            and str(e.Channel).startswith("IAX2/6005")
            and e.Direction == "Received"
        ]
        assert seen_by_asterisk == list("19*#")
        ends: list[str] = []
        while len(ends) < 4:
            event = await incoming.next_event(DtmfReceived, timeout=5)
            if event.ended:
                ends.append(event.digit)
        assert ends == list("19*#")
        await call.hangup()


async def test_hold_and_unhold_reach_asterisk(pbx: Pbx) -> None:
    async with AmiWatcher(pbx) as ami, phone(pbx, 6006) as alice, phone(pbx, 6007) as bob:
        call = await call_from(alice, pbx, 6006, "6007")
        incoming = await asyncio.wait_for(bob.incoming.get(), 5)
        incoming.answer()
        await call.wait_answered(timeout=5)
        call.hold("default")
        held = await ami.wait_for(
            lambda e: e.Event == "Hold" and str(e.Channel).startswith("IAX2/6006")
        )
        assert held.MusicClass == "default"
        call.unhold()
        await ami.wait_for(lambda e: e.Event == "Unhold" and str(e.Channel).startswith("IAX2/6006"))
        await call.hangup()
        await incoming.wait_ended(timeout=5)


async def test_blind_transfer_connects_the_far_end(pbx: Pbx) -> None:
    async with AmiWatcher(pbx) as ami, phone(pbx, 6008) as alice, phone(pbx, 6009) as bob:
        # Bob calls Alice; Alice transfers Bob to the echo test.
        call = await call_from(bob, pbx, 6009, "6008")
        incoming = await asyncio.wait_for(alice.incoming.get(), 5)
        incoming.answer()
        await call.wait_answered(timeout=5)
        # A transfer needs Alice's channel in the bridge with Bob's.
        await ami.wait_for(
            lambda e: e.Event == "BridgeEnter" and str(e.Channel).startswith("IAX2/6008")
        )
        incoming.blind_transfer("600")
        transfer = await ami.wait_for(lambda e: e.Event == "BlindTransfer")
        assert transfer.Result == "Success"
        assert transfer.Extension == "600"
        alice_ended = await incoming.wait_ended(timeout=5)
        assert alice_ended.by_remote
        # Bob is now talking to Echo(): his own audio comes back.
        sent = await pump_audio(call, 50)
        await asyncio.sleep(0.2)
        assert len(set(drain_audio(call)) & set(sent)) >= 40
        await call.hangup()

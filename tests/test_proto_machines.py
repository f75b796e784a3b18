"""The protocol state machines as data: complete, consistent tables; illegal triggers raise."""

from __future__ import annotations

import enum
import itertools
import logging

import pytest

from iaxphone.errors import IaxphoneError, LocalProtocolError, RemoteProtocolError
from iaxphone.proto import call as call_module
from iaxphone.proto import callstate, encryption, hold, registrar, registration
from iaxphone.proto.call import SIGNALS, TRANSITIONS
from iaxphone.proto.callstate import (
    CONNECTED,
    PINGED,
    CallAction,
    CallState,
    CallStateError,
    CallTrigger,
)
from iaxphone.proto.encryption import CryptoAction, CryptoState, CryptoTrigger
from iaxphone.proto.endpoint import Endpoint, EndpointConfig, UnknownAccountError
from iaxphone.proto.events import (
    CallAccepted,
    CallAnswered,
    CallEnded,
    HoldChanged,
    QuelchChanged,
    RegistrationFailed,
)
from iaxphone.proto.hold import FarAction, FarState, FarTrigger, HoldState, HoldTrigger
from iaxphone.proto.machine import Machine, Step, Table, reachable
from iaxphone.proto.registration import (
    Account,
    Registration,
    RegistrationStateError,
    RegState,
    RegTrigger,
)
from iaxphone.wire.constants import AuthMethod, Cause, Format, FrameType, IaxCommand, cause_of
from iaxphone.wire.frames import FullFrame, parse_frame
from iaxphone.wire.ies import InformationElements
from tests.proto_link import Link, establish_call, make_link, options

# name -> (table, its state, trigger and action enums, initial states)
TABLES: dict[str, tuple[Table, type[enum.Enum], type[enum.Enum], type[enum.Enum], tuple]] = {  # type: ignore[type-arg]
    "call": (callstate.TABLE, CallState, CallTrigger, CallAction, callstate.INITIAL),
    "registration": (
        registration.TABLE,
        RegState,
        RegTrigger,
        registration.RegAction,
        (RegState.IDLE,),
    ),
    "registration transaction": (
        registration.TRANSACTION_TABLE,
        registration.TxState,
        registration.TxTrigger,
        registration.TxAction,
        (registration.TxState.SENT,),
    ),
    "registrar": (
        registrar.TABLE,
        registrar.RegistrarState,
        registrar.RegistrarTrigger,
        registrar.RegistrarAction,
        (registrar.RegistrarState.NEW,),
    ),
    "our hold": (hold.LOCAL_TABLE, HoldState, HoldTrigger, hold.HoldAction, (HoldState.FREE,)),
    "far hold": (hold.REMOTE_TABLE, FarState, FarTrigger, FarAction, (FarState.FREE,)),
    "encryption": (
        encryption.TABLE,
        CryptoState,
        CryptoTrigger,
        CryptoAction,
        (CryptoState.OFF, CryptoState.ALLOWED, CryptoState.REQUIRED),
    ),
}


@pytest.mark.parametrize("name", TABLES)
def test_every_table_is_consistent(name: str) -> None:
    table, states, triggers, actions, initial = TABLES[name]
    for (state, trigger), step in table.items():
        assert isinstance(state, states) and isinstance(trigger, triggers)
        assert isinstance(step, Step) and isinstance(step.next, states)
        assert step.action is None or isinstance(step.action, actions)
    assert reachable(table, initial) == set(states), "a state no trigger leads to"
    assert {trigger for _, trigger in table} == set(triggers), "a trigger the table never takes"
    used = {step.action for step in table.values()} - {None}
    assert used == set(actions), "an action no step takes"


@pytest.mark.parametrize("name", ["far hold", "encryption"])
def test_tables_of_what_the_peer_offers_are_complete(name: str) -> None:
    """What the far end does to hold or encryption is never a protocol error."""
    table, states, triggers, _, _ = TABLES[name]
    assert set(table) == set(itertools.product(states, triggers))


def test_every_live_call_state_can_end_and_ended_is_final() -> None:
    for state in callstate.LIVE:
        assert callstate.TABLE[(state, CallTrigger.HANG_UP)].next is CallState.ENDED
        assert callstate.TABLE[(state, CallTrigger.TIMED_OUT)].next is CallState.ENDED
        assert callstate.TABLE[(state, CallTrigger.HANGUP)].next is CallState.ENDED
    assert TRANSITIONS[CallState.ENDED] == frozenset()
    assert TRANSITIONS[CallState.UP] == {CallState.ENDED}


def test_call_table_agrees_with_its_derived_views() -> None:
    with_audio = {s for (s, t) in callstate.TABLE if t is CallTrigger.SEND_AUDIO}
    assert with_audio == set(CONNECTED) == set(PINGED)
    remote = set(SIGNALS.values()) | {
        CallTrigger.TIMED_OUT,
        CallTrigger.INVALID,
        CallTrigger.CALL_TOKEN,
    }
    assert remote == set(callstate.REMOTE)
    # in-call commands never move the call
    for trigger in (CallTrigger.HOLD, CallTrigger.SEND_DTMF, CallTrigger.TRANSFER):
        assert all(
            step.next is state for (state, t), step in callstate.TABLE.items() if t is trigger
        )


def test_every_call_action_has_a_method() -> None:
    assert set(call_module._ACTIONS) == set(CallAction)
    assert all(callable(method) for method in call_module._ACTIONS.values())


# -- the machine itself ---------------------------------------------------------------


def test_machine_logs_each_change_once_and_check_moves_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = Machine("registration x", registration.TABLE, RegState.IDLE)
    caplog.set_level(logging.INFO, "iaxphone.proto")
    machine.check(RegTrigger.REGISTER)
    assert machine.state is RegState.IDLE and not caplog.records
    machine.fire(RegTrigger.REGISTER)
    machine.fire(RegTrigger.UNREGISTER)
    machine.fire(RegTrigger.UNREGISTER)  # a self-loop: nothing to log
    assert [r.getMessage() for r in caplog.records] == [
        "registration x: idle -> registering",
        "registration x: registering -> unregistering",
    ]
    assert machine.previous is RegState.REGISTERING


def test_registration_raises_local_and_remote_protocol_errors() -> None:
    reg = Registration(Account("6001", "secret", ("10.0.0.2", 4569)))
    with pytest.raises(RegistrationStateError, match="cannot refresh registration 6001@") as err:
        reg.fire(RegTrigger.REFRESH_DUE)
    assert isinstance(err.value, LocalProtocolError) and not isinstance(err.value, RuntimeError)
    with pytest.raises(RemoteProtocolError, match="REGACK is not expected while idle"):
        reg.granted(60, 0.0)
    assert reg.state is RegState.IDLE


def test_unknown_account_is_a_local_error_and_still_a_value_error() -> None:
    endpoint = Endpoint()
    with pytest.raises(UnknownAccountError, match="registered: none") as err:
        endpoint.unregister("nobody@10.0.0.2:4569", 0.0)
    assert isinstance(err.value, LocalProtocolError) and isinstance(err.value, ValueError)


# -- calls on the in-memory link ------------------------------------------------------


@pytest.fixture
def link() -> Link:
    return make_link()


def test_illegal_call_commands_raise_and_change_nothing(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a = a.endpoint.dial(b.addr, options(), link.now)
    for command in (
        lambda: a.endpoint.hold(call_a, link.now),
        lambda: a.endpoint.flash(call_a, link.now),
        lambda: a.endpoint.send_audio(call_a, b"\0" * 160, 20, link.now),
        lambda: a.endpoint.accept(call_a, link.now),
        lambda: a.endpoint.reject(call_a, link.now),
    ):
        with pytest.raises(CallStateError, match=f"call {call_a}: it is dialing"):
            command()
        assert a.endpoint.call_info(call_a).state is CallState.DIALING
    link.settle()
    call_b = establish_call(link, "a", "b", options())[1]
    with pytest.raises(LocalProtocolError, match="it is up"):
        b.endpoint.accept(call_b, link.now)


def test_hold_is_a_sub_machine_both_ways(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    with pytest.raises(LocalProtocolError, match=f"cannot resume call {call_a}: it is not held"):
        a.endpoint.unhold(call_a, link.now)
    a.endpoint.hold(call_a, link.now, "jazz")
    with pytest.raises(LocalProtocolError, match="it is held"):
        a.endpoint.hold(call_a, link.now)
    link.settle()
    assert a.endpoint.call_info(call_a).on_hold
    assert b.endpoint.call_info(call_b).remote_hold and b.endpoint.call_info(call_b).quelched
    # The far end quelches a held call: still held, reported as quelch.
    a.endpoint._call(call_a).send_iax(IaxCommand.QUELCH, link.now)
    link.settle()
    assert b.endpoint.call_info(call_b).remote_hold
    a.endpoint.unhold(call_a, link.now)
    link.settle()
    assert b.of_type(HoldChanged) == [
        HoldChanged(call_b, True, "jazz"),
        HoldChanged(call_b, False, None),
    ]
    assert b.of_type(QuelchChanged) == [QuelchChanged(call_b, True)]
    info = b.endpoint.call_info(call_b)
    assert not info.remote_hold and not info.quelched and not a.endpoint.call_info(call_a).on_hold


def test_a_late_accept_or_answer_is_acknowledged_and_ignored(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    accepted, answered = a.count(CallAccepted), a.count(CallAnswered)
    sender = b.endpoint._call(call_b)
    sender.send_iax(IaxCommand.ACCEPT, link.now, InformationElements(format=Format.ULAW))
    link.settle()
    assert a.count(CallAccepted) == accepted and a.count(CallAnswered) == answered
    assert a.endpoint.call_info(call_a).state is CallState.UP
    assert not sender.reliability.pending, "the ACCEPT was acknowledged"


def test_encryption_required_but_refused_ends_the_call() -> None:
    required = encryption.encryption("call 1", "required")
    assert required.fire(CryptoTrigger.ACCEPTED) is CryptoAction.REFUSE
    allowed = encryption.encryption("call 2", "allowed")
    assert allowed.fire(CryptoTrigger.NO_KEY) is None and allowed.state is CryptoState.CLEAR
    offered = encryption.encryption("call 3", "allowed")
    assert offered.fire(CryptoTrigger.KEY_OFFERED) is CryptoAction.START_CIPHER
    assert offered.fire(CryptoTrigger.ACCEPTED) is None and offered.state is CryptoState.ACTIVE
    off = encryption.encryption("call 4", "off")
    assert off.fire(CryptoTrigger.KEY_OFFERED) is None and off.state is CryptoState.OFF


def test_an_encrypted_call_between_endpoints_ends_clearly_when_refused() -> None:
    """The callee offers no encryption; the caller requires it: a local hang-up with its reason."""
    link = make_link()
    a, b = link["a"], link["b"]
    opts = options()
    opts.encryption = "required"
    a.endpoint.dial(b.addr, opts, link.now)
    link.settle()
    (ended,) = a.of_type(CallEnded)
    assert ended.cause == encryption.REFUSED_MESSAGE and not ended.by_remote
    assert issubclass(CallStateError, IaxphoneError)


def test_a_second_challenge_means_the_password_was_wrong() -> None:
    """The registration transaction's table: SENT -> CHALLENGED -> (REGAUTH again) DONE."""
    endpoint = Endpoint(EndpointConfig(require_call_token=False))
    server = ("10.0.0.2", 4569)
    name = endpoint.register(Account("6001", "secret", server), 0.0)
    ((data, _),) = endpoint.datagrams_to_send(0.0)
    request = parse_frame(data)
    assert isinstance(request, FullFrame)

    def regauth(oseqno: int, timestamp: int) -> bytes:
        challenge = InformationElements(
            auth_methods=AuthMethod.MD5, challenge="123", username="6001"
        )
        return FullFrame(
            source_call=77,
            dest_call=request.source_call,
            timestamp=timestamp,
            oseqno=oseqno,
            iseqno=oseqno + 1,
            frame_type=FrameType.IAX,
            subclass=IaxCommand.REGAUTH,
            ies=challenge,
        ).to_bytes()

    endpoint.receive_datagram(regauth(0, 10), server, 0.01)
    ((answer, _),) = endpoint.datagrams_to_send(0.01)
    parsed = parse_frame(answer)
    assert isinstance(parsed, FullFrame) and parsed.ies is not None and parsed.ies.md5_result
    assert endpoint.next_event() is None
    endpoint.receive_datagram(regauth(1, 20), server, 0.02)
    failed = endpoint.next_event()
    assert isinstance(failed, RegistrationFailed)
    assert failed.reason == "wrong password" and failed.auth_rejected
    assert endpoint.registration_state(name) is RegState.REJECTED


def test_a_received_cause_is_a_cause_member_when_it_is_one(link: Link) -> None:
    a, b = link["a"], link["b"]
    _, call_b = establish_call(link, "a", "b", options())
    b.endpoint.hangup(call_b, link.now, "user busy", 17)
    link.settle()
    (ended,) = a.of_type(CallEnded)
    assert ended.cause_code is Cause.USER_BUSY and f"{ended.cause_code}" == "17"
    assert cause_of(250) == 250 and cause_of(None) is None

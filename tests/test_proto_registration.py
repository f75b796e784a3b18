"""Registration between two sans-IO endpoints: a phone and a registrar (users={...})."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import Registered, RegistrationFailed, Unregistered
from iaxphone.proto.registrar import PeerRegistered, PeerUnregistered
from iaxphone.proto.registration import REFRESH_AT_MOST_S, Account, RegState
from iaxphone.proto.reliability import RetryPolicy
from iaxphone.wire.constants import AuthMethod, Format, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import SockAddr
from tests.proto_link import (
    A_ADDR,
    B_ADDR,
    BLACK_HOLE,
    USERS,
    Datagram,
    Link,
    is_iax,
    make_link,
)


def register(link: Link, secret: str = "secret", refresh: int = 60) -> str:
    a = link["a"]
    return a.endpoint.register(Account("6001", secret, B_ADDR, refresh=refresh), link.now)


def attempt_starts(link: Link) -> list[float]:
    """Send times of each registration attempt's first REGREQ (empty token, not a retry)."""
    starts = []
    for d in link.sent("a", "b"):
        f = d.full
        if (
            f is not None
            and is_iax(f, IaxCommand.REGREQ)
            and not f.retransmitted
            and f.ies is not None
            and f.ies.call_token == b""
        ):
            starts.append(d.sent_at)
    return starts


def test_register_with_call_token_exact_frame_sequence() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    t0 = link.now
    name = register(link)
    link.run_until(lambda: a.count(Registered) == 1 and b.count(PeerRegistered) == 1, 2.0)
    link.advance(1.0)  # let the final ACK land and anything stray show up

    wire: list[tuple[Datagram, FullFrame]] = []
    for d in link.wire:
        frame = d.full
        assert frame is not None
        wire.append((d, frame))
    seq = [(d.src, f.subclass) for d, f in wire]
    assert seq == [
        (A_ADDR, IaxCommand.REGREQ),
        (B_ADDR, IaxCommand.CALLTOKEN),
        (A_ADDR, IaxCommand.REGREQ),
        (B_ADDR, IaxCommand.REGAUTH),
        (A_ADDR, IaxCommand.REGREQ),
        (B_ADDR, IaxCommand.REGACK),
        (A_ADDR, IaxCommand.ACK),
    ]
    (_, req1), (_, tok), (_, req2), (_, auth), (_, req3), (_, ack), (_, final) = wire
    assert all(not f.retransmitted for _, f in wire)
    # 1: REGREQ asking for a token.
    assert req1.dest_call == 0 and req1.oseqno == 0
    assert req1.ies is not None and req1.ies.call_token == b""
    assert req1.ies.username == "6001" and req1.ies.refresh == 60
    assert req1.ies.md5_result is None
    # 2: stateless CALLTOKEN from call 1.
    assert tok.source_call == 1 and tok.dest_call == req1.source_call
    assert tok.ies is not None and tok.ies.call_token
    token = tok.ies.call_token
    # 3: REGREQ again with the token, sequence numbers restarted.
    assert req2.ies is not None and req2.ies.call_token == token
    assert req2.dest_call == 0 and req2.oseqno == 0
    # 4: MD5 challenge from the registrar's own call number.
    assert auth.ies is not None and auth.ies.auth_methods == AuthMethod.MD5
    assert auth.dest_call == req2.source_call and auth.source_call not in (0, 1)
    challenge = auth.ies.challenge
    assert challenge
    # 5: the answer: MD5(challenge + secret), never the secret itself.
    assert req3.dest_call == auth.source_call and req3.oseqno == 1
    assert req3.ies is not None and req3.ies.call_token == token
    assert req3.ies.md5_result == hashlib.md5((challenge + "secret").encode()).hexdigest()
    assert req3.ies.password is None
    assert not any(b"secret" in d.data for d, _ in wire)
    # 6: REGACK with the granted refresh and the address the registrar saw.
    assert ack.ies is not None and ack.ies.refresh == 60
    assert ack.ies.apparent_addr == SockAddr(*A_ADDR)
    # 7: ACK echoes REGACK's timestamp.
    assert final.timestamp == ack.timestamp and final.dest_call == ack.source_call

    assert a.of_type(Registered) == [Registered(name, 60, None, None, A_ADDR)]
    assert b.of_type(PeerRegistered) == [PeerRegistered("6001", A_ADDR, 60)]
    assert a.times_of(Registered)[0] == pytest.approx(t0 + 0.06)
    assert a.endpoint.registration_state(name) is RegState.REGISTERED
    assert b.endpoint.bindings["6001"][0] == A_ADDR
    assert not a.of_type(RegistrationFailed)


def test_transactions_are_released_after_registration() -> None:
    link = make_link()
    register(link)
    link.run_until(lambda: link["a"].count(Registered) == 1, 2.0)
    link.advance(9.0)
    assert link["a"].endpoint.open_sessions == set()
    assert link["b"].endpoint.open_sessions == set()
    assert link["a"].endpoint.get_timer() is not None  # the refresh is still planned
    link.advance(4.0)  # the keepalive POKE at 10 s and its PONG: released as well
    assert link["a"].endpoint.open_sessions == set()
    assert link["b"].endpoint.open_sessions == set()


@pytest.mark.parametrize(
    ("username", "secret"), [("6001", "wrong"), ("9999", "secret")], ids=["bad-secret", "no-user"]
)
def test_wrong_credentials_fail_permanently(username: str, secret: str) -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    name = a.endpoint.register(Account(username, secret, B_ADDR), link.now)
    link.run_until(lambda: a.count(RegistrationFailed) == 1, 2.0)
    failed = a.of_type(RegistrationFailed)[0]
    assert failed.account == name
    assert failed.auth_rejected is True
    assert failed.cause_code == 29
    assert "wrong username or password" in failed.reason
    assert a.endpoint.registration_state(name) is RegState.REJECTED
    assert not a.of_type(Registered) and not b.of_type(PeerRegistered)
    assert username not in b.endpoint.bindings
    regrej = [f for f in link.full_frames("b", "a") if is_iax(f, IaxCommand.REGREJ)]
    assert len(regrej) == 1
    # A wrong password does not get better: no automatic retries.
    sent_before = len(link.sent("a", "b"))
    link.advance(300.0)
    assert len(link.sent("a", "b")) == sent_before
    assert a.count(RegistrationFailed) == 1


def test_refresh_happens_before_expiry() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    register(link, refresh=60)
    link.run_until(lambda: a.count(Registered) == 1, 2.0)
    link.advance(200.0)
    times = a.times_of(Registered)
    # t=0, then every 20 s (REFRESH_AT_MOST_S, sooner than 75 % of 60): a PBX
    # restarted with a fresh database has the registration back that soon.
    assert len(times) == 10
    for earlier, later in itertools.pairwise(times):
        assert REFRESH_AT_MOST_S - 1 <= later - earlier <= REFRESH_AT_MOST_S + 1
    server_times = b.times_of(PeerRegistered)
    assert len(server_times) == 10
    for earlier, later in itertools.pairwise(server_times):
        assert later - earlier < 60.0  # the binding never lapsed
    assert all(e.expires == 60 for e in a.of_type(Registered))
    assert not a.of_type(RegistrationFailed)


def test_refresh_asked_below_minimum_is_raised_by_registrar() -> None:
    link = make_link()
    a = link["a"]
    register(link, refresh=10)
    link.run_until(lambda: a.count(Registered) == 1, 2.0)
    assert a.of_type(Registered)[0].expires == 60
    link.advance(18.0)
    assert a.count(Registered) == 1  # not after the 10 s asked (75 %: 7.5 s)
    link.advance(3.0)
    assert a.count(Registered) == 2  # after the 20 s cap on the granted 60 s


def test_unregister_sends_regrel() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    name = register(link)
    link.run_until(lambda: a.count(Registered) == 1, 2.0)
    mark = len(link.wire)
    a.endpoint.unregister(name, link.now)
    link.run_until(lambda: a.count(Unregistered) == 1 and b.count(PeerUnregistered) == 1, 2.0)
    after = [d.full for d in link.wire[mark:]]
    regrels = [f for f in after if f is not None and is_iax(f, IaxCommand.REGREL)]
    assert regrels, "no REGREL on the wire"
    assert regrels[-1].ies is not None and regrels[-1].ies.md5_result
    assert any(f is not None and is_iax(f, IaxCommand.REGACK) for f in after)
    assert a.of_type(Unregistered) == [Unregistered(name)]
    assert b.of_type(PeerUnregistered) == [PeerUnregistered("6001")]
    assert "6001" not in b.endpoint.bindings
    assert a.endpoint.registration_state(name) is RegState.IDLE
    # No more refreshes once unregistered.
    sent = len(link.sent("a", "b"))
    link.advance(200.0)
    assert len(link.sent("a", "b")) == sent
    assert a.count(Registered) == 1


def test_registrar_gone_is_noticed_by_the_keepalive_and_retried_on_a_short_backoff() -> None:
    """Before: noticed only at the 45 s refresh, then retried after 2, 4, 8 ... 60 s."""
    link = make_link()
    a = link["a"]
    name = register(link)
    link.run_until(lambda: a.count(Registered) == 1, 2.0)
    registered_at = link.now
    link.set_conditions("a", "b", BLACK_HOLE)
    # The POKE at 10 s goes unanswered through 5.75 s of retries (0.25 + 0.5 + 1 + 2 + 2):
    # lost, REGREQ at once (fails 5.75 s later), then backoff 1, 2 s.
    link.run_until(lambda: a.count(RegistrationFailed) == 4, 120.0)
    failures = a.of_type(RegistrationFailed)
    assert all("no answer" in f.reason and not f.auth_rejected for f in failures)
    assert "keepalive" in failures[0].reason
    assert a.times_of(RegistrationFailed)[0] - registered_at == pytest.approx(10.0 + 5.75, abs=0.1)
    assert a.endpoint.registration_state(name) is RegState.RETRY_WAIT
    starts = attempt_starts(link)[1:]  # attempts after the first success
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert gaps == pytest.approx([5.75 + 1, 5.75 + 2])
    assert starts[0] == pytest.approx(a.times_of(RegistrationFailed)[0])  # retried at once
    # Far into the outage the attempts are at most 8 s apart.
    link.run_until(lambda: a.count(RegistrationFailed) == 8, 120.0)
    starts = attempt_starts(link)[1:]
    assert starts[-1] - starts[-2] == pytest.approx(5.75 + 8.0)
    # The registrar comes back: registered again within the backoff cap plus a round trip.
    link.clear_conditions()
    back = link.now
    link.run_until(lambda: a.count(Registered) == 2, 30.0)
    assert link.now - back <= 8.0 + 5.75 + 0.5
    assert a.endpoint.registration_state(name) is RegState.REGISTERED
    # And refreshes and keepalives resume normally, the backoff reset.
    failed = a.count(RegistrationFailed)
    link.advance(30.0)
    assert a.count(Registered) == 3 and a.count(RegistrationFailed) == failed


def test_keepalive_checks_the_registrar_every_ten_seconds() -> None:
    """A POKE 10 s after each answer; every second check is the 20 s refresh's REGREQ."""
    link = make_link()
    a = link["a"]
    register(link)
    link.run_until(lambda: a.count(Registered) == 1, 2.0)
    registered_at = link.now
    link.advance(41.0)
    pokes = [d.sent_at - registered_at for d in link.sent("a", "b")
             if d.full is not None and is_iax(d.full, IaxCommand.POKE)]  # fmt: skip
    assert pokes == pytest.approx([10.0, 30.0], abs=0.2)  # 10 s after each answer
    assert a.times_of(Registered)[1:] == pytest.approx(
        [registered_at + 20.0, registered_at + 40.0], abs=0.2
    )
    assert not a.of_type(RegistrationFailed)


def test_regreq_retransmission_gives_up_exactly_at_the_limit() -> None:
    retry = RetryPolicy(initial=0.5, maximum=4, max_retries=4)
    link = make_link(a=EndpointConfig(formats=[Format.ULAW], retry=retry))
    a = link["a"]
    link.set_conditions("a", "b", BLACK_HOLE)
    t0 = link.now
    register(link)
    link.run_until(lambda: a.count(RegistrationFailed) == 1, 30.0)
    regreqs = link.sent("a", "b")
    assert len(regreqs) == 1 + retry.max_retries
    frames = [d.full for d in regreqs]
    assert all(f is not None and is_iax(f, IaxCommand.REGREQ) for f in frames)
    assert [f.retransmitted for f in frames if f is not None] == [False, True, True, True, True]
    assert [d.sent_at - t0 for d in regreqs] == pytest.approx([0.0, 0.5, 1.5, 3.5, 7.5])
    # Identical bytes apart from the R bit.
    assert len({(f.oseqno, f.timestamp) for f in frames if f is not None}) == 1
    # Given up after the last interval: 0.5 + 1 + 2 + 4 + 4.
    assert a.times_of(RegistrationFailed)[0] - t0 == pytest.approx(11.5)
    assert "no answer" in a.of_type(RegistrationFailed)[0].reason


def test_late_second_calltoken_does_not_wedge_registration() -> None:
    """A slow first CALLTOKEN crosses the retransmitted REGREQ's one."""
    link = make_link()
    a = link["a"]
    first_token = True

    def slow_first_token(d: Datagram) -> list[float] | None:
        nonlocal first_token
        f = d.full
        if f is not None and is_iax(f, IaxCommand.CALLTOKEN) and first_token:
            first_token = False
            return [0.285]  # arrives between REGAUTH (t+0.29) and REGACK (t+0.31)
        return None

    link.intercept = slow_first_token
    name = register(link)
    link.run_until(lambda: a.count(Registered) == 1, 30.0, strict=False)
    assert a.endpoint.registration_state(name) is RegState.REGISTERED
    assert a.count(Registered) == 1


def test_registrar_serves_two_users_from_two_phones() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    c = link.add("c", type(a.endpoint)(EndpointConfig(formats=[Format.ULAW])), ("10.0.0.3", 4569))
    a.endpoint.register(Account("6001", USERS["6001"], B_ADDR), link.now)
    c.endpoint.register(Account("6002", USERS["6002"], B_ADDR), link.now)
    link.run_until(lambda: a.count(Registered) == 1 and c.count(Registered) == 1, 2.0)
    assert {(e.username, e.address) for e in b.of_type(PeerRegistered)} == {
        ("6001", A_ADDR),
        ("6002", c.addr),
    }
    assert c.of_type(Registered)[0].apparent_address == c.addr


def test_unregistering_an_unknown_account_names_the_known_ones() -> None:
    link = make_link()
    name = register(link)
    with pytest.raises(ValueError, match=rf"no registration named '6001' \(registered: {name}\)"):
        link["a"].endpoint.unregister("6001", link.now)

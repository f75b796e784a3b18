"""The chat pane's model on the in-memory network: per-line conversations, sending, history."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from iaxphone.history import History
from iaxphone.linestate import LineState
from iaxphone.phone import LineText, Phone
from iaxphone.proto.events import TextReceived
from iaxphone.viewmodels.chat import ChatModel
from tests.memnet import MemoryNetwork, MiniPbx, memory_phone, run_virtual
from tests.proto_link import Conditions

LOSSY = Conditions(loss=0.03, delay=0.02, reorder=0.05)


async def until(phone: Phone, holds: Callable[[], bool], timeout: float = 10) -> None:
    async def wait() -> None:
        with phone.event_queue() as events:
            while not holds():
                await events.get()

    await asyncio.wait_for(wait(), timeout)


def test_a_conversation_per_line_sent_received_and_kept(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite3")
    long_text = "Lorem ipsum dolor sit amet, " * 40  # 1120 bytes: five TEXT frames

    async def main() -> None:
        network = MemoryNetwork(seed=5, conditions=LOSSY)
        async with MiniPbx(network) as pbx, memory_phone(network, history=history) as phone:
            chat = ChatModel(phone, clock=lambda _at: "12:00")
            changes: list[int] = []
            chat.on_change = lambda: changes.append(1)
            assert chat.view().title == "Chat: texts go with a call" and not chat.view().can_send
            first = await phone.dial("600")
            await phone.wait_line(first, LineState.TALKING)
            chat.show_line(first)
            assert chat.view().title == "Chat with 600" and chat.view().can_send
            far = pbx.answered[0]
            far.send_text("welcome ✓")
            await until(phone, lambda: len(chat.view().entries) == 1)
            (entry,) = chat.view().entries
            assert (entry.direction, entry.who, entry.text, entry.clock) == (
                "in",
                "600",
                "welcome ✓",
                "12:00",
            )
            assert chat.send("   ") is False and chat.view().message == ""
            assert chat.send(long_text) is True
            got = await far.next_event(TextReceived, timeout=10)
            assert got.text == long_text  # split, carried over a lossy link, rejoined
            assert [e.direction for e in chat.view().entries] == ["in", "out"]
            assert chat.send("x" * 5000) is False
            assert chat.view().message.startswith("text not sent: text too long")
            # A second call: texts on the line not shown count as unread.
            second = await phone.dial("601")
            await phone.wait_line(second, LineState.TALKING)
            pbx.answered[1].send_text("on the other line")
            await until(phone, lambda: chat.view().unread == 1)
            assert len(chat.view().entries) == 2  # still the first line's conversation
            chat.show_line(second)
            assert chat.view().unread == 0
            assert [e.text for e in chat.view().entries] == ["on the other line"]
            await phone.hangup(second)
            await phone.wait_line(second, LineState.ENDED)
            assert chat.view().title == "Chat (the call has ended)" and not chat.view().can_send
            assert chat.send("too late") is False
            assert chat.view().message == "no connected call to send a text on"
            chat.show_line(first)  # the ended line's conversation is let go
            assert second not in chat.conversations and first in chat.conversations
            await phone.hangup(first)
            await phone.wait_line(first, LineState.ENDED)
            assert changes
            chat.close()

    run_virtual(main)
    rows = {r.number: r.id for r in history.recent()}
    assert [(m.direction, m.text) for m in history.messages(rows["600"])] == [
        ("in", "welcome ✓"),
        ("out", long_text),
    ]
    assert [m.text for m in history.messages(rows["601"])] == ["on the other line"]
    history.close()


def test_text_events_name_the_line_and_direction(tmp_path: Path) -> None:
    async def main() -> None:
        network = MemoryNetwork(seed=2)
        async with MiniPbx(network) as pbx, memory_phone(network) as phone:
            line = await phone.dial("600")
            await phone.wait_line(line, LineState.TALKING)
            with phone.event_queue(LineText) as events:
                phone.send_text(line, "a\0b")  # a NUL would cut the text short at a bridge
                sent = await events.get()
                pbx.answered[0].send_text("c")
                received = await events.get()
            assert isinstance(sent, LineText) and isinstance(received, LineText)
            assert (sent.line_id, sent.direction, sent.text) == (line, "out", "ab")
            assert (received.line_id, received.direction, received.text) == (line, "in", "c")
            assert (await pbx.answered[0].next_event(TextReceived, 5)).text == "ab"

    run_virtual(main)

"""Re-record tests/golden/ami_office_transcript.txt from the bundled PBX.

Run with the PBX up: ``python -m tests.golden.record_ami_transcript``.  It logs
in as the console user, then 6003 calls 6004 (ringing, answered), 6004's
leg is parked and 6004 retrieves... 6003 holds and resumes, then in short, a receptionist's minute: every
event the console user receives is written verbatim, one blank line apart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from panoramisk import Manager
from panoramisk.message import Message

from tests.pbx import Pbx
from tests.phones import call_from, phone

OUT = Path(__file__).with_name("ami_office_transcript.txt")
KEPT = {
    "ExtensionStatus",
    "PresenceStateChange",
    "ParkedCall",
    "UnParkedCall",
    "Hangup",
    "Hold",
    "Unhold",
    "MessageWaiting",
}


async def main() -> None:
    pbx = Pbx()
    lines: list[str] = []

    def record(manager: Manager, message: Message) -> None:
        if message.get("Event") in KEPT:
            lines.append("\n".join(f"{k}: {v}" for k, v in message.items()) + "\n")

    manager = Manager(
        host=pbx.host, port=pbx.ami_port, username=pbx.ami_user, secret=pbx.ami_secret
    )
    manager.register_event("*", record)
    await manager.connect()
    await asyncio.sleep(0.5)
    async with phone(pbx, 6003) as alice, phone(pbx, 6004) as bob:
        manager.send_action(
            {
                "Action": "Setvar",
                "Variable": "PRESENCE_STATE(CustomPresence:6005)",
                "Value": "dnd,,",
            }
        )
        call = await call_from(alice, pbx, 6003, "6004")
        answered = await asyncio.wait_for(bob.incoming.get(), 5)
        answered.answer()
        await call.wait_answered(timeout=5)
        await asyncio.sleep(0.5)
        call.hold()
        await asyncio.sleep(0.5)
        call.unhold()
        await asyncio.sleep(0.5)
        channels = await manager.send_action({"Action": "CoreShowChannels"})
        alices = [m for m in channels if str(m.get("Channel", "")).startswith("IAX2/6003-")]
        await manager.send_action({"Action": "Park", "Channel": alices[0]["Channel"]})
        await asyncio.sleep(1.0)
        retriever = await call_from(bob, pbx, 6004, "701")
        await asyncio.sleep(1.0)
        await retriever.hangup()
        await asyncio.sleep(0.5)
        manager.send_action(
            {
                "Action": "Setvar",
                "Variable": "PRESENCE_STATE(CustomPresence:6005)",
                "Value": "available,,",
            }
        )
        await asyncio.sleep(0.5)
    manager.close()
    OUT.write_text("\n".join(lines))
    print(f"{len(lines)} events -> {OUT}")


if __name__ == "__main__":
    asyncio.run(main())

"""The bundled PBX answers: AMI login (pyst2) and the IAX2 peers it serves."""

from __future__ import annotations

import asterisk.config

from tests.pbx import PROJECT, Pbx, close_quietly, command_output

CONF = PROJECT / "asterisk-conf"


def test_admin_reads_iax2_peers_through_ami(pbx: Pbx) -> None:
    manager = pbx.ami(admin=True)
    try:
        output = command_output(manager.command("iax2 show peers"))
    finally:
        close_quietly(manager)
    names = {
        line.split()[0]
        for line in output.splitlines()[1:]
        if line.strip() and not line.endswith("]")
    }
    assert {str(n) for n in range(6001, 6011)} <= names
    assert "trunk1" in names
    configured = [
        c.name
        for c in asterisk.config.Config(str(CONF / "iax.conf")).categories
        if c.name != "general"
    ]
    assert f"{len(configured)} iax2 peers" in output
    assert set(configured) <= names


def test_console_user_may_not_run_cli_commands(pbx: Pbx) -> None:
    manager = pbx.ami(admin=False)
    try:
        reply = manager.command("core show version")
    finally:
        close_quietly(manager)
    assert reply.get_header("Response") == "Error"
    assert reply.get_header("Message") == "Permission denied"


def test_dialplan_and_modules_are_loaded(pbx: Pbx) -> None:
    hints = pbx.cli("core show hints")
    for ext in range(6001, 6011):
        assert f"{ext}@office" in hints
    assert "701@parkedcalls" in hints
    modules = pbx.cli("module show like chan_iax2")
    assert "Running" in modules
    assert "Echo()" in pbx.cli("dialplan show 600@office")

"""The bundled Asterisk configuration parses and is consistent with itself."""

from __future__ import annotations

import re
from pathlib import Path

import asterisk.config
import pytest

CONF = Path(__file__).resolve().parent.parent / "asterisk-conf"
DESK_PHONES = [str(n) for n in range(6001, 6011)]


def load(name: str) -> dict[str, dict[str, list[str]]]:
    """Parse one file with pyst2: {category: {key: [values...]}}."""
    parsed = asterisk.config.Config(str(CONF / name))
    out: dict[str, dict[str, list[str]]] = {}
    for category in parsed.categories:
        items = out.setdefault(category.name, {})
        for item in category.items:
            items.setdefault(item.name, []).append(item.value.strip())
    return out


@pytest.mark.parametrize("path", sorted(CONF.glob("*.conf")), ids=lambda p: p.name)
def test_every_file_parses(path: Path) -> None:
    parsed = asterisk.config.Config(str(path))
    assert parsed.categories or path.name == "acl.conf"


def test_desk_phones_are_md5_friends_with_calltokens_and_encryption() -> None:
    iax = load("iax.conf")
    for ext in DESK_PHONES:
        peer = iax[ext]
        assert peer["type"] == ["friend"], ext
        assert peer["host"] == ["dynamic"], ext
        assert peer["auth"] == ["md5"], ext
        assert peer["requirecalltoken"] == ["yes"], ext
        assert peer["encryption"] == ["yes"], ext
        assert peer["context"] == ["office"], ext
        assert set(peer["allow"][0].split(",")) == {"ulaw", "alaw", "g722", "gsm", "opus", "g729"}
    assert iax["general"]["jitterbuffer"] == ["no"]  # the phones de-jitter (latency benchmark)
    trunks = [name for name, items in iax.items() if items.get("trunk") == ["yes"]]
    assert trunks, "a trunk=yes peer is needed for the trunking tests"


def test_every_desk_phone_has_hint_mailbox_and_route() -> None:
    iax = load("iax.conf")
    office = load("extensions.conf")["office"]
    hints = {}
    for value in office["exten"]:
        exten, priority, rest = value.split(",", 2)
        if priority == "hint":
            hints[exten] = rest
    mailboxes = load("voicemail.conf")["office"]
    for ext in DESK_PHONES:
        assert hints[ext].startswith(f"IAX2/{ext}"), ext
        assert f"CustomPresence:{ext}" in hints[ext], ext
        assert ext in mailboxes, ext
        assert iax[ext]["mailbox"] == [f"{ext}@office"]
    patterns = [v.split(",", 1)[0] for v in office["exten"]]
    assert "_60XX" in patterns
    for service in ("600", "601", "602", "603", "800", "*97", "*78", "*79", "_*8XXXX", "_*9XXXX"):
        assert service in patterns, service


def test_services_use_the_applications_the_issue_names() -> None:
    text = (CONF / "extensions.conf").read_text()
    for app in (
        "Echo()",
        "Milliwatt()",
        "Playback(hello-world)",
        "ConfBridge(800",
        "VoiceMailMain(",
        "Pickup(",
    ):
        assert app in text, app
    assert re.search(r'PRESENCE_STATE\(CustomPresence:\$\{TARGET\},value\)\}" = "dnd"', text)
    assert "Busy(" in text


def test_parking_lot_matches_dialplan() -> None:
    lot = load("res_parking.conf")["default"]
    assert lot["parkext"] == ["700"]
    assert lot["parkpos"] == ["701-720"]
    assert "include" in load("extensions.conf")["office"]
    assert load("extensions.conf")["office"]["include"] == [lot["context"][0]]


def test_ami_users_exist_with_least_privilege_console() -> None:
    manager = load("manager.conf")
    assert manager["general"]["enabled"] == ["yes"]
    console, admin = manager["console"], manager["admin"]
    console_rights = set(console["write"][0].split(","))
    assert "command" not in console_rights and "all" not in console_rights
    assert "system" not in console_rights and "config" not in console_rights
    assert {"call", "originate"} <= console_rights
    assert admin["write"] == ["all"]
    for user in (console, admin):
        assert user["deny"] == ["0.0.0.0/0.0.0.0"]
        assert any(p.startswith("127.0.0.0") for p in user["permit"])


def test_modules_loaded_exist_in_the_debian_package_list() -> None:
    modules = load("modules.conf")["modules"]
    assert modules["autoload"] == ["no"]
    required = set(modules.get("require", []))
    assert {"chan_iax2.so", "pbx_config.so", "res_parking.so", "app_confbridge.so"} <= required


def _dialplan(context: str) -> dict[str, list[str]]:
    """{extension: [its priorities' applications in order]} of one context."""
    parsed = asterisk.config.Config(str(CONF / "extensions.conf"))
    (category,) = [c for c in parsed.categories if c.name == context]
    out: dict[str, list[str]] = {}
    last = ""
    for item in category.items:
        if item.name == "exten":
            last, priority, app = item.value.strip().split(",", 2)
            if priority == "hint":
                continue
        elif item.name == "same":
            app = item.value.strip().split(",", 1)[1]
        else:
            continue
        out.setdefault(last, []).append(app.strip())
    return out


def _hints() -> dict[str, str]:
    hints = {}
    for value in load("extensions.conf")["office"]["exten"]:
        exten, priority, rest = value.split(",", 2)
        if priority == "hint":
            hints[exten] = rest
    return hints


def test_queues_have_desk_phones_as_members_and_a_dialplan_entry() -> None:
    queues = load("queues.conf")
    for name, number, members in (
        ("sales", "610", {"6001", "6002", "6003"}),
        ("support", "611", {"6004", "6005", "6006"}),
    ):
        queue = queues[name]
        interfaces = {m.split(",")[0] for m in queue["member"]}
        assert interfaces == {f"IAX2/{n}" for n in members}, name
        for member in queue["member"]:
            assert member.split(",")[2], f"{name}: every member has a name"
        assert queue["joinempty"] == ["yes"] and queue["leavewhenempty"] == ["no"]
        assert queue["servicelevel"] == ["30"]
        assert _hints()[number] == f"Queue:{name}_avail"
        text = (CONF / "extensions.conf").read_text()
        assert f"Queue({name}," in text
    assert "app_queue.so" in load("modules.conf")["modules"]["require"]


def test_conference_rooms_send_talk_detection_events() -> None:
    bridge = load("confbridge.conf")
    assert bridge["office_user"]["talk_detection_events"] == ["yes"]
    text = (CONF / "extensions.conf").read_text()
    for room in ("800", "801", "802"):
        assert f"ConfBridge({room},office_bridge,office_user)" in text
        assert _hints()[room] == f"confbridge:{room}"


def test_supervision_uses_chanspy_with_listen_whisper_and_barge_options() -> None:
    plan = _dialplan("supervision")
    spy = {mode: [a for a in apps if a.startswith("ChanSpy(")] for mode, apps in plan.items()}
    assert spy == {
        "listen": ["ChanSpy(${SPY_CHANNEL},qE)"],
        "whisper": ["ChanSpy(${SPY_CHANNEL},qwE)"],
        "barge": ["ChanSpy(${SPY_CHANNEL},qBE)"],
    }
    office = load("extensions.conf")["office"]
    assert "supervision" not in office.get("include", [])  # phones cannot dial it
    assert "app_chanspy.so" in load("modules.conf")["modules"]["require"]


def test_every_mailbox_has_a_full_name() -> None:
    for number, value in load("voicemail.conf")["office"].items():
        pin, name = value[0].split(",")[:2]
        assert pin.isdigit() and name.strip(), number


def test_operator_may_supervise_and_frontdesk_may_not() -> None:
    manager = load("manager.conf")
    operator = set(manager["operator"]["write"][0].split(","))
    frontdesk = set(manager["frontdesk"]["write"][0].split(","))
    assert {"call", "originate", "agent", "system"} <= operator
    assert "command" not in operator and "config" not in operator
    assert "call" in frontdesk
    assert not {"originate", "agent", "system", "command"} & frontdesk
    for name in ("operator", "frontdesk", "console"):
        assert "agent" in manager[name]["read"][0].split(","), name  # queue events
        assert manager[name]["deny"] == ["0.0.0.0/0.0.0.0"]

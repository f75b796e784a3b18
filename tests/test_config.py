"""The TOML configuration: accounts, audio, and mistakes named by line and key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from iaxphone import config
from iaxphone.wire.constants import Format

GOOD = """\
default_account = "office"

[accounts.office]
server = "127.0.0.1:4569"
user = "6001"
caller_name = "Alice Archer"
codecs = ["g722", "ulaw"]
frame_ms = 20
auto_answer = true

[accounts.home]
server = "pbx.example.com"
user = "6002"
secret = "in-the-file"

[audio]
output = "USB headset"
mute = "stop"

[ami]
server = "pbx.example.com:5039"
user = "console"
secret = "ami-in-the-file"
tls = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    office = cfg.account()
    assert office is not None and office.name == "office"
    assert office.codecs == (Format.G722, Format.ULAW)
    assert office.auto_answer and office.frame_ms == 20
    assert (
        cfg.account("home") is not None
        and cfg.audio.output == "USB headset"
        and cfg.audio.mute == "stop"
    )


def test_a_missing_file_is_an_empty_configuration(tmp_path: Path) -> None:
    cfg = config.load(tmp_path / "absent.toml")
    assert cfg.accounts == {} and cfg.account() is None


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            GOOD.replace('codecs = ["g722", "ulaw"]', 'codecs = ["g723", "ulaw"]'),
            "line 7: accounts.office.codecs: unknown codec 'g723'",
        ),
        (
            GOOD.replace("frame_ms = 20", "frame_ms = 25"),
            "line 8: accounts.office.frame_ms: must be 10, 20",
        ),
        (
            GOOD.replace("auto_answer = true", "auto_anwser = true"),
            "line 9: accounts.office.auto_anwser: unknown setting",
        ),
        (
            GOOD.replace('mute = "stop"', 'mute = "loud"'),
            'line 18: audio.mute: must be "silence" or "stop"',
        ),
        (
            GOOD.replace('default_account = "office"', 'default_account = "work"'),
            "line 1: default_account: no [accounts.work] section",
        ),
        (
            GOOD.replace('user = "6002"', "user = 6002"),
            "line 13: accounts.home.user: must be a str",
        ),
        (GOOD.replace("[audio]", "[audio"), "Expected ']'"),
        ("audio = 3\n", "line 1: audio: must be a table [audio]"),
        ('accounts = "6001"\n', "line 1: accounts: must be tables [accounts.NAME]"),
    ],
)
def test_mistakes_name_the_line_and_key(tmp_path: Path, broken: str, message: str) -> None:
    path = write(tmp_path, broken)
    with pytest.raises(config.ConfigError) as failure:
        config.load(path)
    assert str(path) in str(failure.value) and message in str(failure.value)
    assert "\n" not in str(failure.value)


def test_secret_order_command_line_then_environment_then_keyring_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = config.load(write(tmp_path, GOOD)).account("home")
    monkeypatch.delenv("IAXPHONE_SECRET", raising=False)
    monkeypatch.setattr(config, "keyring_secret", lambda name: None)
    assert config.resolve_secret(home) == "in-the-file"
    monkeypatch.setattr(config, "keyring_secret", lambda name: f"from-keyring-{name}")
    assert config.resolve_secret(home) == "from-keyring-home"
    monkeypatch.setenv("IAXPHONE_SECRET", "from-env")
    assert config.resolve_secret(home) == "from-env"
    assert config.resolve_secret(home, "given") == "given"


def test_the_ami_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ami = config.load(write(tmp_path, GOOD)).ami
    assert ami == config.AmiConfig(
        server="pbx.example.com:5039", user="console", secret="ami-in-the-file", tls=True
    )
    assert ami.context == "" and ami.cafile is None  # "": the context the PBX gives the phones
    assert ami.dnd == "auto"
    assert config.load(write(tmp_path, GOOD.split("[ami]", maxsplit=1)[0])).ami is None
    monkeypatch.delenv("IAXPHONE_AMI_SECRET", raising=False)
    monkeypatch.setattr(config, "keyring_secret", lambda name: None)
    assert config.resolve_ami_secret(ami) == "ami-in-the-file"
    monkeypatch.setattr(config, "keyring_secret", lambda name: f"from-keyring-{name}")
    assert config.resolve_ami_secret(ami) == "from-keyring-ami"
    monkeypatch.setenv("IAXPHONE_AMI_SECRET", "from-env")
    assert config.resolve_ami_secret(ami) == "from-env"
    assert config.resolve_ami_secret(ami, "given") == "given"
    broken = write(tmp_path, GOOD.replace("tls = true", 'tls = "yes"'))
    with pytest.raises(config.ConfigError, match=r"line 24: ami\.tls: must be a bool"):
        config.load(broken)


def test_no_keyring_on_a_headless_machine_is_not_an_error() -> None:
    assert config.keyring_secret("nobody-has-this-account") is None


def test_trunk_settings_and_their_bounds(tmp_path: Path) -> None:
    text = '[accounts.t]\nserver = "pbx"\nuser = "trunk1"\ntrunk = true\ntrunk_interval_ms = 30\ntrunk_timestamps = false\ntrunk_mtu = 600\n'
    account = config.load(write(tmp_path, text)).account()
    assert account is not None and account.trunk and account.trunk_interval_ms == 30
    assert not account.trunk_timestamps and account.trunk_mtu == 600
    with pytest.raises(
        config.ConfigError,
        match=r"line 5: accounts\.t\.trunk_interval_ms: must be between 10 and 1000",
    ):
        config.load(write(tmp_path, text.replace("= 30", "= 5")))


def test_a_secret_in_a_file_others_can_read_is_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, GOOD)  # holds two secrets
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="iaxphone.config"):
        config.load(path)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "holds a secret and others may read it (mode 0644): chmod 600" in line
    assert "in-the-file" not in line and "\n" not in line
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="iaxphone.config"):
        config.load(path)
    assert caplog.records == []


def test_a_readable_file_without_secrets_is_fine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        GOOD.replace('secret = "in-the-file"\n', "").replace('secret = "ami-in-the-file"\n', ""),
    )
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="iaxphone.config"):
        config.load(path)
    assert caplog.records == []


@pytest.mark.parametrize("mechanism", ["auto", "presence", "devstate", "astdb", "none"])
def test_the_ami_dnd_mechanism(tmp_path: Path, mechanism: str) -> None:
    text = f'[ami]\nserver = "127.0.0.1"\nuser = "console"\ndnd = "{mechanism}"\n'
    ami = config.load(write(tmp_path, text)).ami
    assert ami is not None and ami.dnd == mechanism


def test_an_unknown_dnd_mechanism_names_the_choices(tmp_path: Path) -> None:
    text = '[ami]\nserver = "127.0.0.1"\ndnd = "sip-notify"\n'
    with pytest.raises(config.ConfigError) as caught:
        config.load(write(tmp_path, text))
    assert "line 3: ami.dnd: unknown DND mechanism 'sip-notify'" in str(caught.value)
    assert "presence, devstate, astdb, none" in str(caught.value)

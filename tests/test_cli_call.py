"""The real ``iaxphone`` command against the bundled PBX: calls, statistics, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

from iaxphone.cli import exitcodes
from iaxphone.history import INTERRUPTED, History
from tests.pbx import Pbx, close_quietly

PBX_ADDRESS = f"127.0.0.1:{Pbx().iax_port}"
SERVER = ["--server", PBX_ADDRESS]


def iaxphone(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def account(number: int) -> list[str]:
    return ["--user", str(number), "--secret", f"iax{number}secret"]


def tone_wav(path: Path, frequency: float = 1000, seconds: float = 2.0, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (8000 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_call_the_echo_test_with_play_record_and_stats(pbx: Pbx, tmp_path: Path) -> None:
    played = tone_wav(tmp_path / "tone.wav", rate=16000)  # resampled to the codec's 8 kHz
    heard, stats = tmp_path / "heard.wav", tmp_path / "stats.json"
    result = iaxphone(
        "call", "600", *SERVER, *account(6001), "--codec", "alaw",
        "--play", str(played), "--record", str(heard), "--duration", "3", "--stats", str(stats),
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    data = json.loads(stats.read_text())
    assert data["codec"] == "alaw"
    assert data["hangup_cause_code"] == 16 and data["hung_up_by"] == "local"
    assert 0 < data["setup_ms"] < 1000
    assert data["packets_sent"] >= 140 and data["packets_received"] >= 130
    assert data["mos"] > 4.0
    with wave.open(str(heard)) as wav:
        assert wav.getframerate() == 8000
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    echoed = samples[8000:16000].astype(float)  # 1-2 s into the call: the tone, echoed
    spectrum = np.abs(np.fft.rfft(echoed * np.hanning(len(echoed))))
    assert abs(np.fft.rfftfreq(len(echoed), 1 / 8000)[int(np.argmax(spectrum))] - 1000) < 10


def test_iax_uri_and_dtmf(pbx: Pbx) -> None:
    result = iaxphone(
        "call", f"iax:6001@{PBX_ADDRESS}/600?office", "--secret", "iax6001secret", "--dtmf", "12,3",
        "--duration", "2",
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    assert "call ended after" in result.stderr


def test_register_prints_status_and_voicemail(pbx: Pbx) -> None:
    result = iaxphone("register", *SERVER, *account(6002))
    assert result.returncode == exitcodes.OK, result.stderr
    assert f"registered 6002 at {PBX_ADDRESS} for 60 s; voicemail: 0 new, 0 old" in result.stderr


def test_wrong_password_exits_3(pbx: Pbx) -> None:
    result = iaxphone("register", *SERVER, "--user", "6002", "--secret", "wrong")
    assert result.returncode == exitcodes.AUTH_REJECTED
    assert one_line_error(result) == (
        f"iaxphone: registration rejected by {PBX_ADDRESS}: "
        "Registration Refused (wrong username or password)"
    )
    result = iaxphone("call", "600", *SERVER, "--user", "6002", "--secret", "wrong")
    assert result.returncode == exitcodes.AUTH_REJECTED
    assert one_line_error(result) == (
        f"iaxphone: call to 600 at {PBX_ADDRESS} failed: wrong username or password"
        " (the PBX ignored our encrypted answer) (cause 50)"
    )
    # With -v the silent wait is explained while it lasts.
    result = iaxphone("call", "600", *SERVER, "--user", "6002", "--secret", "wrong", "-v")
    waiting, ended = [line for line in result.stderr.splitlines() if line.strip()]
    assert waiting.startswith(f"iaxphone: no answer yet from {PBX_ADDRESS}; still trying")
    assert ended == (
        f"iaxphone: call to 600 at {PBX_ADDRESS} failed: wrong username or password"
        " (the PBX ignored our encrypted answer) (cause 50)"
    )


def test_unknown_extension_exits_8(pbx: Pbx) -> None:
    result = iaxphone("call", "4242", *SERVER, *account(6003))
    assert result.returncode == exitcodes.NOT_FOUND
    assert one_line_error(result).endswith("No such context/extension (cause 3)")


def test_unanswered_call_exits_5(pbx: Pbx, tmp_path: Path) -> None:
    # 6004 is not registered: the dialplan rings nothing and sends the caller to voicemail...
    # so ring a registered phone that never answers instead (listen without --auto-answer),
    # with a short patience.
    callee = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "listen", *SERVER, *account(6004)],
        stderr=subprocess.PIPE,
        text=True,
        env=env_with(tmp_path),
    )
    try:
        assert callee.stderr is not None
        assert "registered 6004" in callee.stderr.readline()
        assert "listening as 6004" in callee.stderr.readline()
        result = iaxphone("call", "6004", *SERVER, *account(6003), "--answer-timeout", "2")
    finally:
        callee.terminate()
        callee.wait(timeout=10)
    assert result.returncode == exitcodes.NO_ANSWER
    assert one_line_error(result) == "iaxphone: call cancelled: no answer within 2 s"


def test_nobody_listening_exits_6() -> None:
    result = iaxphone("call", "600", "--server", "127.0.0.1:9", *account(6001), timeout=90)
    assert result.returncode == exitcodes.UNREACHABLE
    assert "no answer from 127.0.0.1:9" in one_line_error(result)


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    bad_wav = tmp_path / "bad.wav"
    bad_wav.write_bytes(b"RIFF....WAVEjunk")
    cases = [
        (["call", "iax:@@", *SERVER], "malformed iax: URI"),
        (["call", "600"], "needs --server"),
        (["call", "600", *SERVER, "--codec", "mp3"], "unknown codec 'mp3'"),
        (["call", "600", *SERVER, "--dtmf", "12x"], "--dtmf"),
        (["call", "600", *SERVER, "--play", str(tmp_path / "missing.wav")], "no such file"),
        (["call", "600", "--server", "127.0.0.1:99999"], "port must be a number"),
        (["call", "iax:bad_host!/600"], "malformed iax: URI"),
    ]
    for args, message in cases:
        result = iaxphone(*args)
        assert result.returncode == exitcodes.USAGE, (args, result.stderr)
        assert message in one_line_error(result), (args, result.stderr)
    result = iaxphone(
        "call", "600", *SERVER, *account(6001), "--play", str(bad_wav), "--duration", "1"
    )
    assert result.returncode == exitcodes.USAGE
    assert "not a PCM WAV file" in one_line_error(result)


def test_unresolvable_host_exits_6() -> None:
    result = iaxphone("call", "600", "--server", "no-such-host.invalid", *account(6001))
    assert result.returncode == exitcodes.UNREACHABLE
    assert one_line_error(result).startswith("iaxphone: cannot resolve 'no-such-host.invalid'")


def test_host_names_resolve_to_the_address_replies_come_from(pbx: Pbx) -> None:
    result = iaxphone(
        "call", "600", "--server", f"localhost:{pbx.iax_port}", *account(6001), "--duration", "1"
    )
    assert result.returncode == exitcodes.OK, result.stderr


def env_with(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("IAXPHONE_SECRET", None)
    env.update(
        {
            "IAXPHONE_DATA_DIR": str(tmp_path / "data"),
            "IAXPHONE_CONFIG": os.devnull,
        }
    )
    env.update(extra)
    return env


def test_listen_and_call_between_two_processes(pbx: Pbx, tmp_path: Path) -> None:
    recorded, stats = tmp_path / "rec.wav", tmp_path / "listen.json"
    listener = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "listen", *SERVER, *account(6005), "--auto-answer",
         "--max-calls", "1", "--record", str(recorded), "--stats", str(stats)],
        stderr=subprocess.PIPE, text=True, env=env_with(tmp_path / "listener"),
    )  # fmt: skip
    try:
        assert listener.stderr is not None
        lines = []
        while not any("listening as 6005" in line for line in lines):
            line = listener.stderr.readline()
            assert line, f"listener exited: {lines}"
            lines.append(line)
        caller = subprocess.run(
            [sys.executable, "-m", "iaxphone.cli", "call", "6005", *SERVER, *account(6006),
             "--play", str(tone_wav(tmp_path / "tone.wav", 700, 3.0, 8000)), "--duration", "2.5"],
            capture_output=True, text=True, timeout=60, env=env_with(tmp_path / "caller"),
        )  # fmt: skip
        assert caller.returncode == exitcodes.OK, caller.stderr
        assert listener.wait(timeout=30) == exitcodes.OK
    finally:
        if listener.poll() is None:
            listener.kill()
    (call_stats,) = json.loads(stats.read_text())
    assert call_stats["caller"] == "6006" and call_stats["hung_up_by"] == "remote"
    with wave.open(str(recorded)) as wav:
        heard = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")[8000:16000].astype(
            float
        )
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(len(heard))))
    assert abs(np.fft.rfftfreq(len(heard), 1 / 8000)[int(np.argmax(spectrum))] - 700) < 10
    (incoming,) = History(tmp_path / "listener" / "data" / "history.sqlite3").recent()
    assert (incoming.direction, incoming.number, incoming.cause_code) == ("in", "6006", 16)


def test_an_account_from_the_config_file(pbx: Pbx, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[accounts.desk]\nserver = "{PBX_ADDRESS}"\nuser = "6007"\nsecret = "iax6007secret"\ncodecs = ["gsm"]\n'
    )
    stats = tmp_path / "s.json"
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", "--duration", "1", "--stats", str(stats)],
        capture_output=True, text=True, timeout=60, env=env_with(tmp_path, IAXPHONE_CONFIG=str(cfg)),
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    assert json.loads(stats.read_text())["codec"] == "gsm"
    cfg.write_text('[accounts.desk]\nserver = "127.0.0.1"\nusr = "6007"\n')
    broken = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "call", "600"],
        capture_output=True, text=True, timeout=60, env=env_with(tmp_path, IAXPHONE_CONFIG=str(cfg)),
    )  # fmt: skip
    assert broken.returncode == exitcodes.USAGE
    assert "line 3: accounts.desk.usr: unknown setting" in one_line_error(broken)


def answered_in_history(db: Path, timeout: float = 20.0) -> float | None:
    """When the call in a phone's history database was answered (None if not in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(db) as conn:
                row = conn.execute("SELECT answered FROM calls").fetchone()
                if row and row[0] is not None:
                    return float(row[0])
        time.sleep(0.05)  # polling the database for the answer, not standing in for it
    return None


def test_a_killed_phone_leaves_the_call_in_history(pbx: Pbx, tmp_path: Path) -> None:
    env = env_with(tmp_path)
    phone = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", *SERVER, *account(6008), "--duration", "60"],
        stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    db = tmp_path / "data" / "history.sqlite3"
    answered = answered_in_history(db)
    phone.kill()
    phone.wait(timeout=10)
    pbx.hang_up_calls_of(6008)  # the next tests should not meet the killed call's channel
    assert answered is not None, "the call was never answered"
    (record,) = History(db).recent()
    assert record.cause == INTERRUPTED and record.answered == answered and record.number == "600"


def test_ctrl_c_and_sigterm_hang_up_and_write_the_statistics(pbx: Pbx, tmp_path: Path) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        home = tmp_path / sig.name
        home.mkdir()
        stats = home / "stats.json"
        phone = subprocess.Popen(
            [sys.executable, "-m", "iaxphone.cli", "call", "600", *SERVER, *account(6008),
             "--duration", "60", "--stats", str(stats)],
            stderr=subprocess.PIPE, text=True, env=env_with(home),
        )  # fmt: skip
        answered = answered_in_history(home / "data" / "history.sqlite3")
        phone.send_signal(sig)
        _, stderr = phone.communicate(timeout=15)
        assert answered is not None, stderr
        assert phone.returncode == exitcodes.OK, stderr
        assert "we hung up" in stderr and "Traceback" not in stderr
        written = json.loads(stats.read_text())
        assert written["hung_up_by"] == "local" and written["packets_received"] > 0


def test_devices_and_a_call_without_a_sound_card_say_so_and_do_not_hang(
    pbx: Pbx, tmp_path: Path
) -> None:
    # No sound server for these processes: the ALSA pulse plugin finds no
    # server, so PortAudio sees only the machine's own cards.
    no_server = env_with(tmp_path, PULSE_SERVER=f"unix:{tmp_path / 'no-such-server'}")
    no_server.pop("PULSE_RUNTIME_PATH", None)
    cards = Path("/dev/snd").is_dir() and any(Path("/dev/snd").glob("pcmC*"))
    listed = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "devices"],
        capture_output=True, text=True, timeout=60, env=no_server,
    )  # fmt: skip
    assert listed.returncode == exitcodes.OK, listed.stderr
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", *SERVER, *account(6009), "--duration", "1"],
        capture_output=True, text=True, timeout=60, env=no_server,
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    silent = "iaxphone: no sound device found: sending silence, discarding what is heard"
    if cards:  # a machine with its own sound card: it is listed and used
        assert "no sound devices found" not in listed.stderr and listed.stdout.strip()
        assert silent not in result.stderr
    else:
        assert "no sound devices found" in listed.stderr, listed.stdout
        assert silent in result.stderr


def test_calling_a_phone_in_dnd_exits_4_busy(pbx: Pbx) -> None:
    manager = pbx.ami()
    try:
        manager.send_action(
            {
                "Action": "Setvar",
                "Variable": "PRESENCE_STATE(CustomPresence:6010)",
                "Value": "dnd,,",
            }
        )
        result = iaxphone("call", "6010", *SERVER, *account(6009))
    finally:
        manager.send_action(
            {
                "Action": "Setvar",
                "Variable": "PRESENCE_STATE(CustomPresence:6010)",
                "Value": "available,,",
            }
        )
        close_quietly(manager)
    assert result.returncode == exitcodes.BUSY, result.stderr
    assert one_line_error(result).endswith("busy (cause 17)")


def test_required_encryption_refused_exits_7(pbx: Pbx) -> None:
    result = iaxphone("call", "600", *SERVER, *account(6091), "--encrypt")
    assert result.returncode == exitcodes.ENCRYPTION_REFUSED
    assert "encryption required but the far end would not encrypt" in one_line_error(result)


def test_encrypted_call_reports_it_in_the_statistics(pbx: Pbx, tmp_path: Path) -> None:
    stats = tmp_path / "s.json"
    result = iaxphone(
        "call",
        "600",
        *SERVER,
        *account(6090),
        "--encrypt",
        "--duration",
        "1",
        "--stats",
        str(stats),
    )
    assert result.returncode == exitcodes.OK, result.stderr
    data = json.loads(stats.read_text())
    assert data["encrypted"] is True and data["packets_received"] > 30

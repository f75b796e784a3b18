"""A real sound server for the tests: PulseAudio with null sinks, paced in real time.

The server runs in per-user mode with its own runtime and home folders
under the test session's temp dir (never the user's own server); the
``sound_server`` fixture (tests/conftest.py) starts it once per session.
PortAudio reaches it through ALSA's pulse plugin (libasound2-plugins):
PortAudio's "pulse" ALSA device plays to the server's default sink and
records from its default source, so a test chooses its devices with
``set-default-sink`` / ``set-default-source``.  A null sink's monitor source
gives back what was played to it, in real time: a speaker-to-microphone
path with real device buffers in it.

``PULSE_SERVER`` points this process (and its children) at the server;
PortAudio is re-initialised so that it enumerates the ALSA pulse device.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iaxphone.media import devices

DEVICE = "pulse"  # PortAudio's name for the ALSA pulse plugin's PCM
START_TIMEOUT = 10.0

CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=speaker rate=48000 channels=1 \
sink_properties=device.description=speaker
load-module module-null-sink sink_name=microphone rate=48000 channels=1 \
sink_properties=device.description=microphone
set-default-sink speaker
set-default-source microphone.monitor
"""


class SoundServerError(RuntimeError):
    pass


def have_pulseaudio() -> bool:
    return shutil.which("pulseaudio") is not None and shutil.which("pactl") is not None


class SoundServer:
    """One PulseAudio daemon of the test session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "runtime" / "native"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "pulseaudio.log"

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PULSE_SERVER": self.server,
            "HOME": str(self.folder / "home"),
            "XDG_RUNTIME_DIR": str(self.folder / "runtime"),
            "PULSE_RUNTIME_PATH": str(self.folder / "runtime"),
        }

    def start(self) -> None:
        if not have_pulseaudio():
            raise SoundServerError("pulseaudio or pactl is not installed")
        for sub in ("runtime", "home"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "runtime").chmod(0o700)
        script = self.folder / "default.pa"
        script.write_text(CONFIG.format(socket=self.socket))
        env = self.env()
        env.pop("DISPLAY", None)
        env["DBUS_SESSION_BUS_ADDRESS"] = "disabled:"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
                 "--use-pid-file=false", "--log-target=stderr", "--realtime=false", "--disable-shm=yes", "--enable-memfd=no"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SoundServerError(f"pulseaudio exited: {self._tail()}")
            if self.socket.exists() and self.pactl("info", check=False).returncode == 0:
                break
            time.sleep(0.05)  # polling a daemon's start-up, not synchronising a test
        else:
            self.stop()
            raise SoundServerError(f"pulseaudio did not answer in {START_TIMEOUT:g} s")
        os.environ["PULSE_SERVER"] = self.server
        reinitialise_portaudio()

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").strip().splitlines()
            errors = [line for line in lines if line.startswith("E:")]
            return (errors or lines or ["no output"])[-1]
        return "no output"

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10
        )
        if check and done.returncode != 0:
            raise SoundServerError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done

    def load_null_sink(self, name: str) -> int:
        """A new null sink (and its monitor source); returns the module index."""
        done = self.pactl(
            "load-module", "module-null-sink", f"sink_name={name}", "rate=48000", "channels=1",
            f"sink_properties=device.description={name}",
        )  # fmt: skip
        return int(done.stdout.strip())

    def unload(self, module: int) -> None:
        self.pactl("unload-module", str(module))

    def defaults(self, sink: str, source: str) -> None:
        self.pactl("set-default-sink", sink)
        self.pactl("set-default-source", source)

    def stop(self) -> None:
        os.environ.pop("PULSE_SERVER", None)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        reinitialise_portaudio()


def reinitialise_portaudio() -> Any:
    """Make PortAudio enumerate devices again (it does so only when it initialises)."""
    sd = devices.sd
    if sd is None:
        return None
    with contextlib.suppress(Exception):
        while getattr(sd, "_initialized", 0) > 0:
            sd._terminate()
    with contextlib.suppress(Exception):
        sd._initialize()
    return sd


def paced(frame_ms: int, seconds: float, step: Callable[[int], None]) -> None:
    """Call ``step(i)`` once per frame interval on absolute deadlines, for ``seconds``."""
    start = time.monotonic()
    for i in range(int(seconds * 1000 / frame_ms)):
        step(i)
        delay = start + (i + 1) * frame_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)

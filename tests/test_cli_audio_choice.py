"""Which sound card ``iaxphone call`` and ``listen`` open: the option, else ``[audio]`` in the config."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from iaxphone.cli import call as cli_call
from iaxphone.cli.listen import add_listen_parser
from iaxphone.config import AudioConfig
from iaxphone.media.virtual import NullSink, SilenceSource, WavSink


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, object]]:
    """The (input, output) each call to the device layer asked for."""
    asked: list[tuple[object, object]] = []

    def fake_open_audio(
        input: str | None, output: str | None, rate: int
    ) -> tuple[SilenceSource, NullSink, str]:
        asked.append((input, output))
        return SilenceSource(rate), NullSink(rate), ""

    monkeypatch.setattr(cli_call.devices, "open_audio", fake_open_audio)
    return asked


def arguments(**given: object) -> argparse.Namespace:
    return argparse.Namespace(
        **({"play": None, "record": None, "input": None, "output": None} | given)
    )


def test_the_configured_devices_are_opened(opened: list[tuple[object, object]]) -> None:
    cli_call.open_audio(arguments(), 8000, AudioConfig(input="USB Headset", output="2"))
    assert opened == [("USB Headset", "2")]


def test_default_means_the_system_default(opened: list[tuple[object, object]]) -> None:
    cli_call.open_audio(arguments(), 8000, AudioConfig())
    assert opened == [(None, None)]


def test_options_win_over_the_config(opened: list[tuple[object, object]]) -> None:
    configured = AudioConfig(input="USB Headset", output="USB Headset")
    cli_call.open_audio(arguments(input="Jabra", output="hw:1"), 8000, configured)
    assert opened == [("Jabra", "hw:1")]


def test_a_wav_file_replaces_the_device_on_its_side(
    opened: list[tuple[object, object]], tmp_path: Path
) -> None:
    _, sink = cli_call.open_audio(
        arguments(record=tmp_path / "heard.wav"), 8000, AudioConfig(input="mic", output="spk")
    )
    assert opened == [("mic", None)]
    assert isinstance(sink, WavSink)
    sink.close()


def test_both_options_are_offered_by_call_and_listen() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    cli_call.add_call_parser(commands)
    add_listen_parser(commands)
    for command in (["call", "600"], ["listen"]):
        args = parser.parse_args([*command, "--input", "mic", "--output", "spk"])
        assert (args.input, args.output) == ("mic", "spk")

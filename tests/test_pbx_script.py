"""docker/pbx: usage errors, consistency of the Docker and chroot paths, bad configs."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import socket
from pathlib import Path

import pytest

from benchmarks.asterisk_client import free_port
from tests.pbx import PROJECT, Pbx, run_pbx, sibling_instance

DOCKER = PROJECT / "docker"


def test_unknown_verb_prints_usage_and_exits_2() -> None:
    result = run_pbx("bogus")
    assert result.returncode == 2
    assert "usage: docker/pbx up | down | status" in result.stderr


def test_no_verb_is_a_usage_error() -> None:
    result = run_pbx()
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_bad_instance_name_is_a_usage_error() -> None:
    result = run_pbx("status", env={"IAXPHONE_PBX_INSTANCE": "../etc"})
    assert result.returncode == 2
    assert "IAXPHONE_PBX_INSTANCE" in result.stderr


def test_dockerfile_and_chroot_install_the_same_packages() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "FROM debian:sid" in dockerfile
    assert "COPY packages.txt" in dockerfile
    script = (DOCKER / "pbx").read_text()
    assert 'PACKAGES_FILE = HERE / "packages.txt"' in script
    packages = [
        line.strip()
        for line in (DOCKER / "packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert packages == ["asterisk", "asterisk-modules"]


def test_compose_mounts_the_same_conf_and_publishes_on_loopback() -> None:
    compose = (DOCKER / "compose.yaml").read_text()
    assert '"${IAXPHONE_PBX_CONF:-../asterisk-conf}:/etc/asterisk:ro"' in compose
    assert '"127.0.0.1:${IAXPHONE_PBX_IAX_PORT:-4569}:4569/udp"' in compose
    assert '"127.0.0.1:${IAXPHONE_PBX_AMI_PORT:-5038}:5038/tcp"' in compose
    cmd_line = next(
        line for line in (DOCKER / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    assert json.loads(cmd_line.removeprefix("CMD ")) == _pbx_globals()["ASTERISK_COMMAND"]


def _pbx_globals() -> dict[str, object]:
    return runpy.run_path(str(DOCKER / "pbx"), run_name="docker_pbx")


def test_up_reports_a_taken_port_and_its_owner(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        port = squatter.getsockname()[1]
        result = run_pbx(
            "up",
            env={
                "IAXPHONE_PBX_INSTANCE": sibling_instance("porttest"),
                "IAXPHONE_PBX_IAX_PORT": str(port),
                "IAXPHONE_PBX_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
                "IAXPHONE_PBX_AMI_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
                "IAXPHONE_PBX_ENGINE": "chroot",
            },
        )
    assert result.returncode == 1
    assert f"IAX2 port 127.0.0.1:{port}/udp is in use by" in result.stderr
    assert f"(pid {os.getpid()})" in result.stderr  # the owner is named: this test process


@pytest.mark.usefixtures("pbx")
def test_broken_config_fails_with_asterisks_own_error(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT / "asterisk-conf", conf)
    iax = conf / "iax.conf"
    iax.write_text(iax.read_text().replace("[general]", "[general", 1))
    env = {
        "IAXPHONE_PBX_INSTANCE": sibling_instance("broken"),
        "IAXPHONE_PBX_CONF": str(conf),
        "IAXPHONE_PBX_IAX_PORT": str(free_port(socket.SOCK_DGRAM)),
        "IAXPHONE_PBX_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
        "IAXPHONE_PBX_AMI_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
        "IAXPHONE_PBX_ENGINE": "chroot",
        "IAXPHONE_PBX_TIMEOUT": "60",
    }
    result = run_pbx("up", env=env, timeout=120)
    assert result.returncode == 1
    assert "ERROR[" in result.stderr
    assert "iax.conf" in result.stderr
    assert run_pbx("status", env=env).returncode == 3


def test_second_instance_runs_beside_the_first_and_down_leaves_nothing(pbx: Pbx) -> None:
    env = {
        "IAXPHONE_PBX_INSTANCE": sibling_instance("second"),
        "IAXPHONE_PBX_IAX_PORT": str(free_port(socket.SOCK_DGRAM)),
        "IAXPHONE_PBX_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
        "IAXPHONE_PBX_AMI_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
        "IAXPHONE_PBX_ENGINE": "chroot",
    }
    up = run_pbx("up", env=env)
    assert up.returncode == 0, up.stderr
    assert f"IAX2 127.0.0.1:{env['IAXPHONE_PBX_IAX_PORT']}/udp" in up.stdout
    pid = int(up.stdout.split("pid ")[1].split(")")[0])
    try:
        cli = run_pbx("cli", "core show version", env=env)
        assert cli.returncode == 0 and "Asterisk 22" in cli.stdout
    finally:
        down = run_pbx("down", env=env)
    assert down.returncode == 0
    assert not _running(pid), "down must stop the Asterisk that up started"
    assert run_pbx("status", env=env).returncode == 3
    # The session's PBX is untouched.
    assert "iax2 peers" in pbx.cli("iax2 show peers")


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may linger where pid 1 does not reap)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]

# iaxphone - the two commands of the README, and the pieces they are made of.
#
#   make demo   set up, start the bundled PBX, register 6001 and call the echo test
#   make test   set up, then ruff, mypy and the whole pytest suite (PBX included)
#
# Both install what they need on a fresh Debian-like machine: the system
# packages (apt, as root or through sudo) and a virtualenv in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: mmdebstrap builds the PBX root when there is no Docker
# engine; libportaudio2 backs sounddevice; tshark checks what goes on the
# wire; sox and espeak-ng make test tones and speech; the codec libraries
# (GSM, G.729, Opus) are loaded by the media engine; the libxcb/xkbcommon/EGL
# libraries are what Qt's xcb platform plugin needs to open the window on X11, and
# xvfb gives the tests a real X display for it; pulseaudio (with pactl from
# pulseaudio-utils) is the real sound server the device tests play through,
# reached from PortAudio by ALSA's pulse plugin (libasound2-plugins); dbus-daemon
# runs the private session bus the notification tests talk to; xdg-utils
# (xdg-desktop-menu, xdg-icon-resource, xdg-mime, xdg-open) installs the menu
# entry and the iax: link handler (iaxphone install-desktop) and tests them;
# desktop-file-utils' desktop-file-validate checks the entry it writes.
APT_PACKAGES := mmdebstrap libportaudio2 tshark sox espeak-ng libgsm1 libbcg729-0 libopus0 \
                iproute2 python3-venv \
                libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libegl1 xvfb \
                pulseaudio pulseaudio-utils libasound2-plugins dbus-daemon xdg-utils \
                desktop-file-utils

.PHONY: demo test lint pytest system venv pbx-up pbx-down bench clean

DEMO_WAV := $(VENV)/demo-speech.wav

demo: system venv $(DEMO_WAV)
	docker/pbx up
	$(BIN)/iaxphone call 600 --server 127.0.0.1 --user 6001 --secret iax6001secret --register \
	    --play $(DEMO_WAV) --record $(VENV)/demo-heard.wav --duration 12 --stats $(VENV)/demo-stats.json -v
	@echo "demo: what came back from the echo test is in $(VENV)/demo-heard.wav, statistics in $(VENV)/demo-stats.json"

$(DEMO_WAV):
	espeak-ng -w $@ "Hello from iaxphone. This is extension six thousand and one calling the echo test. \
	Everything I say should come back to me, through Asterisk, a moment later."

test: system venv
	$(BIN)/ruff check iaxphone tests benchmarks
	$(BIN)/ruff format --check iaxphone tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check iaxphone tests benchmarks
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

# Install missing Debian packages (apt-get update only when something is missing).
system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,gui,load]'
	touch $@

pbx-up:
	docker/pbx up

pbx-down:
	docker/pbx down

bench: system venv
	$(BIN)/pip install -q -e '.[dev,gui,load,bench]'
	docker/pbx up
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache test-output

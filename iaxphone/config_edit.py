"""Writing the settings dialogs' results into config.toml, keeping the user's file.

Theory of operation
-------------------
:mod:`iaxphone.config` reads the file with the standard library's
``tomllib``, which cannot write.  Here the file is parsed with tomlkit,
a style-preserving TOML library: the keys the dialogs own are set in the
parsed document and everything else (comments, other accounts, keys the
dialogs do not show, such as ``trunk``) is written back as it was.

Secrets never go into the file: the dialogs store them in the keyring
with :func:`iaxphone.config.save_account_secret`.

Every write is checked before it replaces the file: the new text is
written next to it, read back with :func:`iaxphone.config.load` (so a
dialog can never leave a file that iaxphone refuses to start with) and
only then renamed over the old one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from iaxphone.config import AccountConfig, AudioConfig, ConfigError, config_path, load
from iaxphone.media.codecs import codec_info


def _document(path: Path) -> tomlkit.TOMLDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _table(parent: Any, key: str, *, super_table: bool = False) -> Table:
    existing = parent.get(key)
    if isinstance(existing, Table):
        return existing
    table = tomlkit.table(is_super_table=super_table)
    parent[key] = table
    return parent[key]  # type: ignore[no-any-return]


def _write(path: Path, document: tomlkit.TOMLDocument) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
        load(temporary)  # refuse to write what iaxphone could not read back
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def save_account(
    account: AccountConfig,
    path: Path | None = None,
    *,
    make_default: bool = False,
    previous_name: str | None = None,
) -> Path:
    """Write the dialog's keys of ``[accounts.NAME]`` (renamed from ``previous_name``)."""
    path = path or config_path()
    document = _document(path)
    accounts = _table(document, "accounts", super_table=True)
    if previous_name and previous_name != account.name and previous_name in accounts:
        old = accounts[previous_name]
        del accounts[previous_name]
        accounts[account.name] = old
        if document.get("default_account") == previous_name:
            document["default_account"] = account.name
    new = account.name not in accounts
    table = _table(accounts, account.name)
    table["server"] = account.server
    table["user"] = account.user
    if account.caller_name:
        table["caller_name"] = account.caller_name
    elif "caller_name" in table:
        del table["caller_name"]
    if account.codecs:
        table["codecs"] = [codec_info(fmt).name for fmt in account.codecs]
    elif "codecs" in table:
        del table["codecs"]
    table["frame_ms"] = account.frame_ms
    table["auto_answer"] = account.auto_answer
    entries = list(account.accept_calls_from)
    table["accept_calls_from"] = entries[0] if len(entries) == 1 else entries
    table["intercom"] = account.intercom
    table["intercom_muted"] = account.intercom_muted
    table["echo_cancellation"] = account.echo_cancellation
    table["noise_suppression"] = account.noise_suppression
    table["gain_control"] = account.gain_control
    if new:
        table.add(tomlkit.nl())  # a blank line before whatever table follows
    if make_default or (len(accounts) == 1 and "default_account" not in document):
        _set_default(document, account.name)
    _write(path, document)
    return path


def _set_default(document: tomlkit.TOMLDocument, name: str) -> None:
    document["default_account"] = name  # tomlkit places a new top-level key before the tables


def save_audio(audio: AudioConfig, path: Path | None = None) -> Path:
    """Write the ``[audio]`` table's devices and mute mode."""
    path = path or config_path()
    document = _document(path)
    table = _table(document, "audio")
    table["input"] = audio.input
    table["output"] = audio.output
    table["ringing"] = audio.ringing
    table["mute"] = audio.mute
    _write(path, document)
    return path

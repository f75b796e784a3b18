"""The layer rules, checked on the source: what each layer may import, one base error."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import iaxphone
from iaxphone.errors import IaxphoneError

PACKAGE = Path(iaxphone.__file__).parent

# No event loop, sound card, GUI or clock below the application: ``now`` is a parameter.
FORBIDDEN = {
    "wire": {"asyncio", "sounddevice", "PyQt6", "qasync", "time"},
    "proto": {"asyncio", "sounddevice", "PyQt6", "qasync", "time"},
    "media": {"asyncio", "PyQt6", "qasync"},
}


def imported_modules(path: Path) -> set[str]:
    """Every top-level module a source file imports (at any depth of the file)."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files
    offences = {
        str(path.relative_to(PACKAGE)): sorted(imported_modules(path) & FORBIDDEN[layer])
        for path in files
    }
    assert {path: bad for path, bad in offences.items() if bad} == {}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import asyncio.tasks\n    from time import monotonic\n")
    assert imported_modules(sample) == {"asyncio", "time"}


def all_modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(iaxphone.__path__, prefix="iaxphone.")
    )


def test_every_exception_derives_from_the_package_base() -> None:
    found: dict[str, bool] = {}
    for name in all_modules():
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found[f"{name}.{attr}"] = issubclass(value, IaxphoneError)
    assert len(found) >= 23  # every module was imported and looked at
    assert [name for name, ok in found.items() if not ok] == []

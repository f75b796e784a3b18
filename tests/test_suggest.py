"""Suggestions while typing a number: ranking, de-duplication and what Enter dials."""

from __future__ import annotations

from iaxphone.viewmodels.suggest import (
    Suggestion,
    dial_choice,
    entries_from,
    is_diallable,
    suggest,
)

ENTRIES = entries_from(
    [("6001", "Alice Archer"), ("6002", "Bob Baker"), ("1600", ""), ("6010", "Sally Reception")],
    [("6001", "Old Name"), ("0123 456", "Al Plumber"), ("600", ""), ("", "nobody")],
)


def numbers(found: tuple[Suggestion, ...]) -> list[str]:
    return [entry.number for entry in found]


def test_number_prefix_first_then_inside_contacts_before_history() -> None:
    assert numbers(suggest(ENTRIES, "60")) == ["6001", "6002", "6010", "600", "1600"]
    assert numbers(suggest(ENTRIES, "160")) == ["1600"]
    assert numbers(suggest(ENTRIES, "0123-4")) == ["0123 456"]  # spaces and dashes ignored


def test_names_match_by_word_start_then_inside_ignoring_case() -> None:
    assert numbers(suggest(ENTRIES, "al")) == ["6001", "0123 456", "6010"]  # Sally: inside
    assert numbers(suggest(ENTRIES, "BAK")) == ["6002"]
    assert suggest(ENTRIES, "zz") == () and suggest(ENTRIES, "  ") == ()


def test_a_number_appears_once_with_the_contacts_name() -> None:
    found = suggest(ENTRIES, "6001")
    assert [(e.number, e.name, e.source) for e in found] == [("6001", "Alice Archer", "contact")]
    assert found[0].text == "6001  Alice Archer"
    assert len(suggest(ENTRIES * 3, "6", limit=4)) == 4


def test_enter_dials_the_pick_the_number_typed_or_the_top_match_for_a_name() -> None:
    shown = suggest(ENTRIES, "600")
    assert numbers(shown)[:2] == ["6001", "6002"]
    assert dial_choice("600", shown) == "600"  # digits typed: what was typed
    assert dial_choice("600", shown, picked=1) == "6002"  # chosen with the arrow keys
    assert dial_choice("alice", suggest(ENTRIES, "alice")) == "6001"  # a name: the top match
    assert dial_choice("nobody here", ()) == "nobody here"  # nothing matched: as typed
    assert dial_choice("iax:bob@pbx", suggest(ENTRIES, "iax:bob@pbx")) == "iax:bob@pbx"
    assert is_diallable("*97") and is_diallable("+44 20") and not is_diallable("bob")

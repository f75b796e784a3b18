"""The receiver report of PING and PONG: six RR IEs <-> one frozen value."""

from __future__ import annotations

import dataclasses

import pytest

from iaxphone.wire.ies import InformationElements
from iaxphone.wire.report import ReceiverReport

REPORT = ReceiverReport(
    jitter_ms=7, loss_percent=3, lost=5, packets=100, delay_ms=40, dropped=1, out_of_order=2
)


def test_round_trip_through_the_bytes_of_a_pong() -> None:
    ies = REPORT.to_ies()
    assert ies.rr_loss == (3 << 24) | 5  # percentage in the top byte, count below
    again = InformationElements.parse(bytes(ies))
    assert ReceiverReport.from_ies(again) == REPORT


def test_values_are_clamped_to_their_fields() -> None:
    huge = ReceiverReport(loss_percent=300, lost=1 << 25, delay_ms=70000, jitter_ms=-4)
    ies = huge.to_ies()
    assert ies.rr_loss == (255 << 24) | ((1 << 25) & 0xFFFFFF)
    assert ies.rr_delay == 0xFFFF and ies.rr_jitter == 0
    back = ReceiverReport.from_ies(InformationElements.parse(bytes(ies)))
    assert back is not None and back.loss_percent == 255 and back.delay_ms == 0xFFFF


def test_no_rr_ie_is_no_report_and_a_missing_one_counts_zero() -> None:
    assert ReceiverReport.from_ies(None) is None
    assert ReceiverReport.from_ies(InformationElements(username="6001")) is None
    partial = ReceiverReport.from_ies(InformationElements(rr_jitter=9, rr_pkts=50))
    assert partial == ReceiverReport(jitter_ms=9, packets=50)


def test_a_report_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        REPORT.lost = 0  # type: ignore[misc]

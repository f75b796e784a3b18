"""``iaxphone call -v``: the live status line reads the typed statistics."""

from __future__ import annotations

from iaxphone.cli.call import status_line
from iaxphone.media.stats import JitterBufferState, Level, Loss, MediaStats


def test_status_line_shows_levels_jitter_buffer_loss_and_mos() -> None:
    stats = MediaStats(
        codec="g722",
        loss=Loss(lost=3, percent=1.5),
        jitter_ms=4.25,
        jitter_buffer=JitterBufferState(target_ms=40.0, delay_ms=42.5),
        mos=4.21,
        mic=Level(-10.0, -18.3),
        speaker=Level(-12.0, -21.0),
    )
    assert status_line(stats, 75.9) == (
        "01:15 g722 mic  -18.3 dBFS  spk  -21.0 dBFS  "
        "jitter   4.2 ms  jb  42.5 ms  loss  1.5 %  MOS 4.21"
    )

"""Moved to :mod:`iaxphone.viewmodels.pbxlines` (Qt-free); kept so old imports work."""

from iaxphone.viewmodels.pbxlines import LineChannels, LineNotFoundError, line_channels

__all__ = ["LineChannels", "LineNotFoundError", "line_channels"]

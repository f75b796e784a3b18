"""Moved to :mod:`iaxphone.viewmodels.parking` (Qt-free); kept so old imports work."""

from iaxphone.viewmodels.parking import Parker, ParkError

__all__ = ["ParkError", "Parker"]

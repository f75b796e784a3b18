"""Moved to :mod:`iaxphone.viewmodels.transfer` (Qt-free); kept so old imports work."""

from iaxphone.viewmodels.transfer import Consultation, Transfers

__all__ = ["Consultation", "Transfers"]

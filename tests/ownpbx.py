"""The tests' PBX of their own: benchmarks/ownpbx.py's, which also knows its :class:`Pbx`."""

from __future__ import annotations

from benchmarks.ownpbx import OwnPbx as _OwnPbx
from tests.pbx import Pbx


class OwnPbx(_OwnPbx):
    """A further docker/pbx instance on free ports (see :mod:`benchmarks.ownpbx`)."""

    @property
    def pbx(self) -> Pbx:
        return Pbx(iax_port=self.iax_port, ami_port=self.ami_port, ami_tls_port=self.ami_tls_port)

"""A single-producer / single-consumer ring of int16 samples.

Pipeline position (see :mod:`iaxphone.media.devices`)::

    PortAudio callback thread --write--> [ring] --read--> asyncio pacer   (capture)
    asyncio pacer             --write--> [ring] --read--> PortAudio thread (playback)

Theory of operation
-------------------
The ring hands samples between exactly two threads without a lock: one
thread only ever calls :meth:`RingBuffer.write` (the producer), the other
only :meth:`~RingBuffer.read`, :meth:`~RingBuffer.read_into`,
:meth:`~RingBuffer.discard`, :meth:`~RingBuffer.trim` and
:meth:`~RingBuffer.drain` (the consumer).

Two ever-growing integer counters carry the state: ``_head`` (samples ever
written; only the producer assigns it) and ``_tail`` (samples ever consumed;
only the consumer assigns it).  A slot's position is the counter modulo the
capacity, so there is no "full versus empty" ambiguity and Python integers
never wrap.  The producer copies the samples into the free slots *first*
and publishes them by assigning ``_head`` *afterwards*; the consumer copies
out and then releases the slots by assigning ``_tail``.  Under CPython's
GIL an attribute assignment is atomic and the GIL hand-over orders the
numpy copy before the index store, so each side sees either the old or the
new index, never a torn one, and never a published slot that has not been
filled.  Each side reads the other's index at most once per call, so it
sees a conservative view (less data / less room than there may be by now),
which is always safe.  No lock is held while copying, and the PortAudio
callback can never wait for the event loop.  (A free-threaded CPython build
would need a lock around the two index updates; the interpreter this
project targets has the GIL.)

Full and empty
--------------
* Full: :meth:`write` *refuses* what does not fit (it keeps the oldest
  samples and drops the newest), returns how many it took, and counts the
  refused samples in ``overruns``.  Dropping the oldest instead would make
  the producer move the consumer's index, which needs a lock; the consumer
  bounds latency itself with :meth:`trim`.
* Empty: :meth:`read` pads with zeros and counts the padding in
  ``underruns``.

Each counter is written by one thread only: ``overruns`` by the producer,
``underruns`` and ``discarded`` by the consumer.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


class RingBuffer:
    """Fixed-capacity SPSC ring of int16 samples; see the module docstring."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"ring capacity must be positive, not {capacity}")
        self.capacity = capacity
        self._buffer: Samples = np.zeros(capacity, dtype=np.int16)
        self._head = 0  # samples ever written (producer assigns)
        self._tail = 0  # samples ever consumed (consumer assigns)
        self.overruns = 0  # samples refused because the ring was full (producer)
        self.overrun_events = 0
        self.underruns = 0  # zero samples padded because the ring ran dry (consumer)
        self.underrun_events = 0
        self.discarded = 0  # samples dropped by discard()/trim() (consumer)

    # ------------------------------------------------------------------ either side

    @property
    def available(self) -> int:
        """Samples ready to read (exact for the consumer, a lower bound for others)."""
        return self._head - self._tail

    @property
    def free(self) -> int:
        """Room for writing (exact for the producer, a lower bound for others)."""
        return self.capacity - (self._head - self._tail)

    @property
    def written(self) -> int:
        """Samples accepted since creation."""
        return self._head

    @property
    def consumed(self) -> int:
        """Samples read or discarded since creation (padding not included)."""
        return self._tail

    # ------------------------------------------------------------------ producer

    def write(self, samples: npt.ArrayLike) -> int:
        """Append samples; returns how many fit.  The rest are counted as overruns."""
        data = np.asarray(samples).reshape(-1)
        head = self._head
        room = self.capacity - (head - self._tail)
        count = min(len(data), room)
        if count < len(data):
            self.overruns += len(data) - count
            self.overrun_events += 1
        if count:
            start = head % self.capacity
            first = min(count, self.capacity - start)
            self._buffer[start : start + first] = data[:first]
            if count > first:
                self._buffer[: count - first] = data[first:count]
        self._head = head + count  # publish only after the copy
        return count

    # ------------------------------------------------------------------ consumer

    def read_into(self, out: Samples) -> int:
        """Fill ``out`` (1-D); returns how many real samples it got, zero-padding the rest."""
        wanted = len(out)
        tail = self._tail
        count = min(wanted, self._head - tail)
        if count:
            start = tail % self.capacity
            first = min(count, self.capacity - start)
            out[:first] = self._buffer[start : start + first]
            if count > first:
                out[first:count] = self._buffer[: count - first]
        if count < wanted:
            out[count:] = 0
            self.underruns += wanted - count
            self.underrun_events += 1
        self._tail = tail + count  # release only after the copy
        return count

    def read(self, count: int) -> Samples:
        """Take ``count`` samples, zero-padded (and counted as underruns) if short."""
        out: Samples = np.empty(count, dtype=np.int16)
        self.read_into(out)
        return out

    def discard(self, count: int) -> int:
        """Drop up to ``count`` of the oldest samples; returns how many went."""
        tail = self._tail
        count = max(0, min(count, self._head - tail))
        self.discarded += count
        self._tail = tail + count
        return count

    def trim(self, keep: int) -> int:
        """Drop the oldest samples so that at most ``keep`` remain; returns how many went."""
        return self.discard(self.available - keep)

    def drain(self) -> int:
        """Drop everything buffered; returns how many samples went."""
        return self.discard(self.available)

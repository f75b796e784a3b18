"""Media engine: codecs, jitter buffer, concealment, audio devices, statistics."""

"""iaxphone: an IAX2 softphone and operator console for Asterisk offices."""

__version__ = "0.1.0"

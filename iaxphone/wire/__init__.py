"""Stateless IAX2 wire format: bytes <-> frame and information-element objects."""

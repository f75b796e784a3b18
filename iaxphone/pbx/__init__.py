"""The Asterisk Manager Interface side: presence, parking, transfers (via panoramisk)."""

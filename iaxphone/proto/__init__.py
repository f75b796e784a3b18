"""Sans-IO IAX2 protocol: endpoint, calls, registration, reliability.

No clocks, sockets or asyncio here: `now` is always an argument.
"""

"""The only asyncio code: the UDP adapter and the async facade over the sans-IO endpoint."""

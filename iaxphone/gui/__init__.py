"""The desktop front end (PyQt6 + pyqtgraph on the asyncio loop through qasync)."""

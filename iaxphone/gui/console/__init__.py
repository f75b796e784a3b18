"""The operator console window (PyQt6) over the Qt-free console models."""

"""Qt-free models of what the windows show: the handset, transfers, park, PBX lines.

A model holds the state and the rules (which line is current, what the
display says, which keys act, the transfer and park flows) and runs the
phone's commands; a widget in :mod:`iaxphone.gui` draws it and forwards
input.  Nothing here imports Qt, so the models are tested on the in-memory
network without a display, and the operator console can share them.
"""

"""``iaxphone load``: call load for PBX admins, from one process to many machines.

:mod:`~iaxphone.load.scenario` (what to run), :mod:`~iaxphone.load.plan`
(which call when, where, as whom), :mod:`~iaxphone.load.engine` (a phone
placing calls), :mod:`~iaxphone.load.supervisor` and
:mod:`~iaxphone.load.worker` (processes), :mod:`~iaxphone.load.summary`
(figures, verdict, files); the Locust user class is in ``locust/``.
"""

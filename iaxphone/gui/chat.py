"""The chat pane: the current line's text messages, and a field to type one.

It draws :class:`~iaxphone.viewmodels.chat.ChatModel` (one conversation
per line, see there) whenever the model changes, and forwards what is
typed; Enter or *Send* sends.  Messages typed here sit on the right,
received ones (from the far end, or sent by the PBX) on the left, each with
who and when.  Colours come from the application's palette.
"""

from __future__ import annotations

import html

from PyQt6.QtGui import QPalette
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from iaxphone.phone import Phone
from iaxphone.viewmodels.chat import ChatEntry, ChatModel

from .icons import icon


class ChatPane(QWidget):
    def __init__(self, phone: Phone, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ChatModel(phone)
        self.title = QLabel()
        self.title.setAccessibleName("chat title")
        self.transcript = QTextBrowser()
        self.transcript.setAccessibleName("chat messages")
        self.transcript.setOpenLinks(False)
        self.transcript.setMinimumHeight(150)
        self.field = QLineEdit()
        self.field.setPlaceholderText("type a text message")
        self.field.setAccessibleName("chat text")
        self.field.returnPressed.connect(self.send)
        self.send_button = QPushButton(icon("send"), "Sen&d")
        self.send_button.setToolTip("send the text to the current call (Enter)")
        self.send_button.clicked.connect(self.send)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("chat message")
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.model.on_change = self.draw
        self.destroyed.connect(self.model.close)  # no drawing on deleted widgets
        self._drawn: tuple[int | None, int] = (None, -1)
        self.draw()

    def show_line(self, line_id: int | None) -> None:
        self.model.show_line(line_id)

    def send(self) -> None:
        if self.model.send(self.field.text()):
            self.field.clear()

    def draw(self) -> None:
        view = self.model.view()
        unread = f"  ·  {view.unread} unread on other lines" if view.unread else ""
        self.title.setText(f"<b>{html.escape(view.title)}</b>{unread}")
        self.field.setEnabled(view.can_send)
        self.send_button.setEnabled(view.can_send)
        self.message.setText(view.message)
        self.message.setVisible(bool(view.message))
        drawn = (view.line_id, len(view.entries))
        if drawn != self._drawn:
            self._drawn = drawn
            self.transcript.setHtml("".join(self._entry(e) for e in view.entries))
            bar = self.transcript.verticalScrollBar()
            if bar is not None:
                bar.setValue(bar.maximum())

    def _entry(self, entry: ChatEntry) -> str:
        palette = self.palette()
        mine = entry.direction == "out"
        role = QPalette.ColorRole.Highlight if mine else QPalette.ColorRole.AlternateBase
        text_role = QPalette.ColorRole.HighlightedText if mine else QPalette.ColorRole.Text
        background = palette.color(role).name()
        colour = palette.color(text_role).name()
        muted = palette.color(QPalette.ColorRole.PlaceholderText).name()
        align = "right" if mine else "left"
        body = "<br>".join(html.escape(line) for line in entry.text.splitlines())
        return (
            f'<table width="100%" cellspacing="2"><tr><td align="{align}">'
            f'<span style="color:{muted}; font-size:small">'
            f"{html.escape(entry.who)} · {entry.clock}</span><br>"
            f'<span style="background-color:{background}; color:{colour}">&nbsp;{body}&nbsp;</span>'
            "</td></tr></table>"
        )


__all__ = ["ChatPane"]

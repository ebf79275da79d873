"""Digests wrapped as subscribers receive them, built with the standard library."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

FOOTER = (
    "\n-- \nYou received this message because you are subscribed to the Google Groups "
    '"TMLR Announcements" group.\nTo unsubscribe from this group and stop receiving emails from it, '
    "send an email to tmlr-announce+unsubscribe@googlegroups.com.\n"
)


def digest_part(web_copy: str) -> tuple[str, str]:
    """(subject, body) of the e-mail behind a Google Groups web copy: no page lines, no title line."""
    lines = web_copy.split("\n")
    subject = lines[0]
    start = next(i for i in range(len(lines) - 1) if lines[i + 1].startswith("====")) - 1
    end = max(i for i, line in enumerate(lines) if line == "Reply all")
    return subject, "\n".join(lines[start:end]).strip("\n") + "\n"


def as_html(text: str) -> str:
    paragraphs = text.split("\n\n")
    body = "".join("<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>\n" for p in paragraphs)
    return f"<html><head><style>p {{ margin: 0 }}</style></head><body>{body}</body></html>"


def message(
    body: str,
    subject: str,
    *,
    cte: str = "quoted-printable",
    charset: str = "utf-8",
    kind: str = "plain",
    message_id: str = "<digest-1@googlegroups.com>",
    sent: datetime = datetime(2023, 4, 30, 0, 0, 18, tzinfo=UTC),
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "TMLR <tmlr-announce@googlegroups.com>"
    msg["To"] = "tmlr-announce@googlegroups.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = message_id
    text = body + FOOTER
    if kind == "plain":
        msg.set_content(text, charset=charset, cte=cte)
    elif kind == "html":
        msg.set_content(as_html(text), subtype="html", charset=charset, cte=cte)
    else:  # multipart/alternative, the plain part first as mailers send it
        msg.set_content(text, charset=charset, cte=cte)
        # A changed title in the HTML part: a test fails if it is ever read instead of the text part.
        msg.add_alternative(as_html(text.replace("Title: Group Fairness", "Title: HTML Fairness")), subtype="html")
    return msg


def other_mail(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "colleague@example.org"
    msg["Subject"] = f"Lunch on Thursday? ({n})"
    msg["Message-ID"] = f"<other-{n}@example.org>"
    msg.set_content("Shall we meet at noon?\n")
    return msg

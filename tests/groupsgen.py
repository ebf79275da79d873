"""Google Groups wrapper e-mails ("Digest for …", "Abridged summary of …"), CONSTRUCTED, not captured.

Built from the public layout (NOTES.md; a 2012 abridged summary in envelopeapp/envelope,
spec/support/emails/google_group_summary.eml): a ruled "Today's Topic Summary" banner,
`Group:` / `Url:`, the topic list, then per topic a ruled `Topic:` / `Url:` header and per
message a `---------- 1 of 2 ----------` line with `From:` / `Date:` / `Url:` and the body.
The HTML part carries the `digest_top` and `group_thread_N` anchors.
"""

from __future__ import annotations

import email.policy
import html
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

RULE = "=" * 77
GROUP = "tmlr-announce-weekly@googlegroups.com"


@dataclass(frozen=True)
class Post:
    topic: str  # the Subject of the message inside
    body: str
    sender: str = "TMLR <tmlr-announce-weekly@googlegroups.com>"
    when: str = "Apr 30 12:00AM"


def wrapper(posts: list[Post], sent: datetime, abridged: bool = False, group: str = GROUP) -> EmailMessage:
    topics: dict[str, list[Post]] = {}
    for p in posts:
        topics.setdefault(p.topic, []).append(p)
    name = group.split("@")[0]
    thread = {t: f"https://groups.google.com/g/{name}/t/{i:08x}" for i, t in enumerate(topics)}
    text = [RULE, "Today's Topic Summary", RULE, "", f"Group: {group}", f"Url: https://groups.google.com/g/{name}", ""]
    for t, ps in topics.items():
        text += [f"  - {t} [{len(ps)} Update{'s' if len(ps) > 1 else ''}]", f"    {thread[t]}"]
    text += ["", ""]
    markup = [f'<div><a name="digest_top">Today\'s Topic Summary</a></div><p>Group: {group}</p><ul>']
    markup += [f'<li><a href="#group_thread_{i}">{html.escape(t)}</a></li>' for i, t in enumerate(topics)]
    markup.append("</ul>")
    for i, (t, ps) in enumerate(topics.items()):
        text += [RULE, f"Topic: {t}", f"Url: {thread[t]}", RULE, ""]
        markup.append(f'<a name="group_thread_{i}"></a><div><a href="{thread[t]}">{html.escape(t)}</a></div><ul>')
        for n, p in enumerate(ps, 1):
            url = f"{thread[t]}/m/{n}"
            text += [
                f"---------- {n} of {len(ps)} ----------",
                f"From: {p.sender}",
                f"Date: {p.when}",
                f"Url: {url}",
                "",
            ]
            text += [p.body.rstrip("\n"), "", ""]
            lines = "<br />\n".join(html.escape(line) for line in p.body.split("\n"))
            more = f' <a href="{url}">...more</a>' if abridged else ""
            markup.append(f"<div><span>{html.escape(p.sender)}</span> {p.when}<br /><br />{lines}{more}</div>")
        markup.append("</ul>")
    footer = (
        f"\n-- \nYou received this digest because you're subscribed to updates for this group. "
        f"To unsubscribe, send an email to {name}+unsubscribe@googlegroups.com.\n"
    )
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=120))  # Google folds later than 78
    msg["From"] = group
    msg["To"] = f"{'Abridged' if abridged else 'Digest'} Recipients <{group}>"
    kind = "Abridged summary of" if abridged else "Digest for"
    count = sum(len(ps) for ps in topics.values())
    msg["Subject"] = f"{kind} {group} - {count} updates in {len(topics)} topics"
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = f"<wrapper-{sent:%Y%m%d}-{int(abridged)}@google.com>"
    msg.set_content("\n".join(text) + footer, cte="quoted-printable")
    msg.add_alternative("".join(markup) + html.escape(footer).replace("\n", "<br />\n"), subtype="html")
    return msg

"""Command line: argument parsing, messages and exit codes over the library. Nothing more.

Exit status: 0 success, 1 bad input or state (one line per problem on stderr),
2 wrong usage (argparse's own convention).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from digest2feed import __version__

UPDATE_RULES = """\
what is read:
  A file or message named as INPUT that holds no TMLR digest is an error (exit 1).
  On standard input (-), an e-mail that holds no digest (a reply, a welcome
  message) is skipped with a warning, exit 0, so a mail filter never bounces list
  traffic; text that is neither an e-mail nor a digest is an error. An INPUT that
  holds no digest at all (an empty folder, a mailbox of other mail) is warned about.

exit status: 0 success, 1 bad input, state or settings file, 2 wrong usage
(including a bad flag value). A failed run changes no output file.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digest2feed", description="Turn TMLR mailing-list digests into Atom, RSS and JSON feeds."
    )
    p.add_argument("--version", action="version", version=f"digest2feed {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    _update_parser(sub)
    pa = sub.add_parser("parse", help="show what the parser finds in digests")
    pa.add_argument("inputs", nargs="+", metavar="INPUT")
    pa.add_argument("-c", "--config", metavar="CONFIG", type=Path, help="settings file, for [imap] (IMAP inputs)")
    pa.add_argument("--json", action="store_true", help="print one JSON document")

    fe = sub.add_parser("feeds", help="list every feed with its entry count and newest titles (reads only the state)")
    _folder_flags(fe)
    fe.add_argument("--json", action="store_true", help="print one JSON document")
    pi = sub.add_parser(
        "ping",
        help="tell the WebSub hubs about the feeds still owed a ping (after `update --no-ping` and publishing)",
    )
    _folder_flags(pi)
    pi.add_argument("--base-url", metavar="URL", help="where the output folder is served, for self links")
    _hub_flags(pi)
    _loudness(pi)
    for command in sub.choices.values():  # a usage error shows the usage of the command it is about
        command.set_defaults(usage_error=command.error)
    return p


def _update_parser(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser(
        "update",
        help="merge digests into the feeds in the output folder (the cron job)",
        description="Merge digests into the feeds in the output folder.",
        epilog=UPDATE_RULES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="digest text, saved page, .eml, mbox, Maildir, folder, imaps://USER@HOST/FOLDER, or - for stdin; "
        "none: the inputs setting, or, without one, regenerate every output from the state "
        "(refused, exit 1, when DIR holds no atom.xml yet)",
    )
    up.add_argument(
        "--regenerate",
        action="store_true",
        help="read no input (not even the inputs setting): regenerate every output from the state "
        "(refused, exit 1, when DIR holds no atom.xml yet)",
    )
    _folder_flags(up)
    up.add_argument("--base-url", metavar="URL", help="where the output folder is served, for self links")
    up.add_argument("--max-entries", metavar="N", help="entries in each subscription feed (default: 500)")
    _hub_flags(up)
    up.add_argument(
        "--no-ping",
        action="store_true",
        help="tell no hub yet: remember the changed feeds for `digest2feed ping`, run once they are served",
    )
    _loudness(up)


def _folder_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="DIR", help="output folder (default: output/)")
    p.add_argument(
        "-c", "--config", metavar="CONFIG", type=Path, help="settings file (default: ./digest2feed.toml if present)"
    )


def _hub_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hub",
        metavar="URL",
        action="append",
        help="a WebSub hub every feed names and that is pinged when a feed changes (repeat for several)",
    )


def _loudness(p: argparse.ArgumentParser) -> None:
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true", help="print a summary")
    loud.add_argument("-q", "--quiet", action="store_true", help="print no warnings, only errors")


def run() -> int:
    """The process's entry point (console script and ``python -m``): ``main`` plus one
    process-wide choice. The cyclic collector stays off: a run makes no cycles, and once
    ``update`` turned it back on, its first pass and the one at exit only walked the run's
    objects (half a second of a 50,000-paper backfill)."""
    gc.disable()
    return main()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "update" and args.regenerate and args.inputs:
        args.usage_error("--regenerate reads no input: give INPUTs or --regenerate, not both")
    try:
        return {"parse": _parse, "update": _update, "feeds": _feeds, "ping": _ping}[args.command](args)
    except BrokenPipeError:  # `digest2feed parse ... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


# A name may hold a line break or a terminal escape (a file called "x\n" or "\x1b[2J"): shown
# escaped, so one problem is always one line and a terminal is never driven by an input.
CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}
CONTROLS |= {0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _err(line: object) -> None:
    print(f"digest2feed: {str(line).translate(CONTROLS)}", file=sys.stderr)


def _parse(args: argparse.Namespace) -> int:
    from digest2feed.imapurl import is_imap
    from digest2feed.pipeline import parse
    from digest2feed.settings import SettingsError, load_imap

    try:
        options = load_imap(args.config) if any(map(is_imap, args.inputs)) else None
    except SettingsError as e:
        for line in e.lines:
            _err(line)
        return 1
    loaded = parse(args.inputs, sys.stdin.buffer, options)
    for w in loaded.warnings:
        _err(f"warning: {w}")
    for e in loaded.errors:
        _err(e)
    if args.json:
        print(json.dumps({"digests": [_digest_json(d) for d in loaded.digests]}, ensure_ascii=False, indent=2))
    else:
        for d in loaded.digests:
            print(f"{d.source}: {d.kind} digest of {d.date:%Y-%m-%d}, {len(d.papers)} papers")
            for p in d.papers:
                certs = f" ({', '.join(p.certifications)})" if p.certifications else ""
                print(f"  {p.forum_id}  {p.status.slug:<9}  {p.title}{certs}")
    return 1 if loaded.errors else 0


def _digest_json(d) -> dict:
    return {
        "source": d.source,
        "date": f"{d.date:%Y-%m-%d}",
        "kind": d.kind,
        "papers": [
            {
                "id": p.forum_id,
                "title": p.title,
                "authors": list(p.authors),
                "abstract": p.abstract,
                "url": p.url,
                "status": p.status.slug,
                "certifications": list(p.certifications),
            }
            for p in d.papers
        ],
    }


class _Bar:
    """One self-erasing status line on stderr, and only for a person watching a long run:
    never when stderr is not a terminal (cron mails whatever a job prints)."""

    def __init__(self) -> None:
        self.start, self.last = time.monotonic(), float("-inf")
        self.shown = False
        self.after = _seconds(os.environ.get("DIGEST2FEED_PROGRESS_AFTER", ""), 1.0)  # before it appears

    def __call__(self, what: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.start < self.after or (now - self.last < 0.1 and done != total):
            return
        self.last, self.shown = now, True
        count = f"{done}/{total}" if total else str(done)
        sys.stderr.write(f"\r\x1b[Kdigest2feed: {count} {what}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _seconds(text: str, default: float) -> float:
    """A number of seconds from the environment; anything else (a typo) is the default."""
    try:
        return max(0.0, float(text))
    except ValueError:
        return default


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int | None], None]]:
    if not sys.stderr.isatty():
        yield lambda what, done, total: None
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.close()


def _update(args: argparse.Namespace) -> int:
    from digest2feed.pipeline import Failed, update
    from digest2feed.settings import SettingsError, load

    flags = {"output": args.output, "base_url": args.base_url, "max_entries": args.max_entries, "hub": args.hub}
    try:
        settings = load(flags, args.config)
    except SettingsError as e:
        for line in e.lines:
            _err(line)
        if e.known:  # the log file, if its own setting was good, still hears of the failure
            _log(e.known.log_file, args.inputs or ([] if args.regenerate else list(e.known.inputs)), e.lines)
        return 2 if e.usage else 1
    names = args.inputs or ([] if args.regenerate else list(settings.inputs))
    if not names and not (settings.output / "atom.xml").is_file():
        # A mistyped -o or a cron job in the wrong folder: publishing empty feeds would hide it.
        unread = "" if args.regenerate else ", and no INPUT and no `inputs` setting to read"
        problem = f"{settings.output / 'atom.xml'}: no feeds here to regenerate{unread}; nothing was written"
        _err(f"{problem} (check -o and the working folder)")
        _log(settings.log_file, names, problems=[problem])
        return 1
    try:
        with _progress_bar() as progress:
            report = update(settings, names, sys.stdin.buffer, progress, ping=not args.no_ping)
    except Failed as e:
        for problem in e.problems:
            _err(problem)
        _log(settings.log_file, names, problems=[str(p) for p in e.problems])
        return 1
    loaded = report.loaded
    pinged = _ping_lines(report.pings)
    if not args.quiet:
        for w in [*loaded.warnings, *pinged]:
            _err(f"warning: {w}")
    s = report.summary
    if args.verbose:
        for folder in loaded.info:
            print(folder)
        print(
            f"inputs read: {loaded.read} digests"
            f" ({len(loaded.skipped)} other messages or files skipped, {loaded.duplicates} duplicates)\n"
            f"papers: {s.added} added, {s.promoted} promoted, {s.changed} changed, {s.unchanged} unchanged\n"
            f"entries in the feed: {report.entries}\n"
            f"files written: {len(report.written)}"
        )
        if report.pings is not None:
            print(_ping_summary(report.pings))
    warnings = len(loaded.warnings) + len(pinged)
    counts = (loaded.read, len(loaded.skipped), s.added, s.promoted, len(report.written), warnings)
    _log(settings.log_file, names, counts=(*counts, report.entries), pings=pinged)
    return 0


def _ping_lines(outcome) -> list[str]:
    """One warning per hub that failed (naming it), and one if the memory could not be written."""
    if outcome is None:
        return []
    lines = []
    for f in outcome.failures:
        what = "1 feed" if len(f.feeds) == 1 else f"{len(f.feeds)} feeds"
        lines.append(f"{f.hub}: hub ping failed for {what} ({f.why}); the next run pings again")
    if outcome.unsaved:
        lines.append(f"{outcome.unsaved}; failed pings will not be retried")
    return lines


def _ping_summary(outcome) -> str:
    owed = sum(len(f.feeds) for f in outcome.failures)
    return f"hub pings: {outcome.sent} sent, {owed} owed to the next run"


def _ping(args: argparse.Namespace) -> int:
    """The pings `update --no-ping` left owed, once the feeds are served (a CI job's last step)."""
    from digest2feed.pipeline import Failed, ping
    from digest2feed.settings import SettingsError, load

    try:
        settings = load({"output": args.output, "base_url": args.base_url, "hub": args.hub}, args.config)
    except SettingsError as e:
        for line in e.lines:
            _err(line)
        return 2 if e.usage else 1
    problem = None
    if not settings.hub:
        problem = f"{args.config or 'settings'}: no hub to ping (set hub in the settings or give --hub)"
    elif not (settings.output / "atom.xml").is_file():
        problem = f"{settings.output / 'atom.xml'}: no feeds here (run `digest2feed update` first)"
    if problem:
        _err(problem)
        _log(settings.log_file, [], problems=[problem], what="ping")
        return 1
    try:
        outcome = ping(settings)
    except Failed as e:
        for p in e.problems:
            _err(p)
        _log(settings.log_file, [], problems=[str(p) for p in e.problems], what="ping")
        return 1
    lines = _ping_lines(outcome)
    if not args.quiet:
        for w in lines:
            _err(f"warning: {w}")
    if args.verbose:
        print(_ping_summary(outcome))
    _log(settings.log_file, [], pings=[_ping_summary(outcome), *lines], what="ping")
    return 0


def _log(
    path: Path | None,
    inputs: list[str],
    problems: list[str] | None = None,
    counts: tuple = (),
    pings: Sequence[str] = (),
    what: str = "update",
) -> None:
    """One line in the log file, if one is set, and one more per failed hub ping. A log that cannot
    be written is said on stderr, but does not change the exit status: the feeds themselves were
    updated (or not) as reported."""
    if path is None:
        return
    from digest2feed import runlog

    if problems is not None:
        lines = [runlog.failure_line(inputs, problems, what)]
    elif counts:
        lines = [runlog.success_line(inputs, *counts), *(runlog.ping_line(p) for p in pings)]
    else:
        lines = [runlog.ping_line(p) for p in pings]
    try:
        for line in lines:
            runlog.append(path, line)
    except OSError as e:
        _err(f"{path}: cannot append to the log file: {e.strerror}")


def _feeds(args: argparse.Namespace) -> int:
    """Each feed the settings ask for, from the state alone: tune a filter without a reader."""
    from digest2feed.pipeline import Failed, overview
    from digest2feed.render.content import shown_title
    from digest2feed.settings import SettingsError, load

    try:
        settings = load({"output": args.output}, args.config)
        if not (settings.output / "atom.xml").is_file():
            _err(f"{settings.output / 'atom.xml'}: no feeds here yet (run `digest2feed update` first)")
            return 1
        feeds = overview(settings)
    except SettingsError as e:
        for line in e.lines:
            _err(line)
        return 2 if e.usage else 1
    except Failed as e:
        for problem in e.problems:
            _err(problem)
        return 1
    if args.json:
        doc = [
            {
                "folder": f.folder,
                "title": f.title,
                "files": list(f.files),
                "entries": f.entries,
                "newest": [
                    {"id": e.id, "title": e.title, "status": e.rung.slug, "published": f"{e.published:%Y-%m-%d}"}
                    for e in f.newest
                ],
            }
            for f in feeds
        ]
        print(json.dumps({"feeds": doc}, ensure_ascii=False, indent=2))
        return 0
    for f in feeds:
        print(f"{f.folder or '.'}/  {f.title}: {f.entries} {'entry' if f.entries == 1 else 'entries'}")
        for e in f.newest:
            print(f"  {e.published:%Y-%m-%d}  {shown_title(e, settings.status_in_title)}")
    return 0

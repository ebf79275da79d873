"""Settings: command-line flags, else digest2feed.toml, else defaults; checked in one place."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from digest2feed.filters import STATUSES, Feed, fold
from digest2feed.imapurl import UrlError, is_imap, parse_url

VIEWS = ("accepted", "submissions", "certified")
FORMATS = ("atom", "rss", "json")
MATH = ("tex", "mathml")
CONFIG_NAME = "digest2feed.toml"
RESERVED = ("accepted", "submissions", "certified", "archive")  # built-in views and the archive folder
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # a feed of your own's folder
PHRASE_KEYS = ("match", "exclude", "authors", "certifications")
FEED_KEYS = ("name", "title", *PHRASE_KEYS, "status")
MAX_FEEDS = 1_000  # each is three files (and its papers) in every run


class SettingsError(ValueError):
    """Bad settings: ``lines`` are what the user sees, one per problem. ``usage`` marks a bad
    command-line flag value, which is wrong usage (exit 2) rather than a bad file (exit 1).
    ``known`` holds every value that was good (from ``load``): its ``log_file`` still gets the failure."""

    def __init__(self, lines: list[str], usage: bool = False, known: Settings | None = None) -> None:
        super().__init__("\n".join(lines))
        self.lines, self.usage, self.known = lines, usage, known


@dataclass(frozen=True)
class ImapOptions:
    """The ``[imap]`` table: how IMAP inputs log in. It names where secrets come from, never a secret."""

    auth: str = "password"  # or "xoauth2"
    password_command: str | None = None
    token_command: str | None = None
    ca_file: str | None = None  # a PEM CA to trust instead of the system's store
    timeout: float | None = None  # seconds, for the connection, every answer, a credential command; None: the default

    @property
    def seconds(self) -> float:
        """IMAP's timeout: the one set, else 60 s (hub pings default to less: websub.py)."""
        return 60.0 if self.timeout is None else self.timeout


@dataclass(frozen=True)
class Settings:
    title: str = "TMLR papers"
    subtitle: str = (
        "New submissions, acceptances and certifications at Transactions on "
        "Machine Learning Research, from its mailing-list digests"
    )
    base_url: str | None = None
    output: Path = Path("output")
    max_entries: int = 500
    views: tuple[str, ...] = VIEWS
    formats: tuple[str, ...] = FORMATS
    html: bool = True
    log_file: Path | None = None  # one line appended per `update` run, for runs nobody watches
    inputs: tuple[str, ...] = ()  # read by `update` when it is given no INPUT
    imap: ImapOptions = ImapOptions()
    math: str = "tex"  # the feeds' HTML body: TeX as text, or typeset as MathML (index.html always is)
    feeds: tuple[Feed, ...] = ()  # [[feeds]]: feeds of your own (filters.py)
    status_in_title: bool = True  # "Accepted: …", "Certified (Featured): …"
    hub: tuple[str, ...] = ()  # WebSub hubs every feed names, pinged after a run changed it (websub.py)


def load(flags: dict[str, Any], config: Path | None = None) -> Settings:
    """Merge flags over the config file over defaults; ``config=None`` looks in the working folder.

    Every problem is reported at once: all unknown names and all bad values of the file,
    then (a usage error) all bad flag values.
    """
    path, values = _read(config)
    settings = Settings()
    if values is not None:
        problems = [f"{path}: {line}" for line in unknown(values, KNOWN)]
        settings = _apply(settings, {k: v for k, v in values.items() if k in KNOWN}, str(path), problems)
        if problems:
            raise SettingsError(problems, known=settings)
    hub_origin = str(path) if settings.hub else ""
    problems = []
    for name, value in flags.items():
        if value is not None:
            settings = _apply(settings, {name: value}, "--" + name.replace("_", "-"), problems)
    if problems:
        raise SettingsError(problems, usage=True, known=settings)
    if settings.hub and not settings.base_url:  # a hub fetches each feed at its public address
        hub_origin = "--hub" if flags.get("hub") else hub_origin
        line = f"{hub_origin}: hub needs base_url (the address the hubs fetch the feeds from; set it or --base-url)"
        raise SettingsError([line], usage=hub_origin == "--hub", known=settings)
    return settings


def load_imap(config: Path | None = None) -> ImapOptions:
    """Only the ``[imap]`` table (for `parse`): a bad setting elsewhere is not its concern."""
    path, values = _read(config)
    return _imap_table(values["imap"], str(path)) if values and "imap" in values else ImapOptions()


def _read(config: Path | None) -> tuple[Path, dict[str, Any] | None]:
    """The settings file's values; None when no file was named and the working folder has none."""
    path = config or Path(CONFIG_NAME)
    if config is None and not path.exists():
        return path, None
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SettingsError([f"{path}: cannot read settings: {e}"]) from None


def unknown(values: dict[str, Any], known: Iterable[str], prefix: str = "") -> list[str]:
    """One line per name in ``values`` that is not in ``known``, with the closest known name.

    A table-valued setting checks its own keys with the same call (``prefix="imap."``).
    """
    known = sorted(known)
    lines = []
    for name in sorted(set(values) - set(known)):
        close = difflib.get_close_matches(name.replace("-", "_").lower(), known, n=1, cutoff=0.6)
        hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
        lines.append(f"unknown setting '{prefix}{name}'{hint}")
    return lines


def _apply(settings: Settings, values: dict[str, Any], origin: str, problems: list[str]) -> Settings:
    for name, value in values.items():
        try:
            settings = replace(settings, **{name: _check(name, value, origin)})
        except SettingsError as e:
            problems.extend(e.lines)
    return settings


KNOWN = frozenset(f.name for f in fields(Settings))


def _check(name: str, value: Any, origin: str) -> Any:
    def bad(why: str) -> SettingsError:
        return SettingsError([f"{origin}: {name} {why} (got {value!r})"])

    if name in ("title", "subtitle"):
        if not isinstance(value, str) or not value.strip():
            raise bad("must be a non-empty string")
        return value.strip()
    if name == "base_url":
        if not _is_url(value):
            raise bad("must be an http:// or https:// URL")
        return value.rstrip("/") + "/"
    if name in ("output", "log_file"):
        if not isinstance(value, (str, Path)) or not str(value):
            raise bad("must be a folder path" if name == "output" else "must be a file path")
        return Path(value).expanduser()
    if name == "max_entries":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad("must be a positive integer")
        return value
    if name == "inputs":
        return _inputs(value, origin)
    if name == "hub":
        hubs = [value] if isinstance(value, str) else value
        if not isinstance(hubs, list | tuple) or not hubs or not all(_is_url(h) for h in hubs):
            raise bad("must be an http:// or https:// URL, or a list of them")
        if any("@" in h.split("/")[2] for h in hubs):  # not echoed: it would show the password
            raise SettingsError([f"{origin}: hub must not hold a user or password (warnings name each hub)"])
        return tuple(dict.fromkeys(hubs))
    if name == "imap":
        return _imap_table(value, origin)
    if name == "feeds":
        return _feeds(value, origin)
    if name in ("html", "status_in_title"):
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if name == "math":
        if value not in MATH:
            raise bad('must be "tex" or "mathml"')
        return value
    allowed = VIEWS if name == "views" else FORMATS
    if not isinstance(value, list) or not all(v in allowed for v in value):
        raise bad(f"must be a list drawn from {', '.join(allowed)}")
    if name == "formats" and "atom" not in value:
        raise bad("must include atom: atom.xml is the state")
    return tuple(v for v in allowed if v in value)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value


def _inputs(value: Any, origin: str) -> tuple[str, ...]:
    """Paths and IMAP URLs; not echoed when malformed, since a URL might hold a password by mistake."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError([f"{origin}: inputs must be a list of paths and imap:// or imaps:// URLs"])
    for v in value:
        if is_imap(v):
            try:
                parse_url(v)
            except UrlError as e:
                raise SettingsError([f"{origin}: inputs: {e}"]) from None
    return tuple(value)


IMAP_KEYS = frozenset(f.name for f in fields(ImapOptions))


def _imap_table(value: Any, origin: str) -> ImapOptions:
    """Check the [imap] table on its own: every unknown key (named imap.KEY) and every bad value."""
    if not isinstance(value, dict):
        raise SettingsError([f"{origin}: imap must be a table ([imap])"])
    problems = [f"{origin}: {line}" for line in unknown(value, IMAP_KEYS, prefix="imap.")]

    def bad(key: str, why: str) -> None:
        shown = "<hidden>" if key.endswith("_command") else repr(value[key])  # a command may hold a secret
        problems.append(f"{origin}: imap.{key} {why} (got {shown})")

    out: dict[str, Any] = {}
    if "auth" in value:
        if value["auth"] in ("password", "xoauth2"):
            out["auth"] = value["auth"]
        else:
            bad("auth", 'must be "password" or "xoauth2"')
    for key in ("password_command", "token_command", "ca_file"):
        if key in value:
            if isinstance(value[key], str) and value[key].strip():
                out[key] = value[key]
            else:
                bad(key, "must be a non-empty string")
    if "timeout" in value:
        t = value["timeout"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t <= 3600:
            bad("timeout", "must be a number of seconds from 0 to 3600")
        else:
            out["timeout"] = float(t)
    if problems:
        raise SettingsError(problems)
    return ImapOptions(**out)


def _feeds(value: Any, origin: str) -> tuple[Feed, ...]:
    """The ``feeds`` setting → Feeds, or SettingsError naming ``origin`` and the key."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise _bad(f"{origin}: feeds must be an array of tables ([[feeds]]) (got {value!r})")
    if len(value) > MAX_FEEDS:
        raise _bad(f"{origin}: feeds holds {len(value):,} tables, more than the {MAX_FEEDS:,} a run writes")
    feeds: list[Feed] = []
    names: set[str] = set()
    for i, table in enumerate(value, 1):
        feeds.append(_table(table, origin, i))
        if feeds[-1].name in names:
            raise _bad(f"{origin}: feeds[{i}].name {feeds[-1].name!r} is used by another feed")
        names.add(feeds[-1].name)
    return tuple(feeds)


def _table(table: dict, origin: str, i: int) -> Feed:
    where = f"{origin}: feeds[{i}]"
    if wrong := unknown(table, FEED_KEYS, prefix=f"feeds[{i}]."):
        raise _bad(f"{origin}: {wrong[0]}")
    name = table.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise _bad(f"{where}.name must be a folder name of lower-case letters, digits, '-' and '_' (got {name!r})")
    if name in RESERVED:
        raise _bad(f"{where}.name {name!r} is taken by a built-in folder ({', '.join(RESERVED)})")
    where = f"{where}.{{}} ({name})"
    title = table.get("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise _bad(f"{where.format('title')} must be a non-empty string (got {title!r})")
    values: dict[str, tuple[str, ...]] = {}
    for key in (*PHRASE_KEYS, "status"):
        if key not in table:
            continue
        got = table[key]
        if (
            not isinstance(got, list)
            or not got
            or not all(isinstance(v, str) and v.strip() and fold(v).strip() for v in got)
        ):
            raise _bad(f"{where.format(key)} must be a non-empty list of non-empty strings (got {got!r})")
        if key == "status" and not set(got) <= STATUSES.keys():
            raise _bad(f"{where.format(key)} must be drawn from {', '.join(STATUSES)} (got {got!r})")
        values[key] = tuple(dict.fromkeys(" ".join(v.split()) for v in got))
    return Feed(name=name, title=title.strip() if title else None, **values)


def _bad(line: str) -> SettingsError:
    return SettingsError([line])

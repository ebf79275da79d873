"""Settings: command-line flags, else digest2feed.toml, else defaults; checked in one place."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

VIEWS = ("accepted", "submissions", "certified")
FORMATS = ("atom", "rss", "json")
CONFIG_NAME = "digest2feed.toml"


class SettingsError(ValueError):
    """A bad setting; the message is the one line the user sees."""


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


def load(flags: dict[str, Any], config: Path | None = None) -> Settings:
    """Merge flags over the config file over defaults; ``config=None`` looks in the working folder."""
    explicit = config is not None
    path = config or Path(CONFIG_NAME)
    values: dict[str, Any] = {}
    if explicit or path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise SettingsError(f"{path}: cannot read settings: {e}") from None
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"{path}: unknown setting {unknown[0]!r}")
        values = {k: (v, str(path)) for k, v in values.items()}
    values.update({k: (v, "--" + k.replace("_", "-")) for k, v in flags.items() if v is not None})
    settings = Settings()
    for name, (value, origin) in values.items():
        settings = replace(settings, **{name: _check(name, value, origin)})
    return settings


def _check(name: str, value: Any, origin: str) -> Any:
    def bad(why: str) -> SettingsError:
        return SettingsError(f"{origin}: {name} {why} (got {value!r})")

    if name in ("title", "subtitle"):
        if not isinstance(value, str) or not value.strip():
            raise bad("must be a non-empty string")
        return value.strip()
    if name == "base_url":
        if not isinstance(value, str) or not value.startswith(("http://", "https://")) or " " in value:
            raise bad("must be an http:// or https:// URL")
        return value.rstrip("/") + "/"
    if name == "output":
        if not isinstance(value, (str, Path)) or not str(value):
            raise bad("must be a folder path")
        return Path(value)
    if name == "max_entries":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad("must be a positive integer")
        return value
    if name == "html":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    allowed = VIEWS if name == "views" else FORMATS
    if not isinstance(value, list) or not all(v in allowed for v in value):
        raise bad(f"must be a list drawn from {', '.join(allowed)}")
    if name == "formats" and "atom" not in value:
        raise bad("must include atom: atom.xml is the state")
    return tuple(v for v in allowed if v in value)

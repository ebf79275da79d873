"""No IMAP secret in any form leaves a run: not on stdout or stderr, not in log_file, not in argv.

The server here is the tests' own (``tests/echoimap.py``): it quotes back every line it was
sent, as sent, percent-encoded and base64-decoded, whole and cut short, in NO and in BAD
replies. Expected spellings of a secret are worked out here from the protocol (RFC 3501's
quoted string, RFC 4616's PLAIN, the XOAUTH2 blob, RFC 3986's percent-encoding), not taken
from ``credentials.py``. Dovecot's own tests (non-ASCII passwords logging in) are in
``test_imap.py``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

import dovecot
from conftest import need_tool, run_cli
from digest2feed import cli, imapurl, runlog
from digest2feed.settings import ImapOptions
from digest2feed.sources import credentials, imap
from dovecot import url_for
from echoimap import EchoServer, Script

USER = "reader@example.org"
REFUSED = (
    "a password in the URL is refused; put it in DIGEST2FEED_IMAP_PASSWORD, password_command in [imap], or ~/.netrc"
)
EXAMPLES = max(8, int(os.environ.get("FUZZ_EXAMPLES", "300")) // 10)  # each example is a whole run against the server
# Every fixed word a failed run can print is in these sources; a generated secret sharing 8 characters
# with them (or with the URL) could not be told from them in the output, so such secrets are not drawn.
FIXED = "".join(Path(m.__file__).read_text() for m in (imap, imapurl, credentials, runlog, cli))


@pytest.fixture(autouse=True)
def _no_secret_sources(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGEST2FEED_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("DIGEST2FEED_IMAP_TOKEN", raising=False)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def echo():
    folder = Path(tempfile.mkdtemp(prefix="d2f-echo-"))
    ca, cert, key = dovecot.make_certs(folder, need_tool("openssl"))
    server = EchoServer(cert, key)
    server.ca = ca
    yield server
    server.stop()
    shutil.rmtree(folder)


# ---------------------------------------------------------------- the spellings, from the protocols


def pct_lower(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def spellings(secret: str) -> set[str]:
    """How a secret can stand in a line of text: as is, with its spaces and line breaks turned into
    single spaces, IMAP-quoted, as Python's bytes repr shows it, percent-encoded in either case."""
    quoted = secret.replace("\\", "\\\\").replace('"', '\\"')
    shown = {secret, quoted, " ".join(secret.split()), repr(secret.encode())[2:-1], repr(quoted.encode())[2:-1]}
    for s in (secret, quoted):
        for enc in (quote(s, safe=""), quote_plus(s, safe="")):
            shown |= {enc, pct_lower(enc)}
    return {s for s in shown if len(s) >= 8}


def blobs(secret: str, auth: str) -> set[str]:
    """What the client sends for it: the base64 of the secret, of PLAIN's and of XOAUTH2's message."""
    sent = f"user={USER}\x01auth=Bearer {secret}\x01\x01" if auth == "xoauth2" else f"\x00{USER}\x00{secret}"
    return {base64.b64encode(secret.encode()).decode(), base64.b64encode(sent.encode()).decode()}


def windows(text: str | bytes, n: int = 8) -> set:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def assert_no_trace(secret: str, auth: str, texts: list[str]) -> None:
    """No spelling of the secret, whole or 8 characters of it in a row; no base64 in the text decodes
    to 8 bytes of it; and every <hidden> stands for a whole word, with nothing of the word left beside it."""
    raw = secret.encode()
    for text in texts:
        for s in spellings(secret) | blobs(secret, auth):
            assert s not in text, (s, text)
        for s in spellings(secret):
            for w in windows(s):
                assert w not in text, (w, text)
        for run in re.findall(r"[A-Za-z0-9+/]{8,}", text):
            for cut in range(4):  # the run may begin anywhere in a group of four
                part = run[cut:]
                decoded = base64.b64decode(part[: len(part) // 4 * 4])
                assert not windows(raw) & windows(decoded), (run, text)
        assert not re.search(r"[A-Za-z0-9+/=%]<hidden>|<hidden>[A-Za-z0-9+/=%]", text), text


# ---------------------------------------------------------------- the scrubber on its own

PW = 'hun"ter\\2 Grüße/50%'  # quotes, a backslash, a space, non-ASCII, '/', '%'


@pytest.mark.parametrize(
    ("spelled", "how"),
    [
        (PW, "as is"),
        ('hun\\"ter\\\\2 Grüße/50%', 'IMAP-quoted (RFC 3501: \\ and " escaped)'),
        ('hun\\\\"ter\\\\\\\\2 Grüße/50%', "IMAP-quoted, as a str repr shows it (the issue's case)"),
        ('hun\\\\"ter\\\\\\\\2 Gr\\xc3\\xbc\\xc3\\x9fe/50%', "IMAP-quoted, inside imaplib's bytes repr"),
        ('hun"ter\\\\2 Gr\\xc3\\xbc\\xc3\\x9fe/50%', "as is, inside a bytes repr (b'...')"),
        ("hun%22ter%5C2%20Gr%C3%BC%C3%9Fe%2F50%25", "percent-encoded, upper-case hex"),
        ("hun%22ter%5c2%20Gr%c3%bc%c3%9fe%2f50%25", "percent-encoded, lower-case hex"),
        ("hun%22ter%5C2+Gr%C3%BC%C3%9Fe%2F50%25", "form-encoded (space as +)"),
        (base64.b64encode(PW.encode()).decode(), "base64"),
    ],
)
def test_the_scrubber_knows_every_spelling_and_hides_the_word_whole(spelled, how):
    """Even in our own words (no decoding, no pieces): each spelling, worked out here by hand,
    is hidden with the whole word around it; the words beside it stay."""
    line = f"said (x{spelled}y) and more"
    assert credentials.hide(line, [credentials.Secret(PW)]) == "said <hidden> and more", how


def test_the_xoauth2_blob_is_hidden_whole_at_any_alignment():
    token = "ya29.a0AfH6SMBx-token-of-the-issue"
    for pad in range(3):
        blob = base64.b64encode(f"{'x' * pad}user={USER}\x01auth=Bearer {token}\x01\x01".encode()).decode()
        shown = credentials.hide(f"BAD AUTHENTICATE {blob} refused", [credentials.Secret(token)])
        assert shown == "BAD AUTHENTICATE <hidden> refused", (pad, shown)  # was …IHR<hidden>VAEB


def test_a_reply_that_encodes_the_secret_its_own_way_is_decoded():
    """A server's reply may spell the secret in ways no list foresees: every byte percent-encoded,
    or a short secret (no base64 piece of its own) inside the server's own base64."""
    short = credentials.Secret("s3cr:t!")
    every = "".join(f"%{b:02X}" for b in b"s3cr:t!")
    assert credentials.hide(f"NO you sent {every} ok", [short], heard=True) == "NO you sent <hidden> ok"
    theirs = base64.b64encode(f"you sent \x00{USER}\x00s3cr:t!".encode()).decode()  # 29 bytes before it
    assert credentials.hide(f"NO [{theirs}] ok", [short], heard=True) == "NO <hidden> ok"
    assert credentials.hide(f"NO [{theirs}] ok", [short]) == f"NO [{theirs}] ok"  # our own words are not decoded


def test_a_secret_cut_short_by_the_server_is_hidden_from_six_characters():
    secret = credentials.Secret("Zq9#kXw!correct-horse")
    assert credentials.hide("NO you sent Zq9#kX", [secret], heard=True) == "NO you sent <hidden>"
    assert credentials.hide("NO you sent Zq9#k", [secret], heard=True) == "NO you sent Zq9#k"  # the stated limit
    spaced = credentials.Secret("ab\r\ncd\tef gh")  # its line breaks became spaces in a one-line reply
    assert credentials.hide("NO you sent x ab  cd ef gh y", [spaced], heard=True) == "NO you sent x <hidden> y"


def test_the_reply_is_hidden_before_it_is_cut():
    """The server's words are cut to 200 characters between words, after hiding: the secret never
    shows cut short at the edge, wherever the edge falls."""
    secret = credentials.Secret("Zq9#kXw!correct-horse")
    for at in range(180, 215):
        text = "w" * (at - 1) + " Zq9#kXw!correct-horse and the rest"
        shown = imap._server_words(f"SEARCH failed: b'{text}'", [secret])
        assert "Zq9" not in shown and shown.endswith((" …", "<hidden>")), shown
        assert len(shown) <= 202


# ---------------------------------------------------------------- a password in the URL


@pytest.mark.parametrize("user", ["me%40x.org", "me@x.org"])
@pytest.mark.parametrize(
    "pw", ["hunter2secret", "pa/ss-w0rd", "p@ss@w0rd", "50%off%zz", "a:b:c", "two words", "wh?at#x", "päss/€:@"]
)
def test_a_password_in_the_url_is_refused_and_nothing_after_the_user_is_shown(tmp_path, user, pw):
    """Whatever the password holds, where it ends cannot be told, so nothing after 'USER:' is shown:
    on stderr, and in the log line (which also names the inputs). The same through `inputs`."""
    address = f"imaps://{user}:{pw}@imap.x.org/TMLR"
    shown = f"imaps://{user}:<hidden>"
    log = tmp_path / "run.log"
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'log_file = "{log}"\n')
    r = run_cli("update", address, "-o", tmp_path / "out", "-c", cfg)
    assert (r.code, r.out) == (1, "")
    assert r.err == f"digest2feed: {shown}: {REFUSED}\n"
    (line,) = log.read_text().splitlines()
    assert line.split(" ", 1)[1] == f"update failed: {shown}: {REFUSED}; inputs: {shown}"
    assert not (tmp_path / "out").exists()

    cfg.write_text(f"inputs = [{json.dumps(address)}]\n")
    r = run_cli("update", "-c", cfg, "-o", tmp_path / "out")
    assert (r.code, r.out, r.err) == (1, "", f"digest2feed: {cfg}: inputs: {shown}: {REFUSED}\n")


@pytest.mark.parametrize(
    "address",
    [
        "imaps://me@host:993/a@b",  # a port, and a folder holding '@'
        "imaps://me@host/Lists:TMLR@x",  # ':' and '@' in the folder
        "imaps://me%40x.org@[::1]:9993/INBOX",
    ],
)
def test_a_url_with_colons_and_ats_but_no_password_is_read(address):
    assert imapurl.parse_url(address).shown == address


# ---------------------------------------------------------------- a server that echoes


def run(echo, tmp: Path, secret: str, auth: str = "password", source: str = "env", script: Script | None = None):
    """One `update` of the echo server's INBOX; returns the result, the log file's text and what the server saw."""
    seen = echo.run(script or Script())
    address = url_for("imaps", USER, "127.0.0.1", echo.port, "INBOX")
    lines = [f'log_file = "{tmp / "run.log"}"', "[imap]", f'ca_file = "{echo.ca}"', f'auth = "{auth}"', "timeout = 10"]
    env = {"password": "DIGEST2FEED_IMAP_PASSWORD", "xoauth2": "DIGEST2FEED_IMAP_TOKEN"}[auth]
    if source == "command":
        (tmp / "secret").write_text(secret + "\n", encoding="utf-8")
        lines.append(f'{"token" if auth == "xoauth2" else "password"}_command = "cat {tmp / "secret"}"')
    else:
        os.environ[env] = secret
    (tmp / "d.toml").write_text("\n".join(lines) + "\n")
    try:
        r = run_cli("update", address, "-o", tmp / "out", "-c", tmp / "d.toml")
    finally:
        os.environ.pop(env, None)
    log = (tmp / "run.log").read_text(encoding="utf-8")
    return r, log.split(" ", 1)[1], seen, address


def test_a_quoted_password_echoed_back_is_hidden_in_every_spelling(echo, tmp_path):
    """The issue's case: LOGIN quotes `"` and `\\`; a server quoting the command back in a BAD reply
    showed it as imaplib's bytes repr doubles it, hun\\\\"ter\\\\\\\\2-SECRET."""
    secret = 'hun"ter\\2-SECRET'
    r, log, seen, address = run(echo, tmp_path, secret, script=Script(plain=False, bad=True))
    assert any(b' LOGIN reader@example.org "hun\\"ter\\\\2-SECRET"' in line for line in seen.lines)  # really echoed
    assert r.code == 1 and r.err.startswith(
        f"digest2feed: {address}: authentication refused for {USER} (password; the server said: you sent — "
    )
    assert "<hidden>" in r.err
    assert_no_trace(secret, "password", [r.out, r.err, log])
    assert "ter\\" not in r.err + log and "SECRET" not in r.err + log


def test_an_xoauth2_token_echoed_back_is_hidden_whole(echo, tmp_path):
    """The issue's case: the blob's ends mix the token with its neighbours, and were shown (…IHR<hidden>VAEB)."""
    token = "ya29.a0AfH6SMBx-token-of-the-issue"
    r, log, seen, address = run(echo, tmp_path, token, auth="xoauth2", script=Script(bad=True))
    blob = base64.b64encode(f"user={USER}\x01auth=Bearer {token}\x01\x01".encode())
    assert blob in seen.lines  # sent, and quoted back
    assert r.code == 1 and "authentication refused" in r.err and "<hidden>" in r.err
    assert_no_trace(token, "xoauth2", [r.out, r.err, log])


@pytest.mark.parametrize("secret", ["pässwort-ü", "pw\r\nA9 DELETE INBOX", "tab\there-x"])
def test_a_password_login_cannot_carry_is_refused_before_anything_is_sent(echo, tmp_path, secret):
    """A server without AUTHENTICATE PLAIN: LOGIN carries printable ASCII only. A non-ASCII password
    gave imaplib's UnicodeEncodeError, naming a character of it and its position; one with a line
    break was sent, and what followed it arrived as a command of its own."""
    r, log, seen, address = run(echo, tmp_path, secret, script=Script(plain=False))
    assert r.err == (
        f"digest2feed: {address}: the server offers no AUTHENTICATE PLAIN, and LOGIN carries only printable ASCII: "
        "the user name or password holds other characters (non-ASCII, a line break or a control character)\n"
    )
    assert r.code == 1 and r.out == ""
    assert not any(b"LOGIN" in line or b"DELETE" in line for line in seen.lines), seen.lines
    assert "position" not in r.err and "\\x" not in r.err


def test_a_real_process_prints_one_line_and_no_library_warning(echo, tmp_path):
    """As a process, where nothing catches logging: imapclient warns, quoting the server's reply,
    when the reply is not ASCII, and Python's last-resort handler printed that on stderr, the
    echoed password in it. The server accepts the login and refuses the search."""
    secret = 'hun"ter\\2-SECRET'
    seen = echo.run(Script(plain=False, accept=True))
    address = url_for("imaps", USER, "127.0.0.1", echo.port, "INBOX")
    (tmp_path / "d.toml").write_text(f'log_file = "{tmp_path / "run.log"}"\n[imap]\nca_file = "{echo.ca}"\n')
    env = {**os.environ, "DIGEST2FEED_IMAP_PASSWORD": secret}
    done = subprocess.run(
        [sys.executable, "-m", "digest2feed", "update", address, "-o", tmp_path / "out", "-c", tmp_path / "d.toml"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    err = done.stderr.decode()
    assert any(b"SEARCH" in line for line in seen.lines)  # logged in, and the search was refused
    assert done.returncode == 1 and done.stdout == b""
    assert err.startswith(f"digest2feed: {address}: the server refused a command (") and err.count("\n") == 1, err
    argv = b"\0".join(seen.argvs).decode("utf-8", "replace")
    assert any(address in a for a in argv.split("\0"))  # the run's own argv was read
    assert_no_trace(secret, "password", [err, (tmp_path / "run.log").read_text(), argv])


def test_an_exception_text_is_never_shown():
    """Whatever failure no branch names (its text might quote a credential) is told by its type alone."""
    url = imapurl.parse_url("imaps://u@h/INBOX")
    e = UnicodeEncodeError("ascii", "pässwort", 1, 2, "ordinal not in range(128)")
    line = imap._explain(e, url, ImapOptions(), [])
    assert line == "unexpected failure (UnicodeEncodeError; its message is not shown, as it could quote a credential)"


NASTY = "\"\\/@%:'+=?#&;{}~*()[]<> "
SECRET = st.one_of(
    st.text(
        st.one_of(st.sampled_from(NASTY), st.characters(min_codepoint=32, max_codepoint=126)), min_size=8, max_size=40
    ),
    st.text(
        st.one_of(
            st.sampled_from(NASTY + "\r\n\t"),
            st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
        ),
        min_size=8,
        max_size=40,
    ),
)  # half printable ASCII (LOGIN can carry it), half anything an environment variable can hold


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    secret=SECRET,
    auth=st.sampled_from(["password", "xoauth2"]),
    source=st.sampled_from(["env", "command"]),
    script=st.builds(
        Script, plain=st.booleans(), accept=st.booleans(), bad=st.booleans(), cut=st.none() | st.integers(8, 90)
    ),
)
@example(secret='hun"ter\\2-SECRET', auth="password", source="env", script=Script(plain=False, bad=True))
@example(secret="ya29.token/with+plus==", auth="xoauth2", source="env", script=Script(bad=True, cut=40))
@example(secret="Grüße\r\nInjected 1", auth="password", source="env", script=Script(accept=True))
@example(secret="ab\r\ncd\r\nef gh-1", auth="password", source="env", script=Script())
def test_no_form_of_any_secret_leaves_a_run_against_a_server_that_echoes(echo, secret, auth, source, script):
    """Any password or token, any answer of a server quoting everything back: the run fails with one
    line, and stdout, stderr, the log file and every process's argv while the credential was being
    sent hold no spelling of the secret, whole or in part."""
    address = url_for("imaps", USER, "127.0.0.1", echo.port, "INBOX")
    assume(source == "env" or ("\n" not in secret and not secret.endswith("\r")))  # a command's first line
    context = FIXED + address
    assume(not any(w in context for s in spellings(secret) for w in windows(s)))
    with tempfile.TemporaryDirectory() as d:
        r, log, seen, _ = run(echo, Path(d), secret, auth, source, script)
    assert r.code == 1 and r.out == "" and r.err.count("\n") == 1, r
    assert "Traceback" not in r.err and "unexpected failure" not in r.err  # every failure here has its own words
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", r.err + log), r.err  # one line, whatever the server sent
    argv = b"\0".join(seen.argvs).decode("utf-8", "replace")
    assert_no_trace(secret, auth, [r.out, r.err, log, argv])
    sent = next((v for line in seen.lines for v in (b"LOGIN", b"PLAIN", b"XOAUTH2") if b" " + v in line), b"nothing")
    event(f"sent by {sent.decode()}{', then the search refused' if 'SEARCH' in r.err else ''}")
    commands = rb"[A-Z]+\d+ (CAPABILITY|LOGIN|AUTHENTICATE|EXAMINE|UID SEARCH|LOGOUT)\b"
    for line in seen.lines:  # nothing in the secret ended a command early and started another
        assert re.match(commands + rb"|[A-Za-z0-9+/=]*$", line), line

"""The on-disk format in one place: every name the output folder's files carry.

The state reader and the renderers both learn the format here, so neither imports
the other; the store and the plan take their file names from here too. Changing a
value changes what earlier versions' folders hold: such a change needs an upgrade
path (a run that reads the old name and writes the new).
"""

from __future__ import annotations

import re

from digest2feed.model import FORUM_URL

# --- files and folders -------------------------------------------------------------------------
MAIN = "atom.xml"  # the subscription feed that is also the state (with the archives)
FILE_NAMES = {"atom": MAIN, "rss": "rss.xml", "json": "feed.json"}  # one per format, in every feed's folder
PAGE = "index.html"
OPML = "feeds.opml"
BIB = "papers.bib"  # beside each view's and own feed's files: the BibTeX of its accepted and certified papers
SEARCH_CODE, SEARCH_INDEX = "search.js", "search-index.js"  # the page's search, and what it searches
OWN_NAMES = (*FILE_NAMES.values(), BIB, PAGE, OPML, SEARCH_CODE, SEARCH_INDEX)  # every name outside archive/, weeks/
WEEKS_DIR = "weeks"  # a page per digest week, weeks/YYYY-MM-DD.html (named by its Sunday)
WEEKS_INDEX = f"{WEEKS_DIR}/index.html"
WEEK_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].html"  # every week page's name, for removal
ARCHIVE_DIR = "archive"
ARCHIVE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9].xml"  # archive/YYYY-MM.xml, one per month
MAX_STATE_BYTES = 256 * 1024 * 1024  # the largest state file a run reads; none is ever written larger

# Dot files beside the feeds, never published (the README's recipes strip dot files).
LOCK = ".digest2feed.lock"
PENDING = ".digest2feed.pending"  # present only while a run renames its files into place
CHECKPOINT = ".digest2feed.imap.json"  # which IMAP messages the state holds
WEBSUB = ".digest2feed.websub.json"  # the WebSub pings a hub has not confirmed yet
TEMP_SUFFIX = ".d2f-tmp"  # a file being written beside its target
BACKUP_SUFFIX = ".d2f-old"  # the old version of a replaced file, until the commit is whole

# The web server must read what we write, whatever the umask of the process that runs us
# (procmail pipes run with 077, maildrop with 007): modes are set, never inherited.
FOLDER_MODE = 0o755
FILE_MODE = 0o644

# --- inside the feeds ----------------------------------------------------------------------
ATOM_NS = "http://www.w3.org/2005/Atom"
DCTERMS_NS = "http://purl.org/dc/terms/"
DC_NS = "http://purl.org/dc/elements/1.1/"  # what reference managers read (README: Reference managers)
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005: fh:archive
GENERATOR = "digest2feed"
GENERATOR_URI = "https://github.com/digest2feed/digest2feed"  # how the reader knows a state file is ours
JOURNAL = "Transactions on Machine Learning Research"
JOURNAL_URL = "https://jmlr.org/tmlr/"
ISSN = "2835-8856"
ISSN_URN = f"urn:ISSN:{ISSN}"  # RFC 3044; Zotero finds the ISSN in any dc:identifier

# State files only: what Atom has no element for, in Dublin Core terms the validator knows.
ABSTRACT = f"{{{DCTERMS_NS}}}abstract"  # the abstract exactly as the digest gave it
PROVENANCE = f"{{{DCTERMS_NS}}}provenance"  # JSON: the date each certification was announced
PLAIN_TITLE = f"{{{DCTERMS_NS}}}alternative"  # the title as announced, when <title> says the status

# An entry's id is its paper's forum URL and its rung: the reader takes both back from it.
ENTRY_ID_RE = re.compile(re.escape(FORUM_URL) + r"([A-Za-z0-9_-]+)#(submitted|accepted|certified)")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")  # every time is written so, in UTC

# --- the closing comments (JSON Feed: the ``_digest2feed`` extension) -----------------------------
# Every file ends with its fingerprint; state files also list each entry's content hash and,
# with feeds of your own, the filters' key and each entry's feed bits in hex.
FINGERPRINT_RE = re.compile(rb'(?:<!-- digest2feed |"fingerprint": "|@comment\{digest2feed )([0-9a-f]{64})')
TAIL = 256  # bytes at a file's end that hold its fingerprint
ENTRY_HASHES = "digest2feed-entries"
FEED_BITS = "digest2feed-feeds"
# Files that keep pieces for the next run (render/pieces.py): their style, then each piece's entry hash.
PIECES = "digest2feed-pieces"

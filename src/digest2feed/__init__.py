"""digest2feed: TMLR mailing-list digests in, Atom, RSS and JSON feeds out."""

__version__ = "0.1.0"

"""The floor: what any tool must do on this output folder, and nothing else.

Parse every state file (atom.xml and the archives) with lxml, then write the
subscription files (every file outside archive/ and weeks/, the folders of documents
a run writes only when they change) anew with fsync, as digest2feed's own writes do.
Run as its own process, so interpreter start-up and the lxml import are counted on
both sides.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from lxml import etree

SKIP = {"archive", "weeks"}  # weeks/: the week pages; a run rewrites only those of the weeks it changes


def main(folder: Path) -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    for path in [folder / "atom.xml", *sorted((folder / "archive").glob("*.xml"))]:
        etree.parse(str(path), parser)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        for path in folder.rglob("*"):
            if path.is_file() and path.relative_to(folder).parts[0] not in SKIP and not path.name.startswith("."):
                with open(Path(scratch) / path.name, "wb") as f:
                    f.write(path.read_bytes())
                    f.flush()
                    os.fsync(f.fileno())


if __name__ == "__main__":
    main(Path(sys.argv[1]))

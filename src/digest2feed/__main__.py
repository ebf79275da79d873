from digest2feed.cli import run

raise SystemExit(run())

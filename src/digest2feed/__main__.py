from digest2feed.cli import main

raise SystemExit(main())

"""``python -m dockerarch``."""

from dockerarch.cli import main

raise SystemExit(main())

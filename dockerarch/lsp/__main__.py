"""``python -m dockerarch.lsp``."""

from dockerarch.lsp import main

raise SystemExit(main())

"""`python -m codex_lite` runs the same CLI as the `codex-lite` script."""

from codex_lite.cli import main

raise SystemExit(main())

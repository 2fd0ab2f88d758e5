"""Where the project's own files live: the checkout that holds `registry/`, `sql/` and `.kyodo/`."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

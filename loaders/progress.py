"""A small progress bar on stderr: loads of a million rows should not look hung."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool = True, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.label = ""
        self.started = time.monotonic()
        self._stage_started = self.started
        self._drawn = False

    def stage(self, label: str) -> None:
        self._finish_line()
        self.label = label
        self._stage_started = time.monotonic()
        if self.enabled:
            self.stream.write(f"{label} ...")
            self.stream.flush()
            self._drawn = True

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        share = done / total if total else 1.0
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label:<12} [{bar}] {done:>10,}/{total:,} {share:6.1%}")
        self.stream.flush()
        self._drawn = True

    def _finish_line(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write(f"  {time.monotonic() - self._stage_started:.1f}s\n")
            self.stream.flush()
        self._drawn = False

    def close(self) -> None:
        self._finish_line()


class Silent(Progress):
    def __init__(self) -> None:
        super().__init__(enabled=False)

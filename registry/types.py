"""Field types shared by several domains' models."""

from __future__ import annotations

from typing import Annotated

import msgspec

# An address with one @ and no space. \x1c-\x1f are named as well as \s: Python's \s matches them,
# JavaScript's and JSON Schema tools' do not, so the documented pattern must say so for both to agree.
EMAIL_PATTERN = r"^[^@\s\x1c-\x1f]+@[^@\s\x1c-\x1f]+$"
Email = Annotated[str, msgspec.Meta(max_length=200, pattern=EMAIL_PATTERN, description="e.g. it@city.example.lg.jp")]

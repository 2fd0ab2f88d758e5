"""Japanese labels of the application enumerations (states.Status, states.RefusalReason) for exports.

The wording is the web map's (web/src/i18n.js), so a clerk reads the same word in the map and the sheet.
"""

from __future__ import annotations

from typing import get_args

from registry.applications.states import RefusalReason, Status

STATUS: dict[str, str] = {"submitted": "審査中", "information_requested": "情報要求中", "approved": "承認",
                          "refused": "不承認", "withdrawn": "取下げ", "installed": "設置済", "terminated": "終了"}
REFUSAL: dict[str, str] = {"not_technically_suitable": "技術的に不適", "no_space": "余地なし",
                           "safety_or_security": "安全・保安上の理由", "network_integrity": "ネットワークの完全性",
                           "interference": "干渉", "alternative_offered": "代替案を提示"}
assert set(STATUS) == set(get_args(Status)) and set(REFUSAL) == set(get_args(RefusalReason)), "a code without a label"

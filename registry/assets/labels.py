"""Japanese labels of the asset enumerations (rules.ENUMS), the one home exports and statistics read them from.

Each label is a word the file loader already reads back as its code (loaders/words.py: 屋上 -> rooftop,
信号機 -> traffic_signal, 要相談 -> on_request ...), so a sheet exported with Japanese labels re-imports to
the same codes; tests/test_export_labels.py checks every one of them both ways. The web map's wording
(web/src/i18n.js) is the same where the loader accepts it (the map says 信号柱, which the loader does not).
"""

from __future__ import annotations

from registry.assets.rules import ENUMS

LABELS: dict[str, dict[str, str]] = {
    "category": {"rooftop": "屋上", "land": "土地", "structure": "構造物", "streetlight": "街路灯",
                 "traffic_signal": "信号機", "utility_pole": "電柱", "bus_stop": "バス停",
                 "subway_entrance": "地下鉄出入口", "park": "公園", "signage": "標識", "other": "その他"},
    "power": {"yes": "あり", "no": "なし", "unknown": "不明"},
    "availability": {"offered": "提供中", "on_request": "要相談", "partly_available": "一部利用可",
                     "occupied": "使用中", "reserved": "自己利用予定"},
    "visibility": {"public": "公開", "carriers": "事業者限定", "restricted": "非公開"},
    "permit_type": {"use_permit": "目的外使用許可", "lease": "貸付", "other": "その他"},
    "status": {"draft": "下書き", "published": "公開", "withdrawn": "取下げ"},
}
assert {k: set(v) for k, v in LABELS.items()} == {k: set(v) for k, v in ENUMS.items()}, "a code without a label"


def label(attribute: str, code: str | None) -> str | None:
    """The Japanese label of one code (None stays None; an unknown code is returned as it is)."""
    if code is None:
        return None
    return LABELS.get(attribute, {}).get(code, code)

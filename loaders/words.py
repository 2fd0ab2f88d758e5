"""The words municipal spreadsheets use for each enumerated attribute, mapped to the values of
registry.assets.rules (which owns the list of values itself)."""

from __future__ import annotations

CATEGORY_WORDS = {
    "屋上": "rooftop", "建物屋上": "rooftop", "建物": "rooftop", "ビル屋上": "rooftop", "土地": "land", "用地": "land",
    "構造物": "structure", "工作物": "structure", "鉄塔": "structure", "街路灯": "streetlight", "街灯": "streetlight",
    "道路照明": "streetlight", "信号機": "traffic_signal", "信号": "traffic_signal", "電柱": "utility_pole",
    "柱": "utility_pole", "バス停": "bus_stop", "バス停留所": "bus_stop", "バス停上屋": "bus_stop",
    "地下鉄出入口": "subway_entrance", "地下鉄駅出入口": "subway_entrance", "地下道出入口": "subway_entrance",
    "公園": "park", "標識": "signage", "案内標識": "signage", "看板": "signage", "その他": "other",
    "building": "rooftop", "roof": "rooftop", "street_light": "streetlight", "streetlamp": "streetlight",
    "pole": "utility_pole", "signal": "traffic_signal", "subway": "subway_entrance", "sign": "signage",
}
_POWER = {"y": "yes", "true": "yes", "1": "yes", "有": "yes", "あり": "yes", "有り": "yes", "可": "yes",
          "n": "no", "false": "no", "0": "no", "無": "no", "なし": "no", "無し": "no", "不可": "no",
          "不明": "unknown", "?": "unknown"}
_AVAILABILITY = {"提供中": "offered", "提供可": "offered", "利用可": "offered",
                 "on request": "on_request", "要相談": "on_request", "応相談": "on_request",
                 "partly available": "partly_available", "一部利用可": "partly_available",
                 "使用中": "occupied", "利用中": "occupied", "自己利用予定": "reserved", "予約済": "reserved"}
_VISIBILITY = {"公開": "public", "事業者限定": "carriers", "非公開": "restricted", "制限": "restricted"}
_PERMIT = {"目的外使用許可": "use_permit", "行政財産目的外使用許可": "use_permit", "貸付": "lease", "賃貸借": "lease",
           "貸付契約": "lease", "その他": "other"}
_STATUS = {"下書き": "draft", "公開": "published", "取下げ": "withdrawn"}
WORDS: dict[str, dict[str, str]] = {
    "power": _POWER, "availability": _AVAILABILITY, "visibility": _VISIBILITY, "permit_type": _PERMIT,
    "status": _STATUS,
}
"""Per attribute: the other spellings of its values (each value also stands for itself)."""

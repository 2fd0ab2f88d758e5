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

# The last word of a Japanese facility name says what it is (公園管理事務所 is an office, 新宿中央公園 a park):
# a name's category is that of the keyword that ends latest in it, the longer keyword on a tie. Buildings
# are offered by their rooftops, what carriers ask for. A name none of these ends is not guessed at.
NAME_CATEGORY_WORDS: dict[str, str] = {
    **dict.fromkeys(("公園", "緑地", "庭園", "緑道", "児童遊園"), "park"),
    **dict.fromkeys(("用地", "跡地", "空地", "空き地", "駐車場", "駐輪場", "広場", "運動場", "グラウンド", "グランド",
                     "墓地", "霊園"), "land"),
    **dict.fromkeys(("庁舎", "役所", "役場", "支所", "出張所", "センター", "会館", "館", "学校", "小学校", "中学校",
                     "高等学校", "病院", "診療所", "保育園", "保育所", "幼稚園", "こども園", "ホール", "住宅", "団地",
                     "倉庫", "事務所", "消防署", "警察署", "署", "分署", "プラザ", "ハウス", "ビル", "棟",
                     "寮", "斎場", "工場", "浄水場", "処理場", "清掃工場", "体育館", "プール", "集会所", "交番",
                     "クラブ", "荘", "園舎", "校舎"), "rooftop"),
    **dict.fromkeys(("鉄塔", "給水塔", "塔", "歩道橋", "防災行政無線", "アンテナ"), "structure"),
    **dict.fromkeys(("街路灯", "街灯", "防犯灯", "道路照明"), "streetlight"),
    **dict.fromkeys(("信号機", "信号"), "traffic_signal"),
    **dict.fromkeys(("電柱", "電柱・電線"), "utility_pole"),
    **dict.fromkeys(("バス停", "バス停留所", "停留所", "バスのりば", "バス乗り場", "上屋"), "bus_stop"),
    **dict.fromkeys(("地下鉄出入口", "駅出入口", "出入口", "地下道"), "subway_entrance"),
    **dict.fromkeys(("標識", "案内板", "看板", "掲示板"), "signage"),
}
_BY_LENGTH = sorted(NAME_CATEGORY_WORDS, key=len, reverse=True)


def category_from_name(name: str) -> tuple[str, str] | None:
    """(category, the keyword that decided it) for a facility name (NFKC-normalised), or None."""
    best: tuple[int, int, str] | None = None
    for word in _BY_LENGTH:
        at = name.rfind(word)
        if at >= 0:
            key = (at + len(word), len(word), word)
            if best is None or key[:2] > best[:2]:
                best = key
    return None if best is None else (NAME_CATEGORY_WORDS[best[2]], best[2])

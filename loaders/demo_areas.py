"""Tokyo's 5G priority areas for the demo: municipal offices, the busiest stations, commercial districts,
disaster hospitals, temporary-stay facilities, evacuation parks and walk-home roads, as polygons."""

from __future__ import annotations

import math

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from loaders.priority_areas import AreaRow
from registry.codes import with_check_digit


def square(lon: float, lat: float, side_m: float, angle: float) -> Polygon:
    half = side_m / 2
    dx, dy = half / (111_320 * math.cos(math.radians(lat))), half / 110_540
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    ca, sa = math.cos(angle), math.sin(angle)
    return Polygon([(lon + (x * ca - y * sa) * dx, lat + (x * sa + y * ca) * dy) for x, y in corners])


def _disc(lon: float, lat: float, radius_m: float, n: int = 24) -> Polygon:
    dx, dy = radius_m / (111_320 * math.cos(math.radians(lat))), radius_m / 110_540
    return Polygon([(lon + dx * math.cos(2 * math.pi * k / n), lat + dy * math.sin(2 * math.pi * k / n))
                    for k in range(n)])


# Real coordinates of Tokyo's busiest stations (approximate station centres).
_STATIONS = (("新宿駅", 139.7006, 35.6896), ("渋谷駅", 139.7016, 35.6580), ("池袋駅", 139.7109, 35.7295),
             ("東京駅", 139.7671, 35.6812), ("品川駅", 139.7388, 35.6285), ("上野駅", 139.7773, 35.7138),
             ("秋葉原駅", 139.7731, 35.6984), ("北千住駅", 139.8049, 35.7497), ("新橋駅", 139.7583, 35.6663),
             ("有楽町駅", 139.7630, 35.6751), ("恵比寿駅", 139.7101, 35.6467), ("五反田駅", 139.7236, 35.6262),
             ("中野駅", 139.6658, 35.7057), ("吉祥寺駅", 139.5797, 35.7031), ("立川駅", 139.4137, 35.6980),
             ("八王子駅", 139.3389, 35.6556), ("町田駅", 139.4455, 35.5420), ("錦糸町駅", 139.8147, 35.6969))
_DISTRICTS = (("銀座", 139.7650, 35.6717), ("新宿東口", 139.7035, 35.6920), ("渋谷センター街", 139.6990, 35.6595),
              ("池袋東口", 139.7150, 35.7300), ("上野・御徒町", 139.7745, 35.7080), ("秋葉原電気街", 139.7710, 35.7000),
              ("吉祥寺", 139.5800, 35.7040), ("立川北口", 139.4140, 35.7000), ("町田", 139.4450, 35.5435),
              ("錦糸町", 139.8140, 35.6965))
# Walk-home corridors as chains of ward/city offices (JIS codes), roughly along the main radial roads.
_CORRIDORS = (("甲州街道", ("13101", "13104", "13114", "13115", "13203")),
              ("中山道", ("13101", "13105", "13116", "13119")),
              ("第一京浜", ("13102", "13103", "13109", "13111")),
              ("日光街道", ("13101", "13106", "13118", "13121")),
              ("京葉道路", ("13102", "13107", "13123")))


def tokyo_priority_areas(halls: dict[str, tuple[str, float, float]]) -> list[AreaRow]:
    rows: list[AreaRow] = []

    def add(kind: str, key: str, name: str, geom: Polygon | MultiPolygon) -> None:
        rows.append(AreaRow(kind, name, f"demo-{kind}-{key}",
                            geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])))

    for code, (name, lon, lat) in sorted(halls.items()):
        add("municipal_office", code, f"{name}役所・役場", _disc(lon, lat, 150))
    for i, (name, lon, lat) in enumerate(_STATIONS, start=1):
        add("major_station", f"{i:02d}", name, _disc(lon, lat, 300))
    for i, (name, lon, lat) in enumerate(_DISTRICTS, start=1):
        add("commercial_district", f"{i:02d}", name, square(lon, lat, 700, 0.3 * i))
    # Hospitals, temporary-stay facilities and evacuation parks anchored at the offices of the first
    # two dozen wards and cities, offset so they do not sit on the office itself.
    anchors = sorted(halls.items())[:24]
    for i, (code, (name, lon, lat)) in enumerate(anchors):
        off = 0.006 + 0.002 * (i % 3)
        add("disaster_hospital", code, f"{name} 災害拠点病院", _disc(lon + off, lat + off / 2, 120))
        add("temporary_stay", code, f"{name} 一時滞在施設", _disc(lon - off, lat + off / 3, 90))
        add("evacuation_park", code, f"{name} 避難場所（公園）", square(lon + off / 2, lat - off, 400, 0.2 * i))
    for name, chain in _CORRIDORS:
        codes = [with_check_digit(c) for c in chain]
        points = [(halls[c][1], halls[c][2]) for c in codes if c in halls]
        if len(points) >= 2:
            # About 30 m wide: buffered in degrees scaled for Tokyo's latitude.
            corridor = shapely.buffer(LineString(points), 0.00015, cap_style="flat")
            add("walk_home_road", name, f"帰宅支援道路 {name}", corridor)
    return rows



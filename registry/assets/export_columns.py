"""The columns of the asset exports: the registry's own (`TABLE`) and the 自治体標準オープンデータセット 公共施設一覧
layout (`OPENDATA`). Apart from registry.assets.export, which writes them, because the loader reads their headers back
(loaders/mapping.py) and a load needs none of the web framework an export answers with."""

from __future__ import annotations

from registry.assets.labels import LABELS
from registry.exports.table import Column

# Japanese names: those the loader reads back (loaders/mapping.py) where it has one; the others are in the
# lead's list (bench/EXPORTS.md) to be added there. The English keys are the API's field names.
TABLE: list[Column] = [
    Column("asset_id", "資産ID", "code", 38), Column("municipality_code", "全国地方公共団体コード", "code", 12),
    Column("source_id", "管理番号", "code", 14), Column("category", "種別", width=12, labels=LABELS["category"]),
    Column("name", "名称", width=30), Column("address", "所在地", width=36),
    Column("longitude", "経度", "number", 12), Column("latitude", "緯度", "number", 12),
    Column("coarse_location", "位置は概略", "bool", 10), Column("position_accuracy_m", "位置精度(m)", "number", 10),
    Column("height_m", "高さ(m)", "number", 9), Column("mountable_height_m", "設置可能高さ(m)", "number", 10),
    Column("spare_load_kg", "余裕荷重(kg)", "number", 10), Column("power", "電源", labels=LABELS["power"], width=8),
    Column("fibre_distance_m", "光ファイバー距離(m)", "number", 12), Column("area_m2", "面積(㎡)", "number", 10),
    Column("availability", "提供状況", labels=LABELS["availability"], width=12),
    Column("current_tenants", "利用事業者数", "int", 8), Column("max_tenants", "最大事業者数", "int", 8),
    Column("constraints", "制約", width=24), Column("fee_rule", "料金", width=24),
    Column("permit_type", "許可の種類", labels=LABELS["permit_type"], width=14), Column("contact", "連絡先", width=24),
    Column("source", "出典", width=20), Column("last_verified", "最終確認日", "date", 12),
    Column("visibility", "公開範囲", labels=LABELS["visibility"], width=10), Column("version", "版", "int", 6),
    Column("updated_at", "更新日時", "datetime", 26), Column("distance_m", "距離(m)", "number", 10),
]
COLUMNS = [c.key for c in TABLE]

# 自治体標準オープンデータセット 公共施設一覧, its columns in its order (the loader's layout, loaders/mapping.py,
# reads it back: ID -> source_id, 所在地_全体 -> address, 電話番号 -> contact, 緯度/経度).
OPENDATA: list[Column] = [
    Column("全国地方公共団体コード", "全国地方公共団体コード", "code", 12), Column("ID", "ID", "code", 14),
    Column("地方公共団体名", "地方公共団体名", width=14), Column("名称", "名称", width=30),
    *(Column(n, n, width=12) for n in ("名称_カナ", "名称_英字", "名称_通称", "POIコード")),
    Column("所在地_全体", "所在地_全体", width=36),
    *(Column(n, n, width=12) for n in ("所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下",
                                       "建物名等(方書)")),
    Column("緯度", "緯度", "number", 12), Column("経度", "経度", "number", 12),
    Column("電話番号", "電話番号", width=16),
    *(Column(n, n, width=12) for n in ("内線番号", "法人番号")), Column("団体名", "団体名", width=14),
    *(Column(n, n, width=12) for n in ("利用可能曜日", "開始時間", "終了時間", "利用可能日時特記事項")),
    Column("説明", "説明", width=40), *(Column(n, n, width=12) for n in ("バリアフリー情報", "URL")),
    Column("備考", "備考", width=24),
]

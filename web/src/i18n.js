// Japanese first, English on a switch; the choice is kept in localStorage (not a secret).
const words = {
  ja: {
    product: "共同レジストリ 資産マップ", pitch: "自治体が通信事業者に開放する公共資産（屋上・土地・街路灯・信号柱など）を、5G重点整備エリアと合わせて地図で探し、利用を申請できます。",
    lgwan: "このページは地図・文字・スクリプトをすべてこのサーバーから読み込みます（LGWAN環境でも動作）。",
    keyLabel: "APIキー", keyHint: "キーは一度だけ送信され、以後はこのブラウザのセッション（HttpOnly クッキー）で動作します。",
    signIn: "サインイン", signOut: "サインアウト", language: "English", openMap: "地図を開く",
    badKey: "キーが認められませんでした", filters: "絞り込み", category: "種別", any: "すべて",
    minHeight: "最低高さ (m)", minMountable: "設置可能高さ (m 以上)", minLoad: "余裕荷重 (kg 以上)",
    minSlots: "空き枠 (以上)", matchedAddress: "件（住所に一致）", clear: "解除", power: "電源", maxFibre: "光ファイバーまでの距離 (m 以内)", availability: "提供状況",
    results: "一覧", matched: "件（表示範囲）", zoomHint: "ズーム12以上で個々の資産を表示。それ以下は件数の集計です。",
    export: "書き出し", areas: "重点整備エリア", gaps: "未カバーのエリア", candidates: "近くの候補",
    covered: "カバー済", uncovered: "未カバー", search: "場所を検索", searchLabel: "市区町村・駅名・住所",
    applications: "申請", myApplications: "自社の申請", apply: "利用を申請", purpose: "用途", startsOn: "開始日",
    submit: "送信", close: "閉じる", status: "状態", due: "回答期限", refusal: "不承認の理由",
    applied: "申請しました", ownAssets: "自団体の資産（下書き・取下げを含む）", pending: "審査待ちの申請",
    approve: "承認", refuse: "不承認", requestInfo: "情報を求める", reason: "理由", decided: "処理しました",
    overdue: "期限超過", municipalities: "管内市区町村（資産数）", chart: "都道府県別の開放資産数",
    masked: "この資産は公開制限されています。位置は約1 kmメッシュの中心のみ表示しています（所有者の設定による）。",
    none: "なし", loading: "読み込み中…", mapLabel: "資産マップ", assetPanel: "資産の詳細",
    contact: "連絡先", fee: "料金", terms: "条件", slots: "空き枠", constraints: "制約", permit: "許可の種類",
    height: "高さ", mountable: "設置可能高さ", load: "余裕荷重", fibre: "光ファイバー距離", area: "面積",
    address: "所在地", lastVerified: "最終確認日", visibility: "公開範囲", assetStatus: "公開状態", owner: "所有団体",
    offered: "提供中", on_request: "要相談", partly_available: "一部可", occupied: "使用中", reserved: "自己使用予定",
    yes: "あり", no: "なし", unknown: "不明", submitted: "審査中", information_requested: "情報要求中",
    approved: "承認", refused: "不承認", withdrawn: "取下げ", installed: "設置済", terminated: "終了",
    draft: "下書き", published: "公開",
    rooftop: "屋上", land: "土地", structure: "構造物", streetlight: "街路灯", traffic_signal: "信号柱",
    utility_pole: "電柱", bus_stop: "バス停", subway_entrance: "地下鉄出入口", park: "公園", signage: "標識", other: "その他",
    not_technically_suitable: "技術的に不適", no_space: "余地なし", safety_or_security: "安全・保安上の理由",
    network_integrity: "ネットワークの完全性", interference: "干渉", alternative_offered: "代替案を提示",
    basemapCredit: "境界: Natural Earth", townHalls: "市区町村役場", stations: "主要駅",
  },
  en: {
    product: "Kyodo Registry asset map", pitch: "Find the public assets municipalities open to carriers (rooftops, land, streetlights, signal poles...) next to the 5G priority areas, and apply to use them.",
    lgwan: "Every map, font and script on this page comes from this server (it works on LGWAN).",
    keyLabel: "API key", keyHint: "The key is sent once; the page then works with this browser's session (an HttpOnly cookie).",
    signIn: "Sign in", signOut: "Sign out", language: "日本語", openMap: "Open the map",
    badKey: "The key was not accepted", filters: "Filters", category: "Category", any: "Any",
    minHeight: "Minimum height (m)", minMountable: "Mountable height at least (m)",
    minLoad: "Spare load at least (kg)", minSlots: "Free slots at least", matchedAddress: "with that address",
    clear: "Clear", power: "Power", maxFibre: "Fibre within (m)", availability: "Availability",
    results: "List", matched: "in view", zoomHint: "Single assets from zoom 12; below, counts per cell.",
    export: "Export", areas: "Priority areas", gaps: "Uncovered areas", candidates: "Candidates near this gap",
    covered: "covered", uncovered: "uncovered", search: "Find a place", searchLabel: "Municipality, station or address",
    applications: "Applications", myApplications: "Our applications", apply: "Apply to use", purpose: "Purpose",
    startsOn: "Starts on", submit: "Submit", close: "Close", status: "Status", due: "Decision due",
    refusal: "Refusal reason", applied: "Application filed", ownAssets: "Our assets (drafts and withdrawn included)",
    pending: "Applications awaiting a decision", approve: "Approve", refuse: "Refuse",
    requestInfo: "Request information", reason: "Reason", decided: "Done", overdue: "overdue",
    municipalities: "Municipalities (assets)", chart: "Assets opened per prefecture",
    masked: "This asset is restricted: only the centre of its ~1 km mesh is shown (the owner's setting).",
    none: "none", loading: "Loading…", mapLabel: "Asset map", assetPanel: "Asset details",
    contact: "Contact", fee: "Fee rule", terms: "Terms", slots: "Free slots", constraints: "Constraints",
    permit: "Permit type", height: "Height", mountable: "Mountable height", load: "Spare load", fibre: "Fibre distance",
    area: "Area", address: "Address", lastVerified: "Last verified", visibility: "Visibility", assetStatus: "Status",
    owner: "Owner", offered: "offered", on_request: "on request", partly_available: "partly available",
    occupied: "occupied", reserved: "reserved", yes: "yes", no: "no", unknown: "unknown", submitted: "submitted",
    information_requested: "information requested", approved: "approved", refused: "refused", withdrawn: "withdrawn",
    installed: "installed", terminated: "terminated", draft: "draft", published: "published",
    rooftop: "rooftop", land: "land", structure: "structure", streetlight: "streetlight",
    traffic_signal: "traffic signal", utility_pole: "utility pole", bus_stop: "bus stop",
    subway_entrance: "subway entrance", park: "park", signage: "signage", other: "other",
    not_technically_suitable: "not technically suitable", no_space: "no space", safety_or_security: "safety or security",
    network_integrity: "network integrity", interference: "interference", alternative_offered: "alternative offered",
    basemapCredit: "Boundaries: Natural Earth", townHalls: "Town halls", stations: "Major stations",
  },
};

export let lang = localStorage.getItem("kyodo-lang") === "en" ? "en" : "ja";

export function t(key) {
  return words[lang][key] ?? words.ja[key] ?? key;
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

export function switchLanguage(onChange) {
  lang = lang === "ja" ? "en" : "ja";
  localStorage.setItem("kyodo-lang", lang);
  applyI18n();
  onChange?.();
}

"""Notification mail in Japanese (English on request): one subject line and a plain-text body per event.

Pure: the worker hands in the event's type and data and gets the text back; registry/mail/sender.py encodes it
(UTF-8, the subject RFC 2047-encoded, the body base64) so that every mail client shows it as written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

TITLES: dict[str, tuple[str, str]] = {
    "application.submitted": ("利用申請が提出されました", "An application was submitted"),
    "application.information_requested": ("利用申請について追加情報の提出が求められました",
                                          "Information was requested on an application"),
    "application.answered": ("追加情報が提出されました", "The carrier answered"),
    "application.approved": ("利用申請が承認されました", "An application was approved"),
    "application.refused": ("利用申請が不許可となりました", "An application was refused"),
    "application.withdrawn": ("利用申請が取り下げられました", "An application was withdrawn"),
    "application.installed": ("設置完了が報告されました", "Installation was reported"),
    "application.terminated": ("利用が終了しました", "A tenancy ended"),
    "application.decision_due_soon": ("利用申請の処理期限が近づいています", "A decision is due soon"),
    "application.information_due_soon": ("追加情報の提出期限が近づいています",
                                         "The date to answer an information request is near"),
    "application.overdue": ("利用申請が処理期限を過ぎました", "A decision is overdue"),
    "round.opened": ("共同調達の需要調査が始まりました", "A demand round opened"),
    "round.closing_soon": ("共同調達の需要調査の締切が近づいています", "A demand round closes soon"),
    "round.closed": ("共同調達の需要調査が締め切られました", "A demand round closed"),
    "round.firm": ("共同調達の参加が確定しました", "Pledges in a demand round are firm"),
    "tender.formed": ("共同入札が組成されました", "A shared tender was formed"),
    "tender.awarded": ("共同入札の落札者が決定しました", "A shared tender was awarded"),
    "contract.issued": ("契約が発行されました", "A contract was issued"),
    "asset.published": ("資産が公開されました", "Assets were published"),
    "asset.changed": ("資産が変更されました", "Assets changed"),
    "asset.withdrawn": ("資産が取り下げられました", "Assets were withdrawn"),
    "load.finished": ("ファイルの読み込みが完了しました", "A file load finished"),
}

REFUSAL_REASONS: dict[str, tuple[str, str]] = {
    "not_technically_suitable": ("技術的に適さないため", "not technically suitable"),
    "no_space": ("設置できる空きがないため", "no space left"),
    "safety_or_security": ("安全・保安上の理由のため", "safety or security"),
    "network_integrity": ("ネットワークの完全性を損なうおそれがあるため", "network integrity"),
    "interference": ("電波干渉のおそれがあるため", "interference"),
    "alternative_offered": ("代替となる資産を提示したため", "an alternative was offered"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "application_id": ("申請番号", "Application"), "municipality_code": ("団体コード", "Municipality"),
    "carrier_code": ("事業者", "Carrier"), "status": ("状態", "Status"), "decision_due": ("処理期限", "Decision due"),
    "information_due": ("追加情報の提出期限", "Information due"),
    "decision_note": ("備考", "Note"), "round_id": ("需要調査", "Round"), "tender_id": ("入札", "Tender"),
    "title": ("件名", "Title"), "closes_at": ("締切", "Closes"), "amount_yen": ("契約金額（円）", "Amount (yen)"),
    "supplier_name": ("落札者", "Supplier"), "count": ("件数", "Count"), "deemed": ("みなし承認", "Deemed"),
}

SIGNATURE = ("このメールは Kyodo Registry から自動送信されています。配信の停止や頻度の変更は "
             "/v1/contacts で設定できます。", "Sent by Kyodo Registry. Change or stop these mails at /v1/contacts.")


def render(event_type: str, data: dict[str, Any], language: str = "ja") -> tuple[str, str]:
    """(subject, body) of the mail for one event."""
    i = 1 if language == "en" else 0
    title = TITLES.get(event_type, (event_type, event_type))[i]
    ref = data.get("application_id") or data.get("tender_id") or data.get("round_id") or ""
    subject = f"[Kyodo] {title}" + (f"（{str(ref)[:8]}）" if ref and i == 0 else f" ({str(ref)[:8]})" if ref else "")
    lines = [title, ""]
    for key, labels in FIELDS.items():
        if data.get(key) not in (None, ""):
            lines.append(f"{labels[i]}: {_value(key, data[key], i)}")
    reason = data.get("refusal_reason")
    if reason:
        lines.append(("不許可の理由: " if i == 0 else "Reason: ") + REFUSAL_REASONS.get(reason, (reason, reason))[i])
    lines += ["", SIGNATURE[i]]
    return subject, "\n".join(lines) + "\n"


def _value(key: str, value: Any, i: int) -> str:
    if key == "deemed":
        return ("はい" if value else "いいえ") if i == 0 else ("yes" if value else "no")
    if key == "amount_yen" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_digest(items: list[tuple[str, dt.date | None, str]], language: str = "ja") -> tuple[str, str]:
    """The daily digest: pending decisions and approaching deadlines, (what, due date, status) each."""
    i = 1 if language == "en" else 0
    subject = ("[Kyodo] 本日の未処理案件と期限（{n}件）" if i == 0
               else "[Kyodo] Pending today ({n})").format(n=len(items))
    head = "処理待ちの申請と近づいている期限:" if i == 0 else "Pending decisions and approaching deadlines:"
    lines = [head, ""]
    for what, due, status in items:
        due_text = due.isoformat() if due else "-"
        lines.append(f"- {what}  {('期限' if i == 0 else 'due')} {due_text}  ({status})")
    return subject, "\n".join([*lines, "", SIGNATURE[i]]) + "\n"

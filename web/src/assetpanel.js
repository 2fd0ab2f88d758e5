// The asset panel: every suitability attribute, the terms, slots, constraints and the owner's contact;
// for a carrier, "apply" files a usage application (POST /v1/applications, Idempotency-Key per form).
import { api, el, toast } from "./map.js";
import { t } from "./i18n.js";

const detail = () => document.getElementById("detail");
const metres = (v, unit = "m") => (v === null || v === undefined ? "—" : `${v} ${unit}`);

export function closePanel() {
  detail().hidden = true;
  detail().replaceChildren();
}

export async function openAsset(id, { canApply = false, onApplied } = {}) {
  const feature = await api(`/v1/assets/${id}`);
  const p = feature.properties;
  const rows = [
    [t("category"), t(p.category)], [t("owner"), p.municipality_code], [t("address"), p.address ?? "—"],
    [t("height"), metres(p.height_m)], [t("mountable"), metres(p.mountable_height_m)],
    [t("load"), metres(p.spare_load_kg, "kg")], [t("power"), t(p.power)], [t("fibre"), metres(p.fibre_distance_m)],
    [t("area"), metres(p.area_m2, "m²")], [t("availability"), t(p.availability)],
    [t("slots"), `${Math.max(p.max_tenants - p.current_tenants, 0)} / ${p.max_tenants}`],
    [t("constraints"), p.constraints.length ? p.constraints.join("、") : t("none")],
    [t("fee"), p.fee_rule ?? "—"], [t("permit"), p.permit_type ?? "—"], [t("contact"), p.contact ?? "—"],
    [t("lastVerified"), p.last_verified ?? "—"], [t("visibility"), p.visibility], [t("assetStatus"), t(p.status)],
  ];
  const panel = detail();
  const close = el("button", { type: "button", class: "secondary", onclick: closePanel }, t("close"));
  panel.replaceChildren(
    el("div", { class: "row" }, el("h2", { id: "asset-title" }, p.name), close),
    p.coarse_location ? el("p", { class: "note", id: "masked-note" }, t("masked")) : null,
    el("dl", {}, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])),
  );
  panel.dataset.assetId = id;
  panel.setAttribute("aria-labelledby", "asset-title");
  if (canApply) panel.append(applyForm(id, onApplied));
  panel.hidden = false;
  panel.focus();
}

function applyForm(id, onApplied) {
  const starts = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  const idempotency = crypto.randomUUID();
  const form = el("form", { id: "apply-form", class: "card" },
    el("h3", {}, t("apply")),
    el("label", { for: "purpose" }, t("purpose")),
    el("input", { id: "purpose", required: true, value: "5G small cell" }),
    el("label", { for: "starts-on" }, t("startsOn")),
    el("input", { id: "starts-on", type: "date", required: true, value: starts }),
    el("button", { type: "submit" }, t("submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("/v1/applications", {
        method: "POST", headers: { "Idempotency-Key": idempotency },
        body: { asset_ids: [id], purpose: form.querySelector("#purpose").value,
                starts_on: form.querySelector("#starts-on").value },
      });
      toast(t("applied"));
      form.replaceChildren(el("p", { id: "applied", "data-application": created.application_id }, t("applied")));
      onApplied?.(created);
    } catch (error) {
      toast(error.message);
    }
  });
  return form;
}

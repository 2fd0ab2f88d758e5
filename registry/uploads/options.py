"""An upload's parameters → one validated value, pure: each error names the parameter and says what to send."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from pyproj import CRS
from pyproj.exceptions import CRSError

from loaders.formats import LoadError, detect_format
from loaders.mapping import parse_pairs
from registry.i18n import message_of, tr
from registry.problems import Problem, invalid_field

_CRS_EXAMPLES = "e.g. EPSG:6677 (JGD2011 plane rectangular zone IX, Tokyo) or 6668 (JGD2011 latitude/longitude)"


class UnreadableFile(Problem):
    status, title, slug = 400, tr("Unreadable file"), "unreadable-file"


class UploadOptions(msgspec.Struct, frozen=True, kw_only=True):
    dry_run: bool
    format: str
    """geojson, gpkg, shapefile, csv or xlsx: from the `format` parameter or field, the Content-Type, the name or
    the first bytes."""
    columns: dict[str, list[str]]
    defaults: dict[str, str]
    layer: str | None
    sheet: str | None
    """The sheet of an .xlsx workbook; the first when not given."""
    publish: bool
    """Publish the file's assets; else new ones are drafts and existing ones keep their status."""
    source_crs: int | None
    """The EPSG code of a file that declares no coordinate system."""


def parse_source_crs(value: str | None) -> int | None:
    """An EPSG code from anything pyproj reads (6677, EPSG:6677, a PROJ string that has one), or a 422."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        crs = CRS.from_user_input(int(text) if text.isdigit() else text)
    except CRSError:
        raise invalid_field("source_crs", tr("{value} is not a coordinate reference system; send an EPSG "
                                             "code, {crs_examples}",
                                             value=f"{value!r}", crs_examples=_CRS_EXAMPLES)) from None
    epsg = crs.to_epsg()
    if epsg is None or not (crs.is_geographic or crs.is_projected):
        raise invalid_field("source_crs", tr("{value} names no horizontal EPSG coordinate reference "
                                             "system; send one, {crs_examples}",
                                             value=f"{value!r}", crs_examples=_CRS_EXAMPLES))
    return epsg


def parse_mapping(text: str | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    """`mapping`: JSON like a mapping file, or attr=column pairs separated by commas."""
    if not text:
        return {}, {}
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise invalid_field("mapping", tr("not valid JSON: {exc}", exc=exc)) from exc
        if not isinstance(doc, dict):
            raise invalid_field("mapping", tr("expected a JSON object of attribute: column"))
        raw = doc.get("columns", {} if "defaults" in doc else doc)
        defaults = doc.get("defaults", {})
        if not isinstance(raw, dict) or not isinstance(defaults, dict):
            raise invalid_field("mapping", tr("'columns' and 'defaults' are JSON objects"))
        columns = {str(k): [str(c) for c in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
        return columns, {str(k): str(v) for k, v in defaults.items()}
    try:
        pairs = parse_pairs([p for p in text.split(",") if p.strip()], "mapping")
    except LoadError as exc:
        raise invalid_field("mapping", tr("the column mapping cannot be used: {error}", error=message_of(exc))) from exc
    return {k: [c.strip() for c in v.split("+")] for k, v in pairs.items()}, {}


def parse_options(data: bytes, filename: str, fields: dict[str, Any], content_type: str, *, dry_run: bool,
                  format: str | None, mapping: str | None, default: str | None, layer: str | None,
                  source_crs: str | None, sheet: str | None = None, publish: bool = False) -> UploadOptions:
    """Query parameters and multipart fields (`format`, `mapping`) of an upload of `data`, checked."""
    epsg = parse_source_crs(source_crs)
    if not data.strip():
        raise UnreadableFile(tr("The uploaded file is empty."))
    hint = format
    if hint is None and fields.get("format"):
        hint = fields["format"]
    if hint is None:
        ctype = content_type.split(";")[0].strip()
        if ctype and not ctype.startswith(("multipart/", "application/octet-stream")):
            hint = ctype
    try:
        kind = detect_format(filename, data[:64], hint)
    except LoadError as exc:
        raise invalid_field("format", tr("the file's format is not one the loader reads: {error}",
                                         error=message_of(exc))) from exc
    columns, defaults = parse_mapping(fields.get("mapping") or mapping)
    if default:
        try:
            defaults.update(parse_pairs([p for p in default.split(",") if p.strip()], "default"))
        except LoadError as exc:
            raise invalid_field("default", tr("the defaults cannot be used: {error}",
                                                       error=message_of(exc))) from exc
    return UploadOptions(dry_run=dry_run, format=kind, columns=columns, defaults=defaults, layer=layer,
                         sheet=sheet or fields.get("sheet") or None, publish=publish, source_crs=epsg)

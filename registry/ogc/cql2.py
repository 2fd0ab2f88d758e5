"""CQL2 filters (OGC API Features Part 3) → one SQL boolean expression, pure: no database, no routes.

The `cql2` library parses and normalises both encodings to CQL2 JSON; this module walks that tree
and writes SQL in which every value is a `$n` parameter and every column comes from the caller's
queryables mapping, never from the filter text. The same mapping answers `/queryables`, so the
schema a client reads and the properties a filter may name cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import cql2

from registry.i18n import tr
from registry.ogc.cql2_literals import _bad, _bbox_polygon, _check_coordinates, _temporal, _valid_geojson
from registry.problems import invalid_field

ColumnType = Literal["string", "number", "integer", "boolean", "timestamp", "date", "geometry"]
Lang = Literal["cql2-text", "cql2-json"]

MAX_CHARS = 50_000
MAX_NODES = 200
# cql2 0.6.0's parser recurses on the native stack and crashes the whole process (SIGSEGV, not an
# exception) at about 2,000 nested parentheses or 5,000 chained NOT / unary minus; 1,000 of each
# parse. These bounds stay far below, and no real filter comes near them.
MAX_DEPTH = 40
MAX_PREFIX_RUN = 10

_SQL_CAST = {"string": "text", "boolean": "boolean", "timestamp": "timestamptz", "date": "date"}
_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FAMILY = {"integer": "number"}  # comparable with each other
_SPATIAL = {"s_intersects": "ST_Intersects", "s_within": "ST_Within"}
_GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                   "GeometryCollection"}


@dataclass(frozen=True)
class Column:
    """A queryable: the SQL expression it reads (trusted, from code) and its type."""
    sql: str
    type: ColumnType
    title: str | None = None
    description: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Translated:
    sql: str
    params: list[object]


_STRINGS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_PREFIX_RUN = re.compile(r"(?:(?:\bNOT\b|[-+])\s*){" + str(MAX_PREFIX_RUN + 1) + ",}", re.I)


def _check_text_shape(text: str) -> None:
    bare = _STRINGS.sub("''", text)
    depth = deepest = 0
    for ch in bare:
        depth += (ch in "([") - (ch in ")]")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise _bad(tr("parentheses are nested {deepest} deep; at most {max_depth} are accepted, simplify "
                      "the filter", deepest=deepest, max_depth=MAX_DEPTH))
    if _PREFIX_RUN.search(bare):
        raise _bad(tr("more than {max_prefix_run} NOT or signs in a row; remove the redundant ones",
                      max_prefix_run=MAX_PREFIX_RUN))


def _json_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _parse_error(exc: Exception, lang: Lang) -> Exception:
    text = str(exc)
    where = re.search(r"-->\s*(\d+):(\d+)", text)
    expected = re.search(r"=\s*(expected .*)", text)
    if where:
        return _bad(tr("not valid {lang} at line {line}, column {column}: {expected}",
                       lang=lang, line=where.group(1), column=where.group(2),
                       expected=expected.group(1) if expected else tr("unexpected input")))
    return _bad(tr("not valid {lang}: {error}",
                   lang=lang, error=text.strip().splitlines()[0] if text.strip() else tr("cannot be read")))


def parse(filter_text: str, lang: Lang) -> Any:
    """The filter as normalised CQL2 JSON (plain Python values), or a 422 saying what is wrong."""
    if len(filter_text) > MAX_CHARS:
        raise _bad(tr("is {filter_text_count} characters long; at most {max_chars} are accepted",
                      filter_text_count=f"{len(filter_text):,}", max_chars=f"{MAX_CHARS:,}"))
    if not filter_text.strip():
        raise _bad(tr("is empty; give a CQL2 expression such as category = 'rooftop'"))
    try:
        if lang == "cql2-text":
            _check_text_shape(filter_text)
            expr = cql2.parse_text(filter_text)
        elif lang == "cql2-json":
            try:
                too_deep = _json_depth(json.loads(filter_text)) > MAX_DEPTH
            except RecursionError:
                too_deep = True
            except ValueError as exc:
                raise _bad(tr("not valid JSON: {exc}", exc=exc)) from exc
            if too_deep:
                raise _bad(tr("nested more than {max_depth} levels deep; simplify the filter", max_depth=MAX_DEPTH))
            expr = cql2.parse_json(filter_text)
        else:
            raise invalid_field("filter-lang", tr("must be cql2-text or cql2-json"))
        return expr.to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        raise _parse_error(exc, lang) from exc



@dataclass(frozen=True)
class _Prop:
    name: str
    column: Column


class _Writer:
    def __init__(self, queryables: Mapping[str, Column], first_param: int) -> None:
        self.queryables = queryables
        self.params: list[object] = []
        self.first = first_param

    def param(self, value: object, cast: str) -> str:
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}::{cast}"

    def prop(self, node: Any) -> _Prop | None:
        if isinstance(node, dict) and set(node) == {"property"}:
            name = node["property"]
            column = self.queryables.get(name) if isinstance(name, str) else None
            if column is None:
                known = ", ".join(sorted(self.queryables))
                raise _bad(tr("unknown property {name}; the queryables are {known}", name=f"{name!r}", known=known))
            return _Prop(name, column)
        return None

    def literal(self, node: Any, want: ColumnType, prop: str) -> str:
        """A literal compared with a property of type `want`, as a typed parameter."""
        kind, value = _literal_kind(node)
        if kind is None:
            raise _bad(tr("{node} is not a value; compare {prop} with a literal such as 'text', 12.5, "
                          "true, DATE('2024-04-01') or TIMESTAMP('2024-04-01T00:00:00Z')",
                          node=_show(node), prop=prop))
        if kind == "null":
            raise _bad(tr("compare {prop} with NULL using '{prop} IS NULL' instead", prop=prop))
        if want in ("number", "integer") and kind == "number":
            # numeric, not float8: 20.1 compares exactly with numeric(7, 2) columns, and an integer
            # column compared with 2.5 stays a valid question.
            return self.param(Decimal(repr(value)), "numeric")
        if want == kind:
            if kind in ("timestamp", "date"):
                value = _temporal(kind, value, prop)
            return self.param(value, _SQL_CAST[want])
        raise _bad(tr("{prop} is a {want}, but {node} is a {kind}",
                      prop=prop, want=want, node=_show(node), kind=kind))

    def check_enum(self, p: _Prop, values: list[object]) -> None:
        if p.column.enum is None:
            return
        for value in values:
            if isinstance(value, str) and value not in p.column.enum:
                raise _bad(tr("{value} is not a {name}; use one of {enum}",
                              value=f"{value!r}", name=p.name, enum=', '.join(p.column.enum)))

    def geometry(self, node: Any) -> str:
        p = self.prop(node)
        if p is not None:
            if p.column.type != "geometry":
                raise _bad(tr("{name} is a {type}, not a geometry; spatial operators take the geometry",
                              name=p.name, type=p.column.type))
            return p.column.sql
        if isinstance(node, dict) and set(node) == {"bbox"}:
            node = _bbox_polygon(node["bbox"])
        if isinstance(node, dict) and node.get("type") in _GEOMETRY_TYPES:
            _check_coordinates(node)
            return f"ST_SetSRID(ST_GeomFromGeoJSON({self.param(_valid_geojson(node), 'text')}), 4326)"
        raise _bad(tr("{node} is not a geometry; give a WKT or GeoJSON geometry in longitude, latitude "
                      "(WGS 84)", node=_show(node)))

    def predicate(self, node: Any) -> str:
        if isinstance(node, bool):
            return self.param(node, "boolean")
        p = self.prop(node)
        if p is not None:
            if p.column.type != "boolean":
                raise _bad(tr("{name} alone is not a condition; compare it, e.g. {name} = ...", name=p.name))
            return p.column.sql
        if not (isinstance(node, dict) and isinstance(node.get("op"), str) and isinstance(node.get("args"), list)):
            raise _bad(tr("{node} is not a condition", node=_show(node)))
        op, args = node["op"].lower(), node["args"]
        if op in ("and", "or"):
            if len(args) < 2:
                raise _bad(tr("{op} needs at least two conditions", op=op.upper()))
            return "(" + f" {op.upper()} ".join(self.predicate(a) for a in args) + ")"
        if op == "not":
            _arity(op, args, 1)
            return f"(NOT {self.predicate(args[0])})"
        if op in _COMPARISONS:
            return self.comparison(op, args)
        if op == "like":
            _arity("LIKE", args, 2)
            p = self.property_of("LIKE", args[0], ("string",))
            if not isinstance(args[1], str):
                raise _bad(tr("LIKE needs a text pattern such as 'Chiyoda%', not {show}", show=_show(args[1])))
            return f"({p.column.sql} LIKE {self.param(args[1], 'text')})"
        if op == "in":
            _arity("IN", args, 2)
            p = self.property_of("IN", args[0], ("string", "number", "integer", "boolean", "timestamp", "date"))
            if not isinstance(args[1], list) or not args[1]:
                raise _bad(tr("IN needs a non-empty list, e.g. {name} IN ('a', 'b')", name=p.name))
            self.check_enum(p, args[1])
            values = [self.literal(v, p.column.type, p.name) for v in args[1]]
            return f"({p.column.sql} IN ({', '.join(values)}))"
        if op == "between":
            _arity("BETWEEN", args, 3)
            p = self.property_of("BETWEEN", args[0], ("number", "integer", "timestamp", "date"))
            low, high = (self.literal(v, p.column.type, p.name) for v in args[1:])
            return f"({p.column.sql} BETWEEN {low} AND {high})"
        if op == "isnull":
            _arity("IS NULL", args, 1)
            p = self.prop(args[0])
            if p is None:
                raise _bad(tr("IS NULL applies to a property, not {show}", show=_show(args[0])))
            return f"({p.column.sql} IS NULL)"
        if op in _SPATIAL:
            _arity(op.upper(), args, 2)
            return f"{_SPATIAL[op]}({self.geometry(args[0])}, {self.geometry(args[1])})"
        if op == "s_dwithin":
            _arity("S_DWITHIN", args, 3)
            a, b, distance = self.geometry(args[0]), self.geometry(args[1]), args[2]
            if isinstance(distance, bool) or not isinstance(distance, int | float) or not math.isfinite(distance) \
                    or distance < 0:
                raise _bad(tr("S_DWITHIN's distance is metres, a number 0 or more, not {distance}",
                              distance=_show(distance)))
            return f"ST_DWithin(({a})::geography, ({b})::geography, {self.param(float(distance), 'float8')})"
        raise _bad(tr("the operator {node} is not supported; use =, <>, <, <=, >, >=, AND, OR, NOT, IN, "
                      "BETWEEN, LIKE, IS NULL, S_INTERSECTS, S_WITHIN or S_DWITHIN",
                      node=f"{node['op']!r}"))

    def property_of(self, op: str, node: Any, types: tuple[ColumnType, ...]) -> _Prop:
        p = self.prop(node)
        if p is None:
            raise _bad(tr("{op} applies to a property, not {node}", op=op, node=_show(node)))
        if p.column.type not in types:
            raise _bad(tr("{op} does not apply to {name}, a {type}", op=op, name=p.name, type=p.column.type))
        return p

    def comparison(self, op: str, args: list[Any]) -> str:
        _arity(op, args, 2)
        left, right = self.prop(args[0]), self.prop(args[1])
        if left is None and right is None:
            raise _bad(tr("{show} {op} {show2} compares two values; name a property on one side",
                          show=_show(args[0]), op=op, show2=_show(args[1])))
        if left is not None and right is not None:
            if _FAMILY.get(left.column.type, left.column.type) != _FAMILY.get(right.column.type, right.column.type):
                raise _bad(tr("{name} is a {type} and {name2} a {type2}; they cannot be compared",
                              name=left.name, type=left.column.type, name2=right.name, type2=right.column.type))
            sides = (left.column.sql, right.column.sql)
        else:
            p, other = (left, args[1]) if left is not None else (right, args[0])  # type: ignore[assignment]
            if p.column.type == "geometry":
                raise _bad(tr("{name} is a geometry; use S_INTERSECTS, S_WITHIN or S_DWITHIN", name=p.name))
            if op not in ("=", "<>") and p.column.type in ("string", "boolean") and p.column.enum is not None:
                raise _bad(tr("{name} is one of {enum}; compare it with = or <> or IN",
                              name=p.name, enum=', '.join(p.column.enum)))
            if op in ("=", "<>"):
                self.check_enum(p, [other])
            value = self.literal(other, p.column.type, p.name)
            sides = (p.column.sql, value) if left is not None else (value, p.column.sql)
        return f"({sides[0]} {_COMPARISONS[op]} {sides[1]})"


def _arity(op: str, args: list[Any], n: int) -> None:
    if len(args) != n:
        raise _bad(tr("{op} takes {n} argument(s), got {arg_count}", op=op.upper(), n=n, arg_count=len(args)))


def _literal_kind(node: Any) -> tuple[str | None, Any]:
    if node is None:
        return "null", None
    if isinstance(node, bool):
        return "boolean", node
    if isinstance(node, int | float):
        return ("number" if math.isfinite(node) else None), node
    if isinstance(node, str):
        return "string", node
    if isinstance(node, dict) and len(node) == 1 and set(node) <= {"timestamp", "date"}:
        kind, value = next(iter(node.items()))
        return (kind if isinstance(value, str) else None), value
    return None, node


def _show(node: Any) -> str:
    text = json.dumps(node, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _count_nodes(tree: Any) -> int:
    """Operators, properties and values; a geometry counts as one (MAX_CHARS bounds its size)."""
    count, stack = 0, [tree]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict) and isinstance(item.get("args"), list):
            stack.extend(item["args"])
        elif isinstance(item, list):
            stack.extend(item)
    return count


def translate(filter_text: str, lang: Lang, queryables: Mapping[str, Column], first_param: int = 1) -> Translated:
    """`filter_text` as a SQL boolean expression whose parameters start at `$first_param`."""
    tree = parse(filter_text, lang)
    nodes = _count_nodes(tree)
    if nodes > MAX_NODES:
        raise _bad(tr("has {nodes} parts (operators, properties and values); at most {max_nodes} are "
                      "accepted", nodes=nodes, max_nodes=MAX_NODES))
    writer = _Writer(queryables, first_param)
    return Translated(writer.predicate(tree), writer.params)


_SCHEMA_TYPES: dict[ColumnType, dict[str, str]] = {
    "string": {"type": "string"}, "number": {"type": "number"}, "integer": {"type": "integer"},
    "boolean": {"type": "boolean"}, "timestamp": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "geometry": {"format": "geometry-any", "x-ogc-role": "primary-geometry"},
}


def queryables_schema(collection_title: str, queryables: Mapping[str, Column], schema_id: str | None = None) -> dict:
    """The JSON Schema `/ogc/collections/{id}/queryables` serves, from the mapping `translate` reads."""
    properties: dict[str, dict[str, Any]] = {}
    for name, column in queryables.items():
        entry: dict[str, Any] = dict(_SCHEMA_TYPES[column.type])
        entry |= {"title": column.title} if column.title else {}
        entry |= {"description": column.description} if column.description else {}
        entry |= {"enum": list(column.enum)} if column.enum is not None else {}
        properties[name] = entry
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                              "title": collection_title, "properties": properties, "additionalProperties": False}
    schema |= {"$id": schema_id} if schema_id else {}
    return schema

"""WGS84 positions and areas.

Owns the signed forms, their checks and renderings:
- position: ``{"lat": "44.615", "lon": "32.3"}``, decimal degrees as strings (never floats, so
  nothing is rounded on the way to a signature), at most 6 decimal places (about 0.1 m), in
  canonical spelling (no trailing zeros, no ``+``, no ``-0``), lat within ±90, lon within ±180;
  rendered as DMS with hemisphere in the reader's language, then the exact decimal degrees;
- area: a circle ``{"kind": "circle", "centre": position, "radius_nm": "20"}`` (radius in
  nautical miles, up to 2 decimals, rendered also in km, exactly: 1 NM = 1.852 km) or a polygon
  ``{"kind": "polygon", "points": [position, ...]}`` of 3..64 distinct vertices, either left
  open or closed by repeating the first point (the signed value keeps what the author wrote).
  Edges are straight lines in latitude/longitude; a polygon must not cross itself, must have an
  area, and must not cross the 180th meridian (split such an area in two).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction

from detente.core.formats.checks import expect_choice, expect_list, expect_object, expect_str
from detente.core.formats.errors import FieldError, kind_of
from detente.core.formats.lang import Lang, plural

MAX_POLYGON_POINTS = 64
MAX_RADIUS_NM = Decimal(5000)

Position = dict[str, str]

_HEMISPHERES: dict[Lang, tuple[str, str, str, str]] = {
    # north, south, east, west
    "en": ("N", "S", "E", "W"),
    "ru": (" с. ш.", " ю. ш.", " в. д.", " з. д."),
    "uk": (" пн. ш.", " пд. ш.", " сх. д.", " зх. д."),
}
_NORTH = {h[0].strip() for h in _HEMISPHERES.values()}
_SOUTH = {h[1].strip() for h in _HEMISPHERES.values()}
_EAST = {h[2].strip() for h in _HEMISPHERES.values()}
_WEST = {h[3].strip() for h in _HEMISPHERES.values()}


def canonical_decimal(number: Decimal) -> str:
    """The one spelling of ``number`` that the formats accept: no exponent, no trailing zeros."""
    if number == 0:
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def check_decimal(
    value: object, path: str, *, digits: int, low: Decimal, high: Decimal, what: str
) -> Decimal:
    text = expect_str(value, path)
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise FieldError(path, "pattern", value=text, what=what)
    number = Decimal(text)
    canonical = canonical_decimal(number)
    fraction = canonical.partition(".")[2]
    if len(fraction) > digits:
        raise FieldError(path, "too_precise", value=text, digits=digits)
    if text != canonical:
        raise FieldError(path, "not_canonical", value=text, canonical=canonical)
    if not low <= number <= high:
        raise FieldError(path, "out_of_range", value=text, min=str(low), max=str(high))
    return number


def check_position(value: object, path: str) -> Position:
    obj = expect_object(value, path, ("lat", "lon"))
    lat = check_decimal(
        obj["lat"], f"{path}.lat", digits=6, low=Decimal(-90), high=Decimal(90), what="latitude"
    )
    lon = check_decimal(
        obj["lon"], f"{path}.lon", digits=6, low=Decimal(-180), high=Decimal(180), what="longitude"
    )
    return {"lat": canonical_decimal(lat), "lon": canonical_decimal(lon)}


def _dms(degrees: Decimal, positive: str, negative: str, width: int) -> str:
    # Seconds to 0.001" (about 3 cm) are fine enough that parsing the DMS text and rounding to
    # 6 decimal degrees gives back the exact signed value; the decimal form is shown as well.
    total = (abs(degrees) * 3600).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    whole = int(total // 3600)
    minutes = int((total - whole * 3600) // 60)
    seconds = total - whole * 3600 - minutes * 60
    sec_text = canonical_decimal(seconds)
    if seconds < 10:
        sec_text = "0" + sec_text
    hemisphere = negative if degrees < 0 else positive
    return f"{whole:0{width}d}°{minutes:02d}′{sec_text}″{hemisphere}"


def render_dms(position: Position, lang: Lang) -> str:
    north, south, east, west = _HEMISPHERES[lang]
    lat, lon = Decimal(position["lat"]), Decimal(position["lon"])
    return f"{_dms(lat, north, south, 2)}, {_dms(lon, east, west, 3)}"


def render_dd(position: Position) -> str:
    return f"{position['lat']}, {position['lon']}"


def render_position(position: Position, lang: Lang) -> str:
    return f"{render_dms(position, lang)} ({render_dd(position)})"


_DD_TEXT = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*,\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")
_DMS_PART = r"(\d{1,3})°\s*(\d{1,2})[′']\s*(\d{1,2}(?:\.\d+)?)[″\"]\s*([^\d,()]+?)"
_DMS_TEXT = re.compile(rf"^\s*{_DMS_PART}\s*,?\s*{_DMS_PART}\s*(?:\(.*\))?\s*$")


def parse_dd(text: str) -> Position:
    """Signed form of ``"lat, lon"`` in decimal degrees; more than 6 decimals is refused."""
    m = _DD_TEXT.match(text)
    if m is None:
        raise FieldError("(text)", "pattern", value=text, what="position")
    lat, lon = (canonical_decimal(Decimal(g)) for g in m.groups())
    return check_position({"lat": lat, "lon": lon}, "(text)")


def parse_dms(text: str) -> Position:
    """Signed form of a DMS position written in any of the three languages.

    DMS text can say more (or less) than 6 decimal degrees can hold: the result is explicitly
    rounded half-even to 6 decimal places, about 0.1 m. This is the one rounding in this module,
    and it happens here, at typing time, never during validation of a value to be signed.
    """
    m = _DMS_TEXT.match(text)
    if m is None:
        raise FieldError("(text)", "pattern", value=text, what="position")
    lat = _dms_value(m.group(1), m.group(2), m.group(3), m.group(4).strip(), _NORTH, _SOUTH, text)
    lon = _dms_value(m.group(5), m.group(6), m.group(7), m.group(8).strip(), _EAST, _WEST, text)
    return check_position({"lat": lat, "lon": lon}, "(text)")


def _dms_value(
    deg: str, minutes: str, seconds: str, hemi: str, pos: set[str], neg: set[str], text: str
) -> str:
    if int(minutes) >= 60 or Decimal(seconds) >= 60 or hemi not in pos | neg:
        raise FieldError("(text)", "pattern", value=text, what="position")
    exact = Fraction(int(deg)) + Fraction(int(minutes), 60) + Fraction(Decimal(seconds)) / 3600
    try:
        number = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_EVEN
        )
    except InvalidOperation as exc:  # pragma: no cover - bounded by the regex
        raise FieldError("(text)", "pattern", value=text, what="position") from exc
    if hemi in neg:
        number = -number
    return canonical_decimal(number)


def check_area(value: object, path: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise FieldError(path, "wrong_type", expected="object", got=kind_of(value))
    if "kind" not in value:
        raise FieldError(f"{path}.kind", "required")
    kind = expect_choice(value["kind"], f"{path}.kind", ("circle", "polygon"))
    if kind == "circle":
        obj = expect_object(value, path, ("kind", "centre", "radius_nm"))
        centre = check_position(obj["centre"], f"{path}.centre")
        radius = check_decimal(
            obj["radius_nm"],
            f"{path}.radius_nm",
            digits=2,
            low=Decimal("0.01"),
            high=MAX_RADIUS_NM,
            what="radius",
        )
        return {"kind": "circle", "centre": centre, "radius_nm": canonical_decimal(radius)}
    obj = expect_object(value, path, ("kind", "points"))
    raw = expect_list(obj["points"], f"{path}.points", 3, MAX_POLYGON_POINTS + 1)
    points = [check_position(p, f"{path}.points[{i}]") for i, p in enumerate(raw)]
    check_polygon(points, f"{path}.points")
    return {"kind": "polygon", "points": points}


def polygon_vertices(points: list[Position]) -> list[Position]:
    """The distinct vertices: a closing point equal to the first is not a vertex of its own."""
    if len(points) > 3 and points[-1] == points[0]:
        return points[:-1]
    return points


def check_polygon(points: list[Position], path: str) -> None:
    vertices = polygon_vertices(points)
    if len(vertices) < 3:
        raise FieldError(path, "too_few_items", min=3, count=len(vertices))
    if len(vertices) > MAX_POLYGON_POINTS:
        raise FieldError(path, "too_many_items", max=MAX_POLYGON_POINTS, count=len(vertices))
    seen: dict[tuple[str, str], int] = {}
    for i, p in enumerate(vertices):
        key = (p["lat"], p["lon"])
        if key in seen:
            raise FieldError(path, "duplicate_point", a=seen[key] + 1, b=i + 1)
        seen[key] = i
    xy = [(Fraction(Decimal(p["lon"])), Fraction(Decimal(p["lat"]))) for p in vertices]
    n = len(xy)
    for i in range(n):
        if abs(xy[(i + 1) % n][0] - xy[i][0]) > 180:
            raise FieldError(path, "antimeridian", a=i + 1)
    for i in range(n):
        a, b = xy[i], xy[(i + 1) % n]
        for j in range(i + 1, n):
            c, d = xy[j], xy[(j + 1) % n]
            if j == i + 1 or (i == 0 and j == n - 1):
                # Neighbours share a vertex; they only conflict if they fold back onto each other.
                shared = b if j == i + 1 else a
                other_ab = a if j == i + 1 else b
                other_cd = d if j == i + 1 else c
                if _orient(other_ab, shared, other_cd) == 0 and (
                    _on_segment(other_ab, shared, other_cd) or _on_segment(other_cd, shared, other_ab)
                ):
                    raise FieldError(path, "self_intersection", a=i + 1, b=j + 1)
                continue
            if _segments_meet(a, b, c, d):
                raise FieldError(path, "self_intersection", a=i + 1, b=j + 1)
    # Checked last: a crossing polygon (a "bow tie") can also have zero signed area.
    twice_area = sum(xy[i][0] * xy[(i + 1) % n][1] - xy[(i + 1) % n][0] * xy[i][1] for i in range(n))
    if twice_area == 0:
        raise FieldError(path, "degenerate_polygon")


XY = tuple[Fraction, Fraction]


def _orient(p: XY, q: XY, r: XY) -> int:
    value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    return (value > 0) - (value < 0)


def _on_segment(p: XY, q: XY, r: XY) -> bool:
    """r lies on the segment p–q (given the three are collinear)."""
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def _segments_meet(a: XY, b: XY, c: XY, d: XY) -> bool:
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if o1 != o2 and o3 != o4 and 0 not in (o1, o2, o3, o4):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


_NM_KM = Decimal("1.852")

_CIRCLE_WORDS: dict[Lang, str] = {
    "en": "circle, centre {centre}, radius {radius} ({km} km)",
    "ru": "круг с центром в точке {centre}, радиус {radius} ({km} км)",
    "uk": "коло з центром у точці {centre}, радіус {radius} ({km} км)",
}
_POLYGON_WORDS: dict[Lang, str] = {
    "en": "polygon, {n} vertices{closed}:",
    "ru": "многоугольник, число вершин — {n}{closed}:",
    "uk": "багатокутник, кількість вершин — {n}{closed}:",
}
_CLOSED: dict[Lang, str] = {
    "en": " (closed by repeating the first point)",
    "ru": " (замкнут повтором первой точки)",
    "uk": " (замкнено повтором першої точки)",
}


def render_nm(radius: Decimal, lang: Lang) -> str:
    text = canonical_decimal(radius)
    if lang == "en":
        return f"{text} NM"
    if lang == "ru":
        unit = plural(radius, "морская миля", "морские мили", "морских миль", "морской мили")
    else:
        unit = plural(radius, "морська миля", "морські милі", "морських миль", "морської милі")
    return f"{text} {unit}"


def render_area(value: dict[str, object], lang: Lang) -> list[str]:
    if value["kind"] == "circle":
        centre = value["centre"]
        radius = Decimal(str(value["radius_nm"]))
        assert isinstance(centre, dict)
        return [
            _CIRCLE_WORDS[lang].format(
                centre=render_position(centre, lang),
                radius=render_nm(radius, lang),
                km=canonical_decimal(radius * _NM_KM),
            )
        ]
    points = value["points"]
    assert isinstance(points, list)
    vertices = polygon_vertices(points)
    closed = _CLOSED[lang] if len(vertices) != len(points) else ""
    lines = [_POLYGON_WORDS[lang].format(n=len(vertices), closed=closed)]
    lines += [f"{i}. {render_position(p, lang)}" for i, p in enumerate(vertices, start=1)]
    return lines

"""Errors raised by the formats core, each able to explain itself in English, Russian and Ukrainian.

Owns: `FormatError` and its two kinds, `FieldError` (a value refused by validation, naming the
field path and the rule it broke) and `UnknownFormatError` (a format/version this catalog does not
hold), plus `CatalogError` for a format file refused at load. Rule texts live here, in one table,
so that a rule has the same meaning in every language.
"""

from __future__ import annotations

from collections.abc import Mapping

from detente.core.formats.lang import Lang

Param = str | int

# Names of JSON value kinds, for "expected an integer, got a string".
_KINDS: dict[str, dict[Lang, str]] = {
    "string": {"en": "a string", "ru": "строка", "uk": "рядок"},
    "integer": {"en": "an integer", "ru": "целое число", "uk": "ціле число"},
    "boolean": {"en": "a boolean", "ru": "логическое значение", "uk": "логічне значення"},
    "object": {"en": "an object", "ru": "объект", "uk": "об’єкт"},
    "list": {"en": "a list", "ru": "список", "uk": "список"},
    "null": {"en": "null", "ru": "null", "uk": "null"},
    "number": {"en": "a fractional number", "ru": "дробное число", "uk": "дробове число"},
    "other": {
        "en": "an unsupported value",
        "ru": "недопустимое значение",
        "uk": "неприпустиме значення",
    },
}

_RULES: dict[str, dict[Lang, str]] = {
    "required": {
        "en": "required field is missing",
        "ru": "отсутствует обязательное поле",
        "uk": "відсутнє обов’язкове поле",
    },
    "unknown_field": {
        "en": "unknown field: this format has no such field",
        "ru": "неизвестное поле: в этом формате такого поля нет",
        "uk": "невідоме поле: у цьому форматі такого поля немає",
    },
    "null": {
        "en": "null is not allowed; omit an optional field instead",
        "ru": "значение null не допускается; необязательное поле следует опустить",
        "uk": "значення null не допускається; необов’язкове поле слід пропустити",
    },
    "wrong_type": {
        "en": "expected {expected}, got {got}",
        "ru": "ожидается {expected}, получено: {got}",
        "uk": "очікується {expected}, отримано: {got}",
    },
    "out_of_range": {
        "en": "value {value} is outside the allowed range {min}..{max}",
        "ru": "значение {value} вне допустимого диапазона {min}..{max}",
        "uk": "значення {value} поза допустимим діапазоном {min}..{max}",
    },
    "unknown_enum": {
        "en": "unknown value {value!r}; allowed: {allowed}",
        "ru": "недопустимое значение {value!r}; допустимые: {allowed}",
        "uk": "неприпустиме значення {value!r}; допустимі: {allowed}",
    },
    "pattern": {
        "en": "{value!r} is not a valid {what}",
        "ru": "{value!r} не является допустимым значением типа «{what}»",
        "uk": "{value!r} не є допустимим значенням типу «{what}»",
    },
    "not_canonical": {
        "en": "{value!r} must be written exactly as {canonical!r}",
        "ru": "{value!r} следует записать точно как {canonical!r}",
        "uk": "{value!r} слід записати точно як {canonical!r}",
    },
    "too_precise": {
        "en": "{value!r} has more than {digits} decimal places; values are never rounded",
        "ru": "в {value!r} более {digits} знаков после точки; значения не округляются",
        "uk": "у {value!r} більше ніж {digits} знаків після крапки; значення не округлюються",
    },
    "bad_datetime": {
        "en": "{value!r} is not a UTC date-time of the form 2023-03-14T06:03:00Z (years 2000-2099)",
        "ru": "{value!r} не является временем UTC вида 2023-03-14T06:03:00Z (2000–2099 гг.)",
        "uk": "{value!r} не є часом UTC у формі 2023-03-14T06:03:00Z (2000–2099 рр.)",
    },
    "bad_date": {
        "en": "{value!r} is not a date of the form 1998-04-17 (years 1900-2099)",
        "ru": "{value!r} не является датой вида 1998-04-17 (1900–2099 гг.)",
        "uk": "{value!r} не є датою у формі 1998-04-17 (1900–2099 рр.)",
    },
    "window_order": {
        "en": "the window must end after it starts",
        "ru": "окончание периода должно быть позже его начала",
        "uk": "кінець періоду має бути пізніше за його початок",
    },
    "window_too_long": {
        "en": "the window lasts longer than the agreed maximum of {max_hours} hours",
        "ru": "период длится дольше согласованного максимума в {max_hours} ч",
        "uk": "період триває довше за погоджений максимум у {max_hours} год",
    },
    "too_few_items": {
        "en": "needs at least {min} items, got {count}",
        "ru": "требуется не менее {min} элементов, получено {count}",
        "uk": "потрібно щонайменше {min} елементів, отримано {count}",
    },
    "too_many_items": {
        "en": "allows at most {max} items, got {count}",
        "ru": "допускается не более {max} элементов, получено {count}",
        "uk": "допускається не більше ніж {max} елементів, отримано {count}",
    },
    "duplicate_item": {
        "en": "{value!r} appears more than once",
        "ru": "{value!r} встречается более одного раза",
        "uk": "{value!r} трапляється більше одного разу",
    },
    "self_intersection": {
        "en": "the polygon crosses itself (edges {a} and {b})",
        "ru": "многоугольник самопересекается (стороны {a} и {b})",
        "uk": "багатокутник самоперетинається (сторони {a} і {b})",
    },
    "duplicate_point": {
        "en": "the polygon repeats a vertex (points {a} and {b})",
        "ru": "вершина многоугольника повторяется (точки {a} и {b})",
        "uk": "вершина багатокутника повторюється (точки {a} і {b})",
    },
    "degenerate_polygon": {
        "en": "the polygon has no area (all points on one line)",
        "ru": "многоугольник не имеет площади (все точки на одной прямой)",
        "uk": "багатокутник не має площі (усі точки на одній прямій)",
    },
    "antimeridian": {
        "en": "edge {a} crosses the 180th meridian; split the area in two",
        "ru": "сторона {a} пересекает 180-й меридиан; разделите район на два",
        "uk": "сторона {a} перетинає 180-й меридіан; розділіть район на два",
    },
    "altitude_order": {
        "en": "the lower limit is above the upper limit",
        "ru": "нижняя граница выше верхней",
        "uk": "нижня межа вища за верхню",
    },
    "too_long": {
        "en": "text is longer than {max} characters",
        "ru": "текст длиннее {max} символов",
        "uk": "текст довший за {max} символів",
    },
    "empty": {
        "en": "must not be empty",
        "ru": "не может быть пустым",
        "uk": "не може бути порожнім",
    },
    "forbidden_character": {
        "en": "contains a forbidden character U+{code}",
        "ru": "содержит недопустимый символ U+{code}",
        "uk": "містить неприпустимий символ U+{code}",
    },
    "not_nfc": {
        "en": "text is not in Unicode NFC form",
        "ru": "текст не в форме Unicode NFC",
        "uk": "текст не у формі Unicode NFC",
    },
    "mixed_script": {
        "en": "{value!r} mixes Latin and Cyrillic letters",
        "ru": "в {value!r} смешаны латинские и кириллические буквы",
        "uk": "у {value!r} змішано латинські та кириличні літери",
    },
    "bad_lang": {
        "en": "{value!r} is not one of the languages en, ru, uk",
        "ru": "{value!r} не является одним из языков en, ru, uk",
        "uk": "{value!r} не є однією з мов en, ru, uk",
    },
    "unknown_format": {
        "en": "format {format_id!r} version {version} is not in this catalog",
        "ru": "формат {format_id!r} версии {version} отсутствует в каталоге",
        "uk": "формат {format_id!r} версії {version} відсутній у каталозі",
    },
}


class FormatError(ValueError):
    """Base of the errors that can be shown to an operator in any of the three languages."""

    rule: str
    params: Mapping[str, Param]

    def message(self, lang: Lang) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.message("en")


def _describe(rule: str, params: Mapping[str, Param], lang: Lang) -> str:
    template = _RULES[rule][lang]
    values: dict[str, object] = dict(params)
    for key in ("expected", "got"):
        if key in values:
            values[key] = _KINDS[str(values[key])][lang]
    return template.format(**values)


class FieldError(FormatError):
    """A field value refused by validation: ``path`` names the field, ``rule`` the rule broken."""

    def __init__(
        self,
        path: str,
        rule: str,
        labels: Mapping[Lang, str] | None = None,
        **params: Param,
    ) -> None:
        if rule not in _RULES:
            raise KeyError(f"no message for rule {rule!r}")
        self.path = path
        self.rule = rule
        self.params = params
        self.labels: Mapping[Lang, str] = labels or {}
        super().__init__(self.message("en"))

    def message(self, lang: Lang) -> str:
        where = self.path
        if lang in self.labels:
            where = f"{self.labels[lang]} ({self.path})"
        return f"{where}: {_describe(self.rule, self.params, lang)}"

    def with_labels(self, labels: Mapping[Lang, str]) -> FieldError:
        """The same error, naming the field also by its label (when none was known before)."""
        if self.labels:
            return self
        return FieldError(self.path, self.rule, labels, **self.params)


class UnknownFormatError(FormatError, LookupError):
    """A format/version the catalog does not hold: refuse before anything is queued."""

    def __init__(self, format_id: str, version: int) -> None:
        self.format_id = format_id
        self.version = version
        self.rule = "unknown_format"
        self.params = {"format_id": format_id, "version": version}
        super().__init__(self.message("en"))

    def message(self, lang: Lang) -> str:
        return _describe(self.rule, self.params, lang)


class CatalogError(ValueError):
    """A catalog file refused at load; the message names the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def kind_of(value: object) -> str:
    """The JSON kind of ``value`` as used in wrong-type messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return "other"


def rules() -> tuple[str, ...]:
    """Every rule a `FieldError` can name (each has a text in every language)."""
    return tuple(_RULES)


def rule_text(rule: str, lang: Lang) -> str:
    return _RULES[rule][lang]

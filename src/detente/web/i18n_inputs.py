"""The console's words for real inputs in format forms and for translating their free text.

Kept apart from ``i18n`` (which merges them in) so that these strings travel with the form layer
that uses them. Every key has en, ru and uk, in the military-office register of the rest.
"""

from __future__ import annotations

INPUT_STRINGS: dict[str, dict[str, str]] = {
    "latitude": {"en": "latitude", "ru": "широта", "uk": "широта"},
    "longitude": {"en": "longitude", "ru": "долгота", "uk": "довгота"},
    "in_latin": {"en": "Latin letters", "ru": "латиницей", "uk": "латиницею"},
    "in_cyrillic": {"en": "Cyrillic letters", "ru": "кириллицей", "uk": "кирилицею"},
    "in_unit": {"en": "unit", "ru": "единица", "uk": "одиниця"},
    "unit_ft": {"en": "ft", "ru": "фт", "uk": "фт"},
    "unit_FL": {"en": "FL", "ru": "эшелон (FL)", "uk": "ешелон (FL)"},
    "unit_m": {"en": "m", "ru": "м", "uk": "м"},
    "unit_kt": {"en": "kt", "ru": "уз", "uk": "вуз"},
    "unit_kmh": {"en": "km/h", "ru": "км/ч", "uk": "км/год"},
    "in_coordinate_hint": {
        "en": "Decimal degrees or degrees and minutes: 46.5, 46,5, −46.5, 46°30.5′N, 46°30′30″N.",
        "ru": "Градусы с долями или градусы и минуты: 46.5, 46,5, −46.5, 46°30,5′ с. ш., 46°30′30″ с. ш.",
        "uk": "Градуси з частками або градуси й хвилини: 46.5, 46,5, −46.5, 46°30,5′ пн. ш., 46°30′30″ пн. ш.",
    },
    "in_time_hint": {
        "en": "UTC: 2026-05-12 06:00 or a date-time group such as 120600Z MAY 26.",
        "ru": "Время UTC: 2026-05-12 06:00 или группа «дата — время», например 120600Z МАЙ 26.",
        "uk": "Час UTC: 2026-05-12 06:00 або група «дата — час», наприклад 120600Z ТРА 26.",
    },
    "in_one_per_line": {"en": "One per line.", "ru": "По одному в строке.", "uk": "По одному в рядку."},
    "in_area_kind": {"en": "Shape", "ru": "Форма района", "uk": "Форма району"},
    "in_circle": {"en": "Circle", "ru": "Круг", "uk": "Коло"},
    "in_polygon": {"en": "Polygon", "ru": "Многоугольник", "uk": "Багатокутник"},
    "in_centre": {"en": "centre", "ru": "центр", "uk": "центр"},
    "in_radius_nm": {
        "en": "radius (nautical miles)",
        "ru": "радиус (морские мили)",
        "uk": "радіус (морські милі)",
    },
    "in_points": {
        "en": "vertices, one per line: latitude; longitude",
        "ru": "вершины, по одной в строке: широта; долгота",
        "uk": "вершини, по одній у рядку: широта; довгота",
    },
    "in_start": {"en": "From (UTC)", "ru": "С (UTC)", "uk": "З (UTC)"},
    "in_end": {"en": "To (UTC)", "ru": "По (UTC)", "uk": "По (UTC)"},
    "in_lower": {"en": "Lower limit", "ru": "Нижняя граница", "uk": "Нижня межа"},
    "in_upper": {"en": "Upper limit", "ru": "Верхняя граница", "uk": "Верхня межа"},
    "in_add_row": {"en": "Add a row", "ru": "Добавить строку", "uk": "Додати рядок"},
    "in_remove_row": {"en": "Remove", "ru": "Удалить", "uk": "Видалити"},
    "in_remove_row_n": {"en": "Remove row {n}", "ru": "Удалить строку {n}", "uk": "Видалити рядок {n}"},
    "in_paste": {
        "en": "Paste a list or upload a CSV file",
        "ru": "Вставить список или загрузить файл CSV",
        "uk": "Вставити список або завантажити файл CSV",
    },
    "in_paste_hint": {
        "en": "One person per line, columns in this order (separated by tabs, semicolons or commas): "
        "{columns}. Choices may be written as shown in the lists. At most 1,000 lines.",
        "ru": "По одному человеку в строке, столбцы в таком порядке (через табуляцию, точку с запятой "
        "или запятую): {columns}. Значения из списков — так, как они названы в списках. "
        "Не более 1000 строк.",
        "uk": "По одній особі в рядку, стовпці в такому порядку (через табуляцію, крапку з комою або "
        "кому): {columns}. Значення зі списків — так, як їх названо у списках. "
        "Не більше ніж 1000 рядків.",
    },
    "in_paste_here": {
        "en": "Rows copied from a spreadsheet or a CSV text",
        "ru": "Строки, скопированные из таблицы, или текст CSV",
        "uk": "Рядки, скопійовані з таблиці, або текст CSV",
    },
    "in_upload": {"en": "or a CSV file", "ru": "или файл CSV", "uk": "або файл CSV"},
    "in_signed_as": {
        "en": "Will be signed as: {v}",
        "ru": "Будет подписано как: {v}",
        "uk": "Буде підписано як: {v}",
    },
    "in_errors_count": {
        "en": "Fields to correct: {n}. Each is listed here and marked at the field.",
        "ru": "Поля, требующие исправления: {n}. Каждое указано здесь и отмечено у поля.",
        "uk": "Поля, які потрібно виправити: {n}. Кожне зазначено тут і позначено біля поля.",
    },
    "in_where_row": {
        "en": "{field}, row {n}, {column}",
        "ru": "{field}, строка {n}, {column}",
        "uk": "{field}, рядок {n}, {column}",
    },
    # what is wrong, in plain words
    "in_required": {
        "en": "required field is not filled in",
        "ru": "обязательное поле не заполнено",
        "uk": "обов’язкове поле не заповнено",
    },
    "in_need_rows": {
        "en": "fill in at least one row",
        "ru": "заполните хотя бы одну строку",
        "uk": "заповніть принаймні один рядок",
    },
    "in_choose": {"en": "choose from the list", "ru": "выберите из списка", "uk": "виберіть зі списку"},
    "in_bad_coordinate_lat": {
        "en": "«{value}» is not a latitude; write for example 46.5, −46.5 or 46°30.5′N",
        "ru": "«{value}» не является широтой; укажите, например, 46.5, −46.5 или 46°30,5′ с. ш.",
        "uk": "«{value}» не є широтою; зазначте, наприклад, 46.5, −46.5 або 46°30,5′ пн. ш.",
    },
    "in_bad_coordinate_lon": {
        "en": "«{value}» is not a longitude; write for example 32.1, −32.1 or 32°06′E",
        "ru": "«{value}» не является долготой; укажите, например, 32.1, −32.1 или 32°06′ в. д.",
        "uk": "«{value}» не є довготою; зазначте, наприклад, 32.1, −32.1 або 32°06′ сх. д.",
    },
    "in_sign_and_hemisphere": {
        "en": "«{value}»: give either a minus sign or a hemisphere letter, not both",
        "ru": "«{value}»: укажите либо знак минус, либо полушарие, но не то и другое",
        "uk": "«{value}»: зазначте або знак мінус, або півкулю, але не обидва",
    },
    "in_too_precise": {
        "en": "«{value}» has more than {digits} decimal places; values are never rounded, shorten it",
        "ru": "в «{value}» более {digits} знаков после запятой; значения не округляются, сократите запись",
        "uk": "у «{value}» понад {digits} знаків після коми; значення не округлюються, скоротіть запис",
    },
    "in_between": {
        "en": "must be from {min} to {max}",
        "ru": "должно быть от {min} до {max}",
        "uk": "має бути від {min} до {max}",
    },
    "in_whole_number": {
        "en": "«{value}» is not a whole number; write for example 12",
        "ru": "«{value}» не является целым числом; укажите, например, 12",
        "uk": "«{value}» не є цілим числом; зазначте, наприклад, 12",
    },
    "in_bad_datetime": {
        "en": "«{value}» is not a UTC date and time; write for example 2026-05-12 06:00 or 120600Z MAY 26",
        "ru": "«{value}» не является датой и временем UTC; укажите, например, 2026-05-12 06:00 или 120600Z МАЙ 26",
        "uk": "«{value}» не є датою й часом UTC; зазначте, наприклад, 2026-05-12 06:00 або 120600Z ТРА 26",
    },
    "in_bad_date": {
        "en": "«{value}» is not a date; write for example 17.04.1998 or 1998-04-17",
        "ru": "«{value}» не является датой; укажите, например, 17.04.1998 или 1998-04-17",
        "uk": "«{value}» не є датою; зазначте, наприклад, 17.04.1998 або 1998-04-17",
    },
    "in_bad_point": {
        "en": "«{value}»: write latitude; longitude",
        "ru": "«{value}»: укажите широту; долготу",
        "uk": "«{value}»: зазначте широту; довготу",
    },
    "in_point": {"en": "vertex {n}: {why}", "ru": "вершина {n}: {why}", "uk": "вершина {n}: {why}"},
    "in_too_many_points": {
        "en": "at most {max} vertices",
        "ru": "не более {max} вершин",
        "uk": "не більше ніж {max} вершин",
    },
    "in_need_centre": {
        "en": "give the centre's latitude and longitude",
        "ru": "укажите широту и долготу центра",
        "uk": "зазначте широту й довготу центру",
    },
    "in_bad_radius": {
        "en": "«{value}» is not a radius; write nautical miles, for example 20 or 12.5",
        "ru": "«{value}» не является радиусом; укажите морские мили, например 20 или 12,5",
        "uk": "«{value}» не є радіусом; зазначте морські милі, наприклад 20 або 12,5",
    },
    "in_need_lower": {
        "en": "give the lower limit",
        "ru": "укажите нижнюю границу",
        "uk": "зазначте нижню межу",
    },
    "in_need_upper": {
        "en": "give the upper limit",
        "ru": "укажите верхнюю границу",
        "uk": "зазначте верхню межу",
    },
    "in_need_start": {"en": "give the start", "ru": "укажите начало", "uk": "зазначте початок"},
    "in_need_end": {"en": "give the end", "ru": "укажите окончание", "uk": "зазначте кінець"},
    "in_need_latin": {
        "en": "give the name in Latin letters as well",
        "ru": "укажите также написание латиницей",
        "uk": "зазначте також написання латиницею",
    },
    "in_need_cyrillic": {
        "en": "give the name in Cyrillic letters as well",
        "ru": "укажите также написание кириллицей",
        "uk": "зазначте також написання кирилицею",
    },
    "in_paste_too_large": {
        "en": "the list is too large (at most {max} KB)",
        "ru": "список слишком велик (не более {max} КБ)",
        "uk": "список завеликий (не більше ніж {max} КБ)",
    },
    "in_paste_too_many": {
        "en": "the list has {count} rows; at most {max} are allowed",
        "ru": "в списке {count} строк; допускается не более {max}",
        "uk": "у списку {count} рядків; допускається не більше ніж {max}",
    },
    "in_not_utf8": {
        "en": "the file is not UTF-8 text; save it as CSV (UTF-8)",
        "ru": "файл не в кодировке UTF-8; сохраните его как CSV (UTF-8)",
        "uk": "файл не в кодуванні UTF-8; збережіть його як CSV (UTF-8)",
    },
    "in_too_few": {
        "en": "needs at least {min}",
        "ru": "требуется не менее {min}",
        "uk": "потрібно щонайменше {min}",
    },
    "in_too_many": {
        "en": "at most {max} allowed, {count} given",
        "ru": "допускается не более {max}, указано {count}",
        "uk": "допускається не більше ніж {max}, зазначено {count}",
    },
    "in_duplicate": {
        "en": "the same entry appears twice",
        "ru": "одно и то же значение указано дважды",
        "uk": "те саме значення зазначено двічі",
    },
    "in_mixed_script": {
        "en": "«{value}» mixes Latin and Cyrillic letters (look-alikes such as A and А); retype it in one alphabet",
        "ru": "в «{value}» смешаны латинские и кириллические буквы (похожие, как A и А); наберите в одной раскладке",
        "uk": "у «{value}» змішано латинські й кириличні літери (схожі, як A і А); наберіть в одній розкладці",
    },
    "in_pattern_callsign": {
        "en": "«{value}» is not a call sign: capital letters and digits, for example JAKE11",
        "ru": "«{value}» не является позывным: заглавные буквы и цифры, например ВОЛНА21",
        "uk": "«{value}» не є позивним: великі літери й цифри, наприклад ХВИЛЯ21",
    },
    "in_pattern_identifier": {
        "en": "«{value}»: capital letters and digits, separated by - or /",
        "ru": "«{value}»: заглавные буквы и цифры, разделённые - или /",
        "uk": "«{value}»: великі літери й цифри, розділені - або /",
    },
    "in_pattern_hull_number": {
        "en": "«{value}» is not a hull or tail number: Latin capitals and digits, for example 081 or DDG-71",
        "ru": "«{value}» не является бортовым номером: заглавные латинские буквы и цифры, например 081 или DDG-71",
        "uk": "«{value}» не є бортовим номером: великі латинські літери й цифри, наприклад 081 або DDG-71",
    },
    "in_pattern_designation": {
        "en": "«{value}»: only Latin letters and digits are allowed, for example Su-27",
        "ru": "«{value}»: допускаются только латинские буквы и цифры, например Su-27",
        "uk": "«{value}»: допускаються лише латинські літери й цифри, наприклад Su-27",
    },
    "in_pattern_reference": {
        "en": "«{value}» is not a reference: Latin capitals and digits separated by -, / or ., "
        "for example US-EUCOM/INC/2026-01",
        "ru": "«{value}» не является номером: заглавные латинские буквы и цифры через -, / или ., "
        "например RU-MOD/INC/2026-01",
        "uk": "«{value}» не є номером: великі латинські літери й цифри через -, / або ., "
        "наприклад UA-GS/INC/2026-01",
    },
    "in_pattern_name": {
        "en": "«{value}»: letters only, with spaces, hyphens or apostrophes, each spelling in its own alphabet",
        "ru": "«{value}»: только буквы, пробелы, дефисы и апострофы, каждое написание — своим алфавитом",
        "uk": "«{value}»: лише літери, пропуски, дефіси й апострофи, кожне написання — своєю абеткою",
    },
    "in_forbidden_character": {
        "en": "contains an invisible or control character (U+{code}); remove it",
        "ru": "содержит невидимый или управляющий символ (U+{code}); удалите его",
        "uk": "містить невидимий або керівний символ (U+{code}); видаліть його",
    },
    "in_not_nfc": {
        "en": "contains letters in an unusual Unicode form; retype them",
        "ru": "содержит буквы в необычной форме Unicode; наберите их заново",
        "uk": "містить літери в незвичній формі Unicode; наберіть їх заново",
    },
    "in_not_accepted": {
        "en": "this value is not accepted",
        "ru": "значение не принимается",
        "uk": "значення не приймається",
    },
    # translating free text inside format messages (issue 10.7)
    "ft_heading": {
        "en": "Free text in this message, with translations",
        "ru": "Произвольный текст сообщения и его переводы",
        "uk": "Довільний текст повідомлення та його переклади",
    },
    "ft_none_yet": {"en": "Not translated yet.", "ru": "Перевода пока нет.", "uk": "Перекладу поки немає."},
    "ft_add": {
        "en": "Translate one of these texts",
        "ru": "Перевести один из этих текстов",
        "uk": "Перекласти один із цих текстів",
    },
    "ft_which": {"en": "Text", "ru": "Текст", "uk": "Текст"},
    "ft_queue": {"en": "To translate", "ru": "Ожидает перевода", "uk": "Очікує перекладу"},
    "ft_queue_about": {
        "en": "Free text received in another language with no translation into {language} yet, "
        "FLASH first, newest first (among the {n} newest messages received).",
        "ru": "Полученный произвольный текст на другом языке, ещё не переведённый (язык перевода: {language}); "
        "сначала МОЛНИЯ, затем новые (среди {n} последних полученных сообщений).",
        "uk": "Отриманий довільний текст іншою мовою, ще не перекладений (мова перекладу: {language}); "
        "спочатку БЛИСКАВКА, далі нові (серед {n} останніх отриманих повідомлень).",
    },
    "ft_queue_empty": {
        "en": "Nothing is waiting for translation.",
        "ru": "Текстов, ожидающих перевода, нет.",
        "uk": "Текстів, що очікують перекладу, немає.",
    },
    "ft_more": {
        "en": "More texts are waiting than are listed here; translate these first.",
        "ru": "Ожидающих текстов больше, чем показано; сначала переведите эти.",
        "uk": "Текстів, що очікують, більше, ніж показано; спочатку перекладіть ці.",
    },
    "ft_col_message": {"en": "Message", "ru": "Сообщение", "uk": "Повідомлення"},
    "ft_col_what": {"en": "Text", "ru": "Текст", "uk": "Текст"},
    "ft_col_lang": {"en": "Written in", "ru": "Язык оригинала", "uk": "Мова оригіналу"},
    "ft_col_text": {"en": "Beginning", "ru": "Начало текста", "uk": "Початок тексту"},
    "ft_message_text": {"en": "Message text", "ru": "Текст сообщения", "uk": "Текст повідомлення"},
    "ft_personal": {
        "en": "personal data: open the message",
        "ru": "персональные данные: откройте сообщение",
        "uk": "персональні дані: відкрийте повідомлення",
    },
}

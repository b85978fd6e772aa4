"""The console's own words in English, Russian and Ukrainian.

Messages themselves are rendered from their signed fields by the formats code; this module only
holds the interface: menus, labels, states, precedences and errors. Every key has all three
languages (a test checks it), so a Russian or Ukrainian screen never falls back to English.
"""

from __future__ import annotations

from typing import Any

from detente.core.entries import Lang

LANG_NAMES: dict[str, str] = {"en": "English", "ru": "Русский", "uk": "Українська"}

STRINGS: dict[str, dict[str, str]] = {
    # navigation and frame
    "app": {
        "en": "detente — hotline console",
        "ru": "detente — пульт линии связи",
        "uk": "detente — пульт лінії зв’язку",
    },
    "skip": {"en": "Skip to content", "ru": "Перейти к содержимому", "uk": "Перейти до вмісту"},
    "nav": {"en": "Main menu", "ru": "Главное меню", "uk": "Головне меню"},
    "inbox": {"en": "Inbox", "ru": "Входящие", "uk": "Вхідні"},
    "outbox": {"en": "Outbox", "ru": "Исходящие", "uk": "Вихідні"},
    "compose": {"en": "New message", "ru": "Новое сообщение", "uk": "Нове повідомлення"},
    "links": {"en": "Links", "ru": "Каналы связи", "uk": "Канали зв’язку"},
    "sign_out": {"en": "Sign out", "ru": "Выйти", "uk": "Вийти"},
    "language": {"en": "Language", "ru": "Язык", "uk": "Мова"},
    "apply": {"en": "Apply", "ru": "Применить", "uk": "Застосувати"},
    "signed_in_as": {"en": "{name} ({role})", "ru": "{name} ({role})", "uk": "{name} ({role})"},
    "party": {"en": "Node: {party}", "ru": "Узел: {party}", "uk": "Вузол: {party}"},
    "live": {"en": "Updated {time} UTC", "ru": "Обновлено {time} UTC", "uk": "Оновлено {time} UTC"},
    "connecting": {"en": "Connecting…", "ru": "Подключение…", "uk": "Підключення…"},
    # roles
    "role_operator": {"en": "operator", "ru": "оператор", "uk": "оператор"},
    "role_releaser": {"en": "releasing officer", "ru": "выпускающий офицер", "uk": "офіцер випуску"},
    "role_translator": {"en": "translator", "ru": "переводчик", "uk": "перекладач"},
    "role_auditor": {"en": "auditor", "ru": "аудитор", "uk": "аудитор"},
    "role_admin": {"en": "administrator", "ru": "администратор", "uk": "адміністратор"},
    # sign-in
    "sign_in": {"en": "Sign in", "ru": "Вход в систему", "uk": "Вхід до системи"},
    "sign_in_button": {"en": "Sign in", "ru": "Войти", "uk": "Увійти"},
    "user_name": {"en": "User name", "ru": "Имя пользователя", "uk": "Ім’я користувача"},
    "password": {"en": "Password", "ru": "Пароль", "uk": "Пароль"},
    "bad_login": {
        "en": "Wrong user name or password.",
        "ru": "Неверное имя пользователя или пароль.",
        "uk": "Неправильне ім’я користувача або пароль.",
    },
    "locked": {
        "en": "This account is locked after repeated failed sign-ins. Try again after {until} UTC.",
        "ru": "Учётная запись заблокирована после нескольких неудачных попыток входа. Повторите после {until} UTC.",
        "uk": "Обліковий запис заблоковано після кількох невдалих спроб входу. Спробуйте знову після {until} UTC.",
    },
    "csrf": {
        "en": "This form has expired. Please try again.",
        "ru": "Срок действия формы истёк. Повторите попытку.",
        "uk": "Термін дії форми минув. Спробуйте ще раз.",
    },
    "forbidden": {
        "en": "Your role ({role}) may not do this.",
        "ru": "Ваша роль ({role}) не позволяет это сделать.",
        "uk": "Ваша роль ({role}) не дозволяє це зробити.",
    },
    # boxes
    "empty": {"en": "No messages.", "ru": "Сообщений нет.", "uk": "Повідомлень немає."},
    "col_precedence": {"en": "Precedence", "ru": "Срочность", "uk": "Терміновість"},
    "col_id": {"en": "Message", "ru": "Сообщение", "uk": "Повідомлення"},
    "col_from": {"en": "From", "ru": "От", "uk": "Від"},
    "col_to": {"en": "To", "ru": "Кому", "uk": "Кому"},
    "col_text": {"en": "Content", "ru": "Содержание", "uk": "Зміст"},
    "col_state": {"en": "State", "ru": "Состояние", "uk": "Стан"},
    "col_deadline": {"en": "Acknowledge within", "ru": "Подтвердить в течение", "uk": "Підтвердити протягом"},
    "col_time": {"en": "Created (UTC)", "ru": "Создано (UTC)", "uk": "Створено (UTC)"},
    "format_label": {"en": "Format: {name}", "ru": "Формат: {name}", "uk": "Формат: {name}"},
    # states
    "state_queued": {"en": "queued", "ru": "в очереди", "uk": "у черзі"},
    "state_sent": {"en": "sent", "ru": "отправлено", "uk": "надіслано"},
    "state_receipted": {"en": "receipted", "ru": "квитанция получена", "uk": "квитанцію отримано"},
    "state_acknowledged": {"en": "acknowledged", "ru": "подтверждено", "uk": "підтверджено"},
    "state_overdue": {"en": "overdue", "ru": "просрочено", "uk": "прострочено"},
    "overdue_by": {"en": "overdue by", "ru": "просрочено на", "uk": "прострочено на"},
    "due_in": {"en": "in", "ru": "через", "uk": "через"},
    "no_deadline": {"en": "—", "ru": "—", "uk": "—"},
    # precedences
    "prec_flash": {"en": "FLASH", "ru": "МОЛНИЯ", "uk": "БЛИСКАВКА"},
    "prec_immediate": {"en": "IMMEDIATE", "ru": "НЕМЕДЛЕННО", "uk": "НЕГАЙНО"},
    "prec_priority": {"en": "PRIORITY", "ru": "СРОЧНО", "uk": "ТЕРМІНОВО"},
    "prec_routine": {"en": "ROUTINE", "ru": "ОБЫЧНОЕ", "uk": "ЗВИЧАЙНЕ"},
    # FLASH banner
    "flash_banner": {
        "en": "FLASH message {id} from {sender} awaits acknowledgement.",
        "ru": "Сообщение МОЛНИЯ {id} от {sender} ожидает подтверждения.",
        "uk": "Повідомлення БЛИСКАВКА {id} від {sender} очікує підтвердження.",
    },
    "open_and_ack": {
        "en": "Open and acknowledge",
        "ru": "Открыть и подтвердить",
        "uk": "Відкрити та підтвердити",
    },
    "contact_lost": {
        "en": "Contact lost with {peer}.",
        "ru": "Потеряна связь с {peer}.",
        "uk": "Втрачено зв’язок з {peer}.",
    },
    # message page
    "message": {"en": "Message {id}", "ru": "Сообщение {id}", "uk": "Повідомлення {id}"},
    "from": {"en": "From", "ru": "От", "uk": "Від"},
    "to": {"en": "To", "ru": "Кому", "uk": "Кому"},
    "created": {"en": "Created", "ru": "Создано", "uk": "Створено"},
    "deadline": {"en": "Acknowledgement due", "ru": "Срок подтверждения", "uk": "Термін підтвердження"},
    "in_reply_to": {"en": "In reply to", "ru": "В ответ на", "uk": "У відповідь на"},
    "content": {"en": "Content", "ru": "Содержание", "uk": "Зміст"},
    "written_in": {
        "en": "Written in {language}",
        "ru": "Написано на языке: {language}",
        "uk": "Написано мовою: {language}",
    },
    "show_original": {
        "en": "Original as signed",
        "ru": "Оригинал (как подписан)",
        "uk": "Оригінал (як підписано)",
    },
    "not_held": {
        "en": "This message is in a format this node does not hold; it is stored and receipted but cannot be shown.",
        "ru": "Сообщение в формате, которого нет на этом узле; оно сохранено и квитировано, но не может быть показано.",
        "uk": "Повідомлення у форматі, якого немає на цьому вузлі; його збережено та квитовано, але показати не можна.",
    },
    "deliveries": {"en": "Delivery", "ru": "Доставка", "uk": "Доставка"},
    "recipient": {"en": "Recipient", "ru": "Получатель", "uk": "Одержувач"},
    "first_sent": {"en": "First sent", "ru": "Впервые отправлено", "uk": "Вперше надіслано"},
    "receipted_at": {"en": "Receipted", "ru": "Квитанция", "uk": "Квитанція"},
    "receipts": {"en": "Receipts", "ru": "Квитанции", "uk": "Квитанції"},
    "no_receipts": {"en": "No receipt yet.", "ru": "Квитанций пока нет.", "uk": "Квитанцій поки немає."},
    "stored_at": {"en": "Stored", "ru": "Сохранено", "uk": "Збережено"},
    "log_index": {"en": "Log index", "ru": "Номер в журнале", "uk": "Номер у журналі"},
    "acks": {"en": "Acknowledgements", "ru": "Подтверждения", "uk": "Підтвердження"},
    "no_acks": {"en": "Not yet acknowledged.", "ru": "Ещё не подтверждено.", "uk": "Ще не підтверджено."},
    "ack_by": {"en": "By", "ru": "Кто", "uk": "Хто"},
    "ack_answer": {"en": "Answer", "ru": "Ответ", "uk": "Відповідь"},
    "ack_at": {"en": "When (UTC)", "ru": "Когда (UTC)", "uk": "Коли (UTC)"},
    "ack_note": {
        "en": "Note (optional)",
        "ru": "Примечание (необязательно)",
        "uk": "Примітка (необов’язково)",
    },
    "acknowledge": {"en": "Acknowledge", "ru": "Подтвердить получение", "uk": "Підтвердити отримання"},
    "answer_understood": {"en": "Understood", "ru": "Понято", "uk": "Зрозуміло"},
    "answer_unable": {"en": "Unable to comply", "ru": "Не могу выполнить", "uk": "Не можу виконати"},
    "answer_refused": {"en": "Refused", "ru": "Отказано", "uk": "Відмовлено"},
    "hash": {"en": "Entry hash", "ru": "Хеш записи", "uk": "Геш запису"},
    "signed_body": {"en": "Signed entry", "ru": "Подписанная запись", "uk": "Підписаний запис"},
    "not_found": {
        "en": "No such message.",
        "ru": "Такого сообщения нет.",
        "uk": "Такого повідомлення немає.",
    },
    # compose
    "recipients": {"en": "Recipients", "ru": "Получатели", "uk": "Одержувачі"},
    "precedence": {"en": "Precedence", "ru": "Срочность", "uk": "Терміновість"},
    "text_lang": {"en": "Language of the text", "ru": "Язык текста", "uk": "Мова тексту"},
    "text": {"en": "Text", "ru": "Текст", "uk": "Текст"},
    "send": {"en": "Sign and send", "ru": "Подписать и отправить", "uk": "Підписати та надіслати"},
    "no_peers": {
        "en": "This node has no pinned peers to write to.",
        "ru": "У этого узла нет закреплённых абонентов.",
        "uk": "Цей вузол не має закріплених абонентів.",
    },
    "need_recipient": {
        "en": "Choose at least one recipient.",
        "ru": "Выберите хотя бы одного получателя.",
        "uk": "Оберіть хоча б одного одержувача.",
    },
    "need_text": {"en": "Write the text.", "ru": "Введите текст.", "uk": "Введіть текст."},
    "refused": {"en": "The node refused: {why}", "ru": "Узел отказал: {why}", "uk": "Вузол відмовив: {why}"},
    # links
    "peer": {"en": "Peer", "ru": "Абонент", "uk": "Абонент"},
    "link_state": {"en": "Link", "ru": "Канал", "uk": "Канал"},
    "link_up": {"en": "up", "ru": "связь есть", "uk": "зв’язок є"},
    "link_down": {"en": "DOWN", "ru": "НЕТ СВЯЗИ", "uk": "НЕМАЄ ЗВ’ЯЗКУ"},
    "address": {"en": "Address", "ru": "Адрес", "uk": "Адреса"},
    "connected_since": {"en": "Connected since", "ru": "На связи с", "uk": "На зв’язку з"},
    "last_heartbeat": {
        "en": "Last heartbeat",
        "ru": "Последний контрольный сигнал",
        "uk": "Останній контрольний сигнал",
    },
    "last_link_test": {
        "en": "Last link test passed",
        "ru": "Последняя успешная проверка канала",
        "uk": "Остання успішна перевірка каналу",
    },
    "queue_depth": {"en": "Queue", "ru": "Очередь", "uk": "Черга"},
    "last_error": {"en": "Last error", "ru": "Последняя ошибка", "uk": "Остання помилка"},
    "never": {"en": "never", "ru": "никогда", "uk": "ніколи"},
    "refused_connections": {
        "en": "Refused connections",
        "ru": "Отклонённые подключения",
        "uk": "Відхилені з’єднання",
    },
    "refused_total": {"en": "Total: {n}", "ru": "Всего: {n}", "uk": "Усього: {n}"},
    "alarms": {
        "en": "Alarms and security events",
        "ru": "Тревоги и события безопасности",
        "uk": "Тривоги та події безпеки",
    },
    "none": {"en": "None.", "ru": "Нет.", "uk": "Немає."},
    "event_at": {"en": "When (UTC)", "ru": "Когда (UTC)", "uk": "Коли (UTC)"},
    "event_kind": {"en": "Kind", "ru": "Тип", "uk": "Тип"},
    "event_detail": {"en": "Detail", "ru": "Подробности", "uk": "Подробиці"},
}


def t(lang: str, key: str, /, **kw: Any) -> str:
    """The interface string ``key`` in ``lang`` (English if the language is unknown)."""
    entry = STRINGS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**kw) if kw else text


def lang_or_default(value: str | None) -> Lang:
    return value if value in ("en", "ru", "uk") else "en"  # type: ignore[return-value]

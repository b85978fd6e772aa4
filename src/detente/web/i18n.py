"""The console's own words in English, Russian and Ukrainian.

Messages themselves are rendered from their signed fields by the formats code; this module only
holds the interface: menus, labels, states, precedences and errors. Every key has all three
languages (a test checks it), so a Russian or Ukrainian screen never falls back to English.
"""

from __future__ import annotations

from typing import Any

from detente.core.terms import LANGS, Lang
from detente.web.i18n_inputs import INPUT_STRINGS

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
    "throttled": {
        "en": "Too many sign-in attempts from this address. Wait a minute, then try again.",
        "ru": "Слишком много попыток входа с этого адреса. Подождите минуту и повторите.",
        "uk": "Забагато спроб входу з цієї адреси. Зачекайте хвилину та спробуйте знову.",
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
    # an inbound message this party holds and has not answered yet: action needed
    "state_unanswered": {"en": "not answered", "ru": "не подтверждено", "uk": "не підтверджено"},
    # the inbox as a work queue
    "inbox_views": {"en": "Received messages", "ru": "Полученные сообщения", "uk": "Отримані повідомлення"},
    "inbox_queue": {"en": "To answer", "ru": "Ожидают ответа", "uk": "Очікують відповіді"},
    "answered": {"en": "Answered", "ru": "С ответом", "uk": "З відповіддю"},
    "queue_counts": {
        "en": "Messages to answer",
        "ru": "Сообщения, ожидающие ответа",
        "uk": "Повідомлення, що очікують відповіді",
    },
    "count_unanswered": {"en": "To answer", "ru": "Ожидают ответа", "uk": "Очікують відповіді"},
    "queue_empty": {
        "en": "Nothing to answer.",
        "ru": "Сообщений, ожидающих ответа, нет.",
        "uk": "Повідомлень, що очікують відповіді, немає.",
    },
    "showing": {
        "en": "Messages {first}–{last} of {total}",
        "ru": "Сообщения {first}–{last} из {total}",
        "uk": "Повідомлення {first}–{last} з {total}",
    },
    "filters": {"en": "Filter the list", "ru": "Отбор сообщений", "uk": "Відбір повідомлень"},
    "filter_any": {"en": "any", "ru": "любая", "uk": "будь-яка"},
    "filter_overdue": {"en": "Overdue only", "ru": "Только просроченные", "uk": "Лише прострочені"},
    "filter_apply": {"en": "Show", "ru": "Показать", "uk": "Показати"},
    "filter_clear": {"en": "Show all", "ru": "Показать все", "uk": "Показати всі"},
    "pages": {"en": "Pages", "ru": "Страницы", "uk": "Сторінки"},
    "page_prev": {"en": "Previous", "ru": "Предыдущая", "uk": "Попередня"},
    "page_next": {"en": "Next", "ru": "Следующая", "uk": "Наступна"},
    "page_of": {
        "en": "page {page} of {pages}",
        "ru": "страница {page} из {pages}",
        "uk": "сторінка {page} з {pages}",
    },
    "select_all": {
        "en": "Select every message on this page",
        "ru": "Отметить все сообщения на странице",
        "uk": "Позначити всі повідомлення на сторінці",
    },
    "select_message": {"en": "Select {id}", "ru": "Отметить {id}", "uk": "Позначити {id}"},
    "bulk_ack": {
        "en": "Answer selected: Understood",
        "ru": "Ответить на отмеченные: «Понято»",
        "uk": "Відповісти на позначені: «Зрозуміло»",
    },
    "bulk_ack_hint": {
        "en": "One signed answer per message, in your name.",
        "ru": "На каждое сообщение — отдельный подписанный ответ от вашего имени.",
        "uk": "На кожне повідомлення — окрема підписана відповідь від вашого імені.",
    },
    "bulk_choose": {
        "en": "Select at least one message.",
        "ru": "Отметьте хотя бы одно сообщение.",
        "uk": "Позначте хоча б одне повідомлення.",
    },
    "bulk_too_many": {
        "en": "At most {limit} messages can be answered at once.",
        "ru": "За один раз можно ответить не более чем на {limit} сообщений.",
        "uk": "За один раз можна відповісти не більше ніж на {limit} повідомлень.",
    },
    "bulk_bad_id": {
        "en": "“{id}” is not a message number; nothing was signed for it.",
        "ru": "«{id}» — не номер сообщения; ответ не подписан.",
        "uk": "«{id}» — не номер повідомлення; відповідь не підписано.",
    },
    "bulk_done": {
        "en": "Answered “{answer}”: {n} message(s), each signed separately.",
        "ru": "Дан ответ «{answer}»: сообщений — {n}, каждый ответ подписан отдельно.",
        "uk": "Надано відповідь «{answer}»: повідомлень — {n}, кожну відповідь підписано окремо.",
    },
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
    "answered_meanwhile": {
        "en": "Already answered by {by} ({answer}) at {at} UTC. The answer below is not signed: "
        "a message is answered once.",
        "ru": "Уже ответил(а) {by} ({answer}) в {at} UTC. Ответ ниже не подписан: "
        "на сообщение отвечают один раз.",
        "uk": "Вже відповів(ла) {by} ({answer}) о {at} UTC. Відповідь нижче не підписана: "
        "на повідомлення відповідають один раз.",
    },
    "already_answered": {
        "en": "Nothing was signed: {by} already answered this message ({answer}) at {at} UTC.",
        "ru": "Ничего не подписано: {by} уже ответил(а) на это сообщение ({answer}) в {at} UTC.",
        "uk": "Нічого не підписано: {by} вже відповів(ла) на це повідомлення ({answer}) о {at} UTC.",
    },
    "disk_full": {
        "en": "The node's disk is full: nothing was stored; free space on the store's disk, then try again.",
        "ru": "Диск узла заполнен: ничего не сохранено; освободите место на диске хранилища и повторите.",
        "uk": "Диск вузла заповнений: нічого не збережено; звільніть місце на диску сховища й повторіть.",
    },
    "store_failed": {
        "en": "The node's store failed: nothing was stored; try again shortly.",
        "ru": "Хранилище узла дало сбой: ничего не сохранено; повторите через несколько секунд.",
        "uk": "Сховище вузла дало збій: нічого не збережено; повторіть за кілька секунд.",
    },
    "cannot_be_shown": {
        "en": "This message cannot be shown: field {field} is invalid ({reason}). It is held exactly as signed; its signed bytes follow.",
        "ru": "Сообщение не может быть показано: поле {field} недопустимо ({reason}). Оно хранится в точности как подписано; подписанные байты приведены ниже.",
        "uk": "Повідомлення неможливо показати: поле {field} недійсне ({reason}). Воно зберігається точно як підписане; підписані байти наведено нижче.",
    },
    "cannot_be_shown_short": {
        "en": "cannot be shown: field {field} invalid",
        "ru": "невозможно показать: поле {field} недопустимо",
        "uk": "неможливо показати: поле {field} недійсне",
    },
    "body_withheld_personal": {
        "en": "Its signed bytes may hold personal data and are not shown here.",
        "ru": "Подписанные байты могут содержать персональные данные и здесь не показываются.",
        "uk": "Підписані байти можуть містити персональні дані й тут не показуються.",
    },
    "clock_skew_mark": {
        "en": "The sender's clock differs from ours: {reason}. The deadline runs from its arrival here.",
        "ru": "Часы отправителя расходятся с нашими: {reason}. Срок отсчитывается от получения здесь.",
        "uk": "Годинник відправника розходиться з нашим: {reason}. Строк відлічується від отримання тут.",
    },
    "hidden_characters": {
        "en": "This message holds characters that cannot be seen, shown here as ⟨…⟩ ({found}): they can make a text read differently from what was signed. The signed text is unchanged.",
        "ru": "В сообщении есть невидимые символы, здесь они показаны как ⟨…⟩ ({found}): они могут изменить прочтение текста по сравнению с подписанным. Подписанный текст не изменён.",
        "uk": "У повідомленні є невидимі символи, тут вони показані як ⟨…⟩ ({found}): вони можуть змінити прочитання тексту порівняно з підписаним. Підписаний текст не змінено.",
    },
    "not_signed_yours": {
        "en": "Your answer, not signed: {answer}",
        "ru": "Ваш ответ, не подписан: {answer}",
        "uk": "Ваша відповідь, не підписана: {answer}",
    },
    "choose_answer": {
        "en": "Choose an answer: nothing was signed.",
        "ru": "Выберите ответ: ничего не подписано.",
        "uk": "Оберіть відповідь: нічого не підписано.",
    },
    # message page: translations, thread, proof
    "translations": {"en": "Translations", "ru": "Переводы", "uk": "Переклади"},
    "no_translations": {
        "en": "No translation yet.",
        "ru": "Переводов пока нет.",
        "uk": "Перекладів поки немає.",
    },
    "translated_by": {"en": "Translated by {who}", "ru": "Перевёл(а): {who}", "uk": "Переклав(ла): {who}"},
    "grade": {"en": "Grade", "ru": "Уровень", "uk": "Рівень"},
    "grade_sight": {"en": "sight translation", "ru": "перевод с листа", "uk": "переклад з аркуша"},
    "grade_working": {"en": "working translation", "ru": "рабочий перевод", "uk": "робочий переклад"},
    "grade_official": {"en": "official translation", "ru": "официальный перевод", "uk": "офіційний переклад"},
    "machine_label": {
        "en": "machine translation, not authoritative",
        "ru": "машинный перевод, не имеет силы",
        "uk": "машинний переклад, не має сили",
    },
    "machine_model": {
        "en": "Model {model} {version}",
        "ru": "Модель {model} {version}",
        "uk": "Модель {model} {version}",
    },
    "not_of_this_text": {
        "en": "Made from a different text than the one held here.",
        "ru": "Сделан с другого текста, чем хранящийся здесь.",
        "uk": "Зроблено з іншого тексту, ніж збережений тут.",
    },
    "add_translation": {"en": "Add a translation", "ru": "Добавить перевод", "uk": "Додати переклад"},
    "translation_lang": {"en": "Into", "ru": "На язык", "uk": "Мовою"},
    "translation_text": {"en": "Translation", "ru": "Перевод", "uk": "Переклад"},
    "sign_translation": {
        "en": "Sign and send the translation",
        "ru": "Подписать и отправить перевод",
        "uk": "Підписати та надіслати переклад",
    },
    "format_not_translated": {
        "en": "A format message is shown in every language from its signed fields; only its free text is translated (above).",
        "ru": "Сообщение по формату показывается на каждом языке из подписанных полей; переводится только его произвольный текст (выше).",
        "uk": "Повідомлення за форматом показується кожною мовою з підписаних полів; перекладається лише його довільний текст (вище).",
    },
    "thread": {"en": "Thread", "ru": "Переписка", "uk": "Листування"},
    "this_message": {"en": "this message", "ru": "это сообщение", "uk": "це повідомлення"},
    "side_by_side": {
        "en": "Report and response side by side ({n} differing points)",
        "ru": "Донесение и ответ рядом (расхождений: {n})",
        "uk": "Донесення і відповідь поруч (розбіжностей: {n})",
    },
    "proof": {"en": "Proof in the logs", "ru": "Доказательство в журналах", "uk": "Доказ у журналах"},
    "our_log": {"en": "Our log", "ru": "Наш журнал", "uk": "Наш журнал"},
    "their_log": {"en": "{peer}'s log", "ru": "Журнал {peer}", "uk": "Журнал {peer}"},
    "at_index": {"en": "at index {i}", "ru": "под номером {i}", "uk": "під номером {i}"},
    "not_in_log": {"en": "not in this log", "ru": "нет в этом журнале", "uk": "немає в цьому журналі"},
    "checkpoint_covers": {
        "en": "covered by our checkpoint of size {n}",
        "ru": "входит в нашу контрольную точку размера {n}",
        "uk": "входить до нашої контрольної точки розміру {n}",
    },
    "checkpoint_pending": {
        "en": "no checkpoint covers it yet (latest size {n})",
        "ru": "пока не входит ни в одну контрольную точку (последняя: {n})",
        "uk": "поки не входить до жодної контрольної точки (остання: {n})",
    },
    "cosigned_by": {
        "en": "cosigned by {peer} up to size {n} at {at} UTC",
        "ru": "заверено {peer} до размера {n}, {at} UTC",
        "uk": "засвідчено {peer} до розміру {n}, {at} UTC",
    },
    "no_cosignature": {
        "en": "no peer has cosigned a checkpoint covering it yet",
        "ru": "ни один абонент ещё не заверил контрольную точку с ним",
        "uk": "жоден абонент ще не засвідчив контрольну точку з ним",
    },
    "witnessed_covers": {
        "en": "their checkpoint of size {n}, witnessed by us, covers it",
        "ru": "их контрольная точка размера {n}, заверенная нами, включает его",
        "uk": "їхня контрольна точка розміру {n}, засвідчена нами, включає його",
    },
    "witnessed_pending": {
        "en": "we have not yet witnessed a checkpoint of theirs that covers it",
        "ru": "мы ещё не заверили их контрольную точку, включающую его",
        "uk": "ми ще не засвідчили їхню контрольну точку, що включає його",
    },
    "proof_limits": {
        "en": "Not shown here: the inclusion proofs themselves (Merkle paths); they are in an exported bundle, which anyone can verify on the Verify page.",
        "ru": "Здесь не показаны сами доказательства включения (пути Меркла); они есть в выгруженном пакете, который любой может проверить на странице «Проверка».",
        "uk": "Тут не показано самі доведення включення (шляхи Меркла); вони є у вивантаженому пакеті, який будь-хто може перевірити на сторінці «Перевірка».",
    },
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
    # the record and the verifier
    "record": {"en": "Record", "ru": "Архив", "uk": "Архів"},
    "verify": {"en": "Verify", "ru": "Проверка", "uk": "Перевірка"},
    "search": {"en": "Search", "ru": "Искать", "uk": "Шукати"},
    "any": {"en": "any", "ru": "любой", "uk": "будь-який"},
    "party_filter": {"en": "Party", "ru": "Сторона", "uk": "Сторона"},
    "format_filter": {"en": "Format", "ru": "Формат", "uk": "Формат"},
    "free_text": {"en": "free text", "ru": "свободный текст", "uk": "вільний текст"},
    "time_from": {"en": "From (UTC)", "ru": "С (UTC)", "uk": "З (UTC)"},
    "time_to": {"en": "To (UTC)", "ru": "По (UTC)", "uk": "По (UTC)"},
    "results": {"en": "{n} messages", "ru": "Сообщений: {n}", "uk": "Повідомлень: {n}"},
    "export_bundle": {
        "en": "Export a bundle (JSON)",
        "ru": "Выгрузить пакет (JSON)",
        "uk": "Вивантажити пакет (JSON)",
    },
    "export_pdf": {"en": "Transcript (PDF)", "ru": "Стенограмма (PDF)", "uk": "Стенограма (PDF)"},
    "export_note": {
        "en": "A bundle holds every entry involving the chosen peer in the time range (all peers if none), with the proofs that they are in the logs; format and precedence filters apply to the list only.",
        "ru": "Пакет содержит все записи с участием выбранного абонента за период (всех абонентов, если не выбран) и доказательства их наличия в журналах; фильтры формата и срочности относятся только к списку.",
        "uk": "Пакет містить усі записи за участю обраного абонента за період (усіх абонентів, якщо не обрано) і доведення їх наявності в журналах; фільтри формату й терміновості стосуються лише списку.",
    },
    "verify_title": {"en": "Verify a bundle", "ru": "Проверка пакета", "uk": "Перевірка пакета"},
    "verify_help": {
        "en": "Anyone's bundle can be checked here: signatures, log inclusion, checkpoints and cosignatures. Up to {mb} MB.",
        "ru": "Здесь можно проверить пакет любой стороны: подписи, включение в журналы, контрольные точки и заверения. До {mb} МБ.",
        "uk": "Тут можна перевірити пакет будь-якої сторони: підписи, включення до журналів, контрольні точки й засвідчення. До {mb} МБ.",
    },
    "bundle_file": {"en": "Bundle file", "ru": "Файл пакета", "uk": "Файл пакета"},
    "verify_button": {"en": "Verify", "ru": "Проверить", "uk": "Перевірити"},
    "bundle_missing": {
        "en": "Choose a bundle file.",
        "ru": "Выберите файл пакета.",
        "uk": "Оберіть файл пакета.",
    },
    "bundle_too_big": {
        "en": "The file is larger than {mb} MB.",
        "ru": "Файл больше {mb} МБ.",
        "uk": "Файл більший за {mb} МБ.",
    },
    "verdict_verified": {"en": "VERIFIED", "ru": "ПРОВЕРЕНО", "uk": "ПЕРЕВІРЕНО"},
    "verdict_failed": {"en": "FAILED", "ru": "НЕ ПРОЙДЕНО", "uk": "НЕ ПРОЙДЕНО"},
    "verdict_unanchored": {
        "en": "CONSISTENT, NOT ANCHORED: no card pinned on this node vouches for its keys",
        "ru": "СОГЛАСОВАН, НО НЕ ПРИВЯЗАН: ни одна карточка, закреплённая на этом узле, не подтверждает его ключи",
        "uk": "УЗГОДЖЕНИЙ, АЛЕ НЕ ПРИВ’ЯЗАНИЙ: жодна картка, закріплена на цьому вузлі, не підтверджує його ключі",
    },
    "verdict_equivocation": {
        "en": "EQUIVOCATION PROVEN",
        "ru": "ДОКАЗАНА ДВУЛИЧНОСТЬ ЖУРНАЛА",
        "uk": "ДОВЕДЕНО ДВОЇСТІСТЬ ЖУРНАЛУ",
    },
    "verdict_claim": {
        "en": "HOLDS; AN ACCUSATION IN IT IS NOT PROVEN",
        "ru": "СОГЛАСОВАН; СОДЕРЖАЩЕЕСЯ В НЁМ ОБВИНЕНИЕ НЕ ДОКАЗАНО",
        "uk": "УЗГОДЖЕНИЙ; ЗВИНУВАЧЕННЯ В НЬОМУ НЕ ДОВЕДЕНО",
    },
    "verdict_cards": {
        "en": "Cards the verdict rests on",
        "ru": "Карточки, на которых основан вывод",
        "uk": "Картки, на яких ґрунтується висновок",
    },
    "verdict_claims": {
        "en": "Accusations not proven",
        "ru": "Недоказанные обвинения",
        "uk": "Недоведені звинувачення",
    },
    "verdict_refuted": {
        "en": "Accusations the bundle itself refutes",
        "ru": "Обвинения, опровергнутые самим пакетом",
        "uk": "Звинувачення, спростовані самим пакетом",
    },
    "card_party": {"en": "Party", "ru": "Сторона", "uk": "Сторона"},
    "card_fingerprint": {
        "en": "Fingerprint (voice check)",
        "ru": "Отпечаток (голосовая сверка)",
        "uk": "Відбиток (голосова звірка)",
    },
    "anchored_by": {"en": "Anchored by", "ru": "Чем привязана", "uk": "Чим прив’язана"},
    "not_anchored": {"en": "not anchored", "ru": "не привязана", "uk": "не прив’язана"},
    "verifier_busy": {
        "en": "Another bundle is being verified on this node; try again when it is done.",
        "ru": "На этом узле уже проверяется другой пакет; повторите, когда проверка закончится.",
        "uk": "На цьому вузлі вже перевіряється інший пакет; повторіть, коли перевірку буде завершено.",
    },
    "verdict_counts": {
        "en": "{entries} entries ({covered} proven in their signer's log, {sigonly} by signature only), {cps} checkpoints, {cos} cosignatures.",
        "ru": "Записей: {entries} (в журнале подписавшего доказано: {covered}, только по подписи: {sigonly}), контрольных точек: {cps}, заверений: {cos}.",
        "uk": "Записів: {entries} (у журналі підписанта доведено: {covered}, лише за підписом: {sigonly}), контрольних точок: {cps}, засвідчень: {cos}.",
    },
    "verdict_reasons": {"en": "Reasons", "ru": "Причины", "uk": "Причини"},
    # two-person release as the signed record shows it (the Verify page)
    "verdict_releases": {
        "en": "Release by two persons, in the signed record",
        "ru": "Разрешение на отправку двумя лицами в подписанной записи",
        "uk": "Дозвіл на відправлення двома особами в підписаному записі",
    },
    "release_message": {"en": "Message", "ru": "Сообщение", "uk": "Повідомлення"},
    "release_granted_by": {
        "en": "Release granted by",
        "ru": "Разрешил отправку",
        "uk": "Дозволив відправлення",
    },
    "verdict_unreleased": {
        "en": "FLASH messages with no release by two persons in the signed record (sent before releases were recorded, or by a node that did not record them)",
        "ru": "Сообщения МОЛНИЯ без разрешения на отправку двумя лицами в подписанной записи (отправлены до того, как разрешения стали записываться, или узлом, который их не записывал)",
        "uk": "Повідомлення БЛИСКАВКА без дозволу на відправлення двома особами в підписаному записі (надіслані до того, як дозволи почали записуватися, або вузлом, який їх не записував)",
    },
    "verdict_notes": {"en": "Notes", "ru": "Замечания", "uk": "Зауваження"},
    "equivocation": {
        "en": "Equivocation proven",
        "ru": "Доказана двуличность журнала",
        "uk": "Доведено двоїстість журналу",
    },
    "verifier_english": {
        "en": "The verifier's reasons are given in English, as the verifier writes them.",
        "ru": "Причины приведены на английском, как их формулирует проверяющая программа.",
        "uk": "Причини наведено англійською, як їх формулює програма перевірки.",
    },
    # the map
    "map": {"en": "Map", "ru": "Карта", "uk": "Мапа"},
    "map_title": {"en": "Areas and positions", "ru": "Районы и координаты", "uk": "Райони та координати"},
    "map_base": {
        "en": "Base map: coastlines only (Natural Earth 1:50m). No tiles, nothing loaded from outside this node.",
        "ru": "Подложка: только береговые линии (Natural Earth 1:50m). Без тайлов, ничего не загружается извне узла.",
        "uk": "Підкладка: лише берегові лінії (Natural Earth 1:50m). Без тайлів, нічого не завантажується ззовні вузла.",
    },
    "borders_layer": {
        "en": "Show country borders",
        "ru": "Показывать государственные границы",
        "uk": "Показувати державні кордони",
    },
    "borders_warning": {
        "en": "Borders are a political statement. The bundled data (Natural Earth 4.1.0) draws Crimea inside Russia; no border drawn here is agreed between the parties.",
        "ru": "Границы — политическое заявление. Встроенные данные (Natural Earth 4.1.0) показывают Крым в составе России; ни одна показанная здесь граница не согласована сторонами.",
        "uk": "Кордони — політична заява. Вбудовані дані (Natural Earth 4.1.0) показують Крим у складі Росії; жоден показаний тут кордон не узгоджено сторонами.",
    },
    "borders_on": {"en": "Borders are shown.", "ru": "Границы показаны.", "uk": "Кордони показано."},
    "save": {"en": "Save", "ru": "Сохранить", "uk": "Зберегти"},
    "map_none": {
        "en": "No format message held here carries an area or a position.",
        "ru": "Ни одно сообщение по формату на этом узле не содержит района или координат.",
        "uk": "Жодне повідомлення за форматом на цьому вузлі не містить району чи координат.",
    },
    "map_list": {"en": "Shapes on the map", "ru": "Объекты на карте", "uk": "Об’єкти на мапі"},
    "shape_circle": {"en": "circle", "ru": "круг", "uk": "коло"},
    "shape_polygon": {"en": "polygon", "ru": "многоугольник", "uk": "багатокутник"},
    "shape_position": {"en": "position", "ru": "точка", "uk": "точка"},
    "shape_not_drawn": {
        "en": "not drawn: not a valid position or area",
        "ru": "не нанесено: недопустимые координаты или район",
        "uk": "не нанесено: неприпустимі координати або район",
    },
    "map_needs_js": {
        "en": "The map needs JavaScript; the list below holds the same shapes.",
        "ru": "Для карты нужен JavaScript; в списке ниже те же объекты.",
        "uk": "Для мапи потрібен JavaScript; у списку нижче ті самі об’єкти.",
    },
    # drafts and release
    "drafts": {"en": "To release", "ru": "На выпуск", "uk": "На випуск"},
    "draft": {"en": "Draft {id}", "ru": "Черновик {id}", "uk": "Чернетка {id}"},
    "draft_author": {"en": "Drafted by", "ru": "Составил", "uk": "Склав"},
    "draft_reason_flash": {
        "en": "A FLASH message needs a second person's release.",
        "ru": "Сообщение МОЛНИЯ требует выпуска вторым лицом.",
        "uk": "Повідомлення БЛИСКАВКА потребує випуску другою особою.",
    },
    "draft_reason_format": {
        "en": "This node requires a second person's release for format messages.",
        "ru": "На этом узле сообщения по формату требуют выпуска вторым лицом.",
        "uk": "На цьому вузлі повідомлення за форматом потребують випуску другою особою.",
    },
    "draft_state_waiting": {
        "en": "awaiting release — not signed, not sent",
        "ru": "ожидает выпуска — не подписано, не отправлено",
        "uk": "очікує випуску — не підписано, не надіслано",
    },
    "draft_state_releasing": {"en": "being released", "ru": "выпускается", "uk": "випускається"},
    "draft_state_released": {"en": "released", "ru": "выпущено", "uk": "випущено"},
    "draft_state_withdrawn": {"en": "withdrawn", "ru": "отозвано", "uk": "відкликано"},
    "released_by": {
        "en": "Released by {name} at {at} UTC",
        "ru": "Выпустил {name}, {at} UTC",
        "uk": "Випустив {name}, {at} UTC",
    },
    "release": {
        "en": "Release: sign and send",
        "ru": "Выпустить: подписать и отправить",
        "uk": "Випустити: підписати та надіслати",
    },
    "withdraw": {"en": "Withdraw", "ru": "Отозвать", "uk": "Відкликати"},
    "release_own": {
        "en": "You drafted this message: a different releasing officer must release it.",
        "ru": "Вы составили это сообщение: выпустить его должен другой выпускающий офицер.",
        "uk": "Ви склали це повідомлення: випустити його має інший офіцер випуску.",
    },
    "release_done": {
        "en": "This draft is no longer waiting for release.",
        "ru": "Этот черновик больше не ожидает выпуска.",
        "uk": "Ця чернетка більше не очікує випуску.",
    },
    "withdraw_not_author": {
        "en": "Only the officer who drafted this message may withdraw it.",
        "ru": "Отозвать это сообщение может только составивший его офицер.",
        "uk": "Відкликати це повідомлення може лише офіцер, який його склав.",
    },
    "release_needs_other": {
        "en": "Waiting for a releasing officer other than {name}.",
        "ru": "Ожидается выпускающий офицер, отличный от {name}.",
        "uk": "Очікується офіцер випуску, інший ніж {name}.",
    },
    "no_drafts": {"en": "Nothing to release.", "ru": "Выпускать нечего.", "uk": "Випускати нічого."},
    "sent_as": {"en": "Sent as", "ru": "Отправлено как", "uk": "Надіслано як"},
    # compose from a format
    "compose_format": {"en": "New from a format", "ru": "Новое по формату", "uk": "Нове за форматом"},
    "pick_format": {"en": "Choose a format.", "ru": "Выберите формат.", "uk": "Оберіть формат."},
    "format_choose": {"en": "Format", "ru": "Формат", "uk": "Формат"},
    "open_format": {"en": "Open", "ru": "Открыть", "uk": "Відкрити"},
    "required": {"en": "required", "ru": "обязательно", "uk": "обов’язково"},
    "json_hint": {
        "en": "Structured value (JSON); example:",
        "ru": "Составное значение (JSON); пример:",
        "uk": "Складене значення (JSON); приклад:",
    },
    "example": {"en": "Example: {v}", "ru": "Пример: {v}", "uk": "Приклад: {v}"},
    "check_preview": {
        "en": "Check and preview",
        "ru": "Проверить и просмотреть",
        "uk": "Перевірити й переглянути",
    },
    "fix_fields": {
        "en": "Some fields need correcting.",
        "ru": "Некоторые поля нужно исправить.",
        "uk": "Деякі поля потрібно виправити.",
    },
    "preview_in": {
        "en": "What the other side reads in {language}",
        "ru": "Что прочтёт другая сторона на языке: {language}",
        "uk": "Що прочитає інша сторона мовою: {language}",
    },
    "preview_ok": {
        "en": "All fields are valid. Check the preview, then send.",
        "ru": "Все поля верны. Проверьте предпросмотр и отправьте.",
        "uk": "Усі поля правильні. Перевірте попередній перегляд і надішліть.",
    },
    "choose": {"en": "— choose —", "ru": "— выберите —", "uk": "— оберіть —"},
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
    return value if value in LANGS else "en"


# The words of format forms' real inputs and of translating free text in formats.
STRINGS.update({k: v for k, v in INPUT_STRINGS.items() if k not in STRINGS})

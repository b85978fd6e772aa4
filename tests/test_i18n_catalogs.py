"""The console's gettext catalogs: complete in every language, placeholders intact, compilable
with standard tools, and what the console actually shows."""

from __future__ import annotations

import gettext
import importlib.util
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detente.core.terms import LANGS
from detente.devtools.cluster import Cluster
from detente.export.pdf import L as PDF_WORDS
from detente.l10n import Catalogs, catalog_paths
from detente.web import auth
from detente.web.i18n import DOMAIN, LOCALE_DIR, STRINGS, t

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in LANGS if lang != "en"]
# Every set of words the product shows: the console's and the PDF transcript's.
WORDS = {DOMAIN: STRINGS, "pdf": PDF_WORDS}
BOTH = [(domain, lang) for domain in WORDS for lang in TRANSLATED]


def paths(domain: str) -> dict[str, Path]:
    words: Catalogs = WORDS[domain]
    return catalog_paths(words.locale_dir, domain)


PASSWORD = "correct horse battery staple"
# «выпуск», «выпустить», «выпускающий»; uk «випуск», «випустити» (not «неприпустимий»).
PUBLISHING = re.compile(r"\bв[ыи]пус", re.IGNORECASE)


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, domain=DOMAIN)


def keyed(catalog: Catalog) -> dict[str, tuple[str, str, bool]]:
    return {m.context: (str(m.id), str(m.string), m.fuzzy) for m in catalog if m.id and m.context}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))


def strings_to_po() -> ModuleType:
    spec = importlib.util.spec_from_file_location("strings_to_po", ROOT / "scripts" / "strings-to-po.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the shipped catalogs ------------------------------------------------------------------------


@pytest.mark.parametrize(("domain", "lang"), BOTH)
def test_every_key_in_the_template_has_a_confirmed_translation(domain: str, lang: str) -> None:
    template = keyed(read(paths(domain)["en"]))
    translated = keyed(read(paths(domain)[lang]))
    assert template, "the template holds no strings"
    missing = sorted(key for key in template if key not in translated)
    assert not missing, f"{lang}: no entry for {missing}"
    empty = sorted(key for key, (_, text, _) in translated.items() if not str(text).strip())
    assert not empty, f"{lang}: empty translation for {empty}"
    fuzzy = sorted(key for key, (_, _, is_fuzzy) in translated.items() if is_fuzzy)
    assert not fuzzy, f"{lang}: fuzzy (unconfirmed) translation for {fuzzy}"
    stale = sorted(
        key for key, (english, _, _) in translated.items() if template.get(key, (english,))[0] != english
    )
    assert not stale, f"{lang}: translated from other English than the template's: {stale}"
    extra = sorted(set(translated) - set(template))
    assert not extra, f"{lang}: keys the template does not have: {extra}"


@pytest.mark.parametrize(("domain", "lang"), BOTH)
def test_placeholders_match_between_english_and_each_translation(domain: str, lang: str) -> None:
    for key, (english, text, _) in keyed(read(paths(domain)[lang])).items():
        assert placeholders(str(text)) == placeholders(str(english)), (domain, lang, key)


@pytest.mark.parametrize(("domain", "lang"), BOTH)
def test_each_catalog_compiles_to_a_mo_file_that_gettext_reads(domain: str, lang: str) -> None:
    catalog = read(paths(domain)[lang])
    assert not catalog.fuzzy, "pybabel compile skips a catalog whose header is fuzzy"
    assert [problem for problem in catalog.check()] == []
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    compiled = gettext.GNUTranslations(mo)
    words = WORDS[domain]
    for key, entry in words.items():
        assert compiled.pgettext(key, entry["en"]) == entry[lang], (domain, key)


@pytest.mark.parametrize("domain", WORDS)
def test_the_code_reads_every_language_from_the_catalogs(domain: str) -> None:
    words = WORDS[domain]
    template = keyed(read(paths(domain)["en"]))
    assert set(words) == set(template)
    for lang in TRANSLATED:
        translated = keyed(read(paths(domain)[lang]))
        for key, entry in words.items():
            assert entry["en"] == template[key][0]
            assert entry[lang] == translated[key][1], (domain, lang, key)


def test_every_language_has_a_name_in_every_interface_language() -> None:
    # Sentences such as "Written in {language}" name a language in the reader's own language.
    for code in LANGS:
        entry = STRINGS[f"langname_{code}"]
        assert set(entry) == set(LANGS), code


def test_an_unknown_language_gets_english() -> None:
    assert t("fr", "inbox") == STRINGS["inbox"]["en"] == "Inbox"


@pytest.mark.parametrize(("domain", "lang"), BOTH)
def test_no_publishing_vocabulary_for_message_release(domain: str, lang: str) -> None:
    # «выпуск»/«випуск» is what a newspaper does; a message is given permission to be sent.
    for key, entry in WORDS[domain].items():
        assert not PUBLISHING.search(entry[lang]), (domain, lang, key, entry[lang])


# -- the conversion script ------------------------------------------------------------------------


@pytest.fixture
def locale_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(LOCALE_DIR, tmp_path / "locale"))


def write_dict(path: Path, entries: dict[str, dict[str, str]]) -> Path:
    path.write_text(f"STRINGS: dict[str, dict[str, str]] = {entries!r}\n", encoding="utf-8")
    return path


def test_the_script_adds_a_new_key_to_the_template_and_both_translations(
    tmp_path: Path, locale_copy: Path
) -> None:
    source = tmp_path / "late.py"
    source.write_text(
        "STRINGS = {\n"
        "    # shown beside a coordinate field\n"
        '    "lat_hint": {"en": "Latitude {n}", "ru": "Широта {n}", "uk": "Широта {n}"},\n'
        "}\n",
        encoding="utf-8",
    )
    script = strings_to_po()
    assert script.main([str(source), "--locale-dir", str(locale_copy)]) == 0
    template = read(locale_copy / f"{DOMAIN}.pot")
    added = template.get("Latitude {n}", context="lat_hint")
    assert added is not None and added.auto_comments == ["shown beside a coordinate field"]
    for lang, text in (("ru", "Широта {n}"), ("uk", "Широта {n}")):
        message = read(locale_copy / lang / "LC_MESSAGES" / f"{DOMAIN}.po").get(
            "Latitude {n}", context="lat_hint"
        )
        assert message is not None and message.string == text and not message.fuzzy
    # Everything already held is still there, unchanged.
    assert keyed(read(locale_copy / "ru" / "LC_MESSAGES" / f"{DOMAIN}.po"))["inbox"][1] == "Входящие"


def test_the_script_keeps_held_wording_unless_told_to_replace_it(tmp_path: Path, locale_copy: Path) -> None:
    old = {"drafts": {"en": "To release", "ru": "На выпуск", "uk": "На випуск"}}
    source = write_dict(tmp_path / "old.py", old)
    ru = locale_copy / "ru" / "LC_MESSAGES" / f"{DOMAIN}.po"
    script = strings_to_po()
    assert script.main([str(source), "--locale-dir", str(locale_copy)]) == 1
    assert keyed(read(ru))["drafts"][1] == STRINGS["drafts"]["ru"]
    assert script.main([str(source), "--locale-dir", str(locale_copy), "--replace"]) == 0
    assert keyed(read(ru))["drafts"][1] == "На выпуск"


def test_with_a_base_the_script_takes_only_what_the_branch_changed(tmp_path: Path, locale_copy: Path) -> None:
    # The merge of a branch begun before the catalogs: "drafts" the branch left as it was (the
    # catalogs have since reworded it), "inbox" only the branch reworded, "outbox" both did.
    base = {
        "drafts": {"en": "To release", "ru": "На выпуск", "uk": "На випуск"},
        "inbox": {"en": "Inbox", "ru": "Входящие", "uk": "Вхідні"},
        "outbox": {"en": "Outbox", "ru": "Исходящие (старое)", "uk": "Вихідні"},
    }
    branch = {
        "drafts": base["drafts"],
        "inbox": {"en": "Inbox", "ru": "Входящие сообщения", "uk": "Вхідні повідомлення"},
        "outbox": {"en": "Outbox", "ru": "Исходящие сообщения", "uk": "Вихідні"},
    }
    ru = locale_copy / "ru" / "LC_MESSAGES" / f"{DOMAIN}.po"
    status = strings_to_po().main(
        [
            str(write_dict(tmp_path / "branch.py", branch)),
            "--base",
            str(write_dict(tmp_path / "base.py", base)),
            "--locale-dir",
            str(locale_copy),
        ]
    )
    held = keyed(read(ru))
    assert held["drafts"][1] == STRINGS["drafts"]["ru"]
    assert held["inbox"][1] == "Входящие сообщения"
    assert held["outbox"][1] == STRINGS["outbox"]["ru"]
    assert status == 1  # "outbox" changed on both sides is reported for a person to decide


def test_the_script_refuses_an_entry_missing_a_language(tmp_path: Path, locale_copy: Path) -> None:
    source = write_dict(tmp_path / "bad.py", {"half": {"en": "Half", "ru": "Половина"}})
    with pytest.raises(SystemExit, match="half"):
        strings_to_po().main([str(source), "--locale-dir", str(locale_copy)])


texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="{}\x00"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(english=texts, russian=texts, ukrainian=texts)
def test_any_text_survives_the_catalogs_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory, english: str, russian: str, ukrainian: str
) -> None:
    # Quotes, backslashes, newlines and long lines are escaped and wrapped in .po files; what
    # a translator writes must come back exactly.
    root = tmp_path_factory.mktemp("po")
    source = write_dict(root / "s.py", {"k": {"en": english, "ru": russian, "uk": ukrainian}})
    assert strings_to_po().main([str(source), "--locale-dir", str(root / "locale")]) == 0
    template = keyed(read(root / "locale" / f"{DOMAIN}.pot"))
    assert template["k"][0] == english
    for lang, text in (("ru", russian), ("uk", ukrainian)):
        assert keyed(read(root / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"))["k"][1] == text


# -- the console --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(
        tmp_path_factory.mktemp("i18n"), [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")]
    )
    now = 0.0
    for name, lang in (("orlov", "ru"), ("petrenko", "uk")):
        auth.add_user(cluster["RU-MOD"].cfg.db, name, "releaser", PASSWORD, lang, now)
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "lang", "expected"),
    [
        ("orlov", "ru", ["Входящие", "На утверждение", "orlov (разрешающий отправку)"]),
        ("petrenko", "uk", ["Вхідні", "На затвердження", "petrenko (уповноважений на відправлення)"]),
    ],
)
def test_the_console_shows_its_pages_in_russian_and_ukrainian_from_the_catalogs(
    two: Cluster, name: str, lang: str, expected: list[str]
) -> None:
    base = f"http://{two['RU-MOD'].cfg.api}"
    with httpx2.Client(base_url=base, timeout=30) as client:
        login = client.get("/login", params={"lang": lang})
        assert login.status_code == 200
        assert STRINGS["sign_in"][lang] in login.text
        signed = client.post(
            "/login", data={"name": name, "password": PASSWORD, "csrf": csrf_of(login.text), "lang": lang}
        )
        assert signed.status_code == 303
        inbox = client.get("/inbox")
        assert inbox.status_code == 200
        for text in expected:
            assert text in inbox.text, (lang, text)
        assert not PUBLISHING.search(inbox.text)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "lang", "written_in"),
    [("orlov", "ru", "Язык оригинала: английский"), ("petrenko", "uk", "Мова оригіналу: англійська")],
)
def test_a_message_page_names_the_texts_language_in_the_readers_language(
    two: Cluster, name: str, lang: str, written_in: str
) -> None:
    base = f"http://{two['RU-MOD'].cfg.api}"
    with httpx2.Client(base_url=base, timeout=30) as client:
        login = client.get("/login", params={"lang": lang})
        client.post(
            "/login", data={"name": name, "password": PASSWORD, "csrf": csrf_of(login.text), "lang": lang}
        )
        compose = client.get("/compose")
        assert compose.status_code == 200
        sent = client.post(
            "/compose",
            data={
                "csrf": csrf_of(compose.text),
                "to": "US-EUCOM",
                "precedence": "routine",
                "text_lang": "en",
                "text": "Line check.",
            },
            follow_redirects=True,
        )
        assert sent.status_code == 200
        assert written_in in sent.text


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


def test_every_alarm_kind_the_node_raises_has_a_name_in_the_catalogs():
    from detente.store import queries

    assert [k for k in queries.ALARM_KINDS if "alarmkind_" + k not in STRINGS] == []

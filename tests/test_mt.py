"""Machine translation: off by default and saying so; with a tiny model built here, the real path.

The model tests need the optional extra ``mt`` (ctranslate2, sentencepiece); without it they are
skipped with that reason. The tests of what happens without a model always run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.config import ConfigError
from detente.core.entries import MachineMaker, Translation
from detente.node.mt import MT_LABEL, NO_MODEL, MachineTranslation, MTError, Translator, read_config

HAVE_MT = all(importlib.util.find_spec(m) is not None for m in ("ctranslate2", "sentencepiece"))
needs_mt = pytest.mark.skipif(
    not HAVE_MT, reason="ctranslate2/sentencepiece not installed (install detente with the 'mt' extra)"
)

RU_TEXT = "Подтвердите получение сообщения"


def make_home(tmp_path: Path, translation: str | None = None) -> cfgmod.Config:
    home = tmp_path / "ru-mod"
    cfgmod.init_home(home, "RU-MOD", "127.0.0.1:1", "127.0.0.1:2", None, None, dt.datetime.now(dt.UTC))
    if translation is not None:
        path = home / "config.toml"
        path.write_text(path.read_text() + "\n[translation]\n" + translation, encoding="utf-8")
    return cfgmod.load(home)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE_MT:
        pytest.skip("ctranslate2/sentencepiece not installed (install detente with the 'mt' extra)")
    import tiny_mt

    return tiny_mt.build(tmp_path_factory.mktemp("mt"))


# -- without a model ---------------------------------------------------------------------------


def test_machine_translation_is_off_by_default_and_says_so(tmp_path: Path) -> None:
    cfg = make_home(tmp_path)
    assert read_config(cfg) is None
    mt = MachineTranslation.from_config(cfg)
    mt.load()
    status = mt.status()
    assert not status["configured"] and not status["available"]
    assert status["detail"].startswith("no machine translation model installed")
    assert status["detail_i18n"] == NO_MODEL
    assert not mt.wants("ru")
    with pytest.raises(MTError, match="no machine translation model installed"):
        asyncio.run(mt.translate(RU_TEXT))


def test_a_configured_model_that_is_not_there_is_reported_not_fatal(tmp_path: Path) -> None:
    cfg = make_home(tmp_path, 'model_dir = "mt/nowhere"\nsource = "ru"\ntarget = "en"\n')
    mt = MachineTranslation.from_config(cfg)
    mt.load()
    status = mt.status()
    assert status["configured"] and not status["available"]
    assert status["detail"].startswith("no machine translation model installed: ")
    # Either the libraries are missing or the directory is: both are named.
    assert "not installed" in status["detail"] or "nowhere" in status["detail"]
    assert not mt.wants("ru")


def test_without_the_libraries_the_node_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def without_mt(name: str, package: str | None = None):
        if name in ("ctranslate2", "sentencepiece"):
            raise ImportError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_mt)
    cfg = make_home(tmp_path, 'model_dir = "mt/opus-mt-ru-en"\n')
    mt = MachineTranslation.from_config(cfg)
    mt.load()
    detail = mt.status()["detail"]
    assert detail.startswith("no machine translation model installed: the ctranslate2 and sentencepiece")
    assert "'mt' extra" in detail and not mt.available


@pytest.mark.parametrize(
    ("section", "why"),
    [
        ('source = "ru"\n', "model_dir must name"),
        ('model_dir = "m"\nsource = "de"\n', "source must be one of en, ru, uk"),
        ('model_dir = "m"\nsource = "en"\ntarget = "en"\n', "source and target are both"),
        ('model_dir = "m"\nbeam = 4\n', "unknown setting 'beam'"),
        ('model_dir = "m"\nthreads = 0\n', "threads must be a whole number"),
    ],
)
def test_a_malformed_translation_section_is_a_configuration_error(
    tmp_path: Path, section: str, why: str
) -> None:
    cfg = make_home(tmp_path, section)
    with pytest.raises(ConfigError, match=why):
        read_config(cfg)


def test_a_machine_translation_is_never_graded_above_sight() -> None:
    base = {
        "v": 1,
        "kind": "translation",
        "id": "RU-MOD/2",
        "sender": "RU-MOD",
        "to": ["US-EUCOM"],
        "seq": {"US-EUCOM": 2},
        "created": "2026-03-01T12:00:00.000Z",
        "msg": "US-EUCOM/1",
        "msg_hash": "ab" * 32,
        "lang": "en",
        "text": "Confirm receipt",
        "made_by": {"type": "machine", "model": "opus-mt-ru-en", "version": "1"},
    }
    assert Translation.model_validate({**base, "grade": "sight"}).made_by.type == "machine"
    for grade in ("working", "official"):
        with pytest.raises(ValueError, match="never higher"):
            Translation.model_validate({**base, "grade": grade})
    with pytest.raises(ValueError):  # a person translation must name the translator role
        Translation.model_validate(
            {**base, "grade": "official", "made_by": {"type": "person", "name": "Иванова", "role": "officer"}}
        )


# -- with the tiny model -----------------------------------------------------------------------


@needs_mt
def test_the_tiny_model_loads_and_translates_through_the_real_path(tiny_model: Path, tmp_path: Path) -> None:
    cfg = make_home(tmp_path, f'model_dir = "{tiny_model}"\nsource = "ru"\ntarget = "en"\n')
    mc = read_config(cfg)
    assert mc is not None and mc.name == "ct2-tiny-ru-en"
    translator = Translator(mc)
    out = translator.translate(RU_TEXT)
    assert out and isinstance(out, str)
    assert translator.translate(RU_TEXT) == out  # greedy on fixed weights: deterministic
    # Lines are kept: each is translated on its own.
    two = translator.translate(RU_TEXT + "\n" + "Связь проверена. Помех нет.")
    assert len(two.split("\n")) == 2
    # The version names the exact weights when the operator gives none.
    assert translator.version.startswith("sha256:") and len(translator.version) == 7 + 16


@needs_mt
def test_the_node_service_translates_only_the_source_language_and_names_the_model(
    tiny_model: Path, tmp_path: Path
) -> None:
    cfg = make_home(
        tmp_path,
        f'model_dir = "{tiny_model}"\nsource = "ru"\ntarget = "en"\nname = "tiny"\nversion = "0.1-test"\n',
    )
    mt = MachineTranslation.from_config(cfg)
    mt.load()
    try:
        status = mt.status()
        assert status["available"], status
        assert status["model"] == "tiny" and status["version"] == "0.1-test"
        assert status["label"] == MT_LABEL
        assert mt.wants("ru") and not mt.wants("en") and not mt.wants("uk")
        assert mt.target == "en"
        assert mt.made_by() == MachineMaker(type="machine", model="tiny", version="0.1-test")
        text = asyncio.run(mt.translate(RU_TEXT))
        assert text
    finally:
        mt.close()


@needs_mt
def test_a_directory_without_sentencepiece_models_is_reported(tiny_model: Path, tmp_path: Path) -> None:
    cfg = make_home(tmp_path, f'model_dir = "{tiny_model}"\nsource_spm = "missing.spm"\n')
    mt = MachineTranslation.from_config(cfg)
    mt.load()
    assert not mt.available
    assert "missing.spm" in mt.status()["detail"]


# -- between two real nodes --------------------------------------------------------------------


@needs_mt
@pytest.mark.integration
def test_received_russian_free_text_gets_a_labelled_machine_translation_between_real_nodes(
    tiny_model: Path, tmp_path: Path
) -> None:
    import time

    from click.testing import CliRunner

    from detente.cli import main as cli_main
    from detente.core.encoding import unb64
    from detente.core.entries import Signed, open_signed
    from detente.devtools.cluster import Cluster

    section = f'\n[translation]\nmodel_dir = "{tiny_model}"\nsource = "ru"\ntarget = "en"\nname = "tiny"\nversion = "0.1-test"\n'
    cluster = Cluster(tmp_path / "nodes", [("US-EUCOM", "US"), ("RU-MOD", "RU")], tweak=lambda t: t + section)
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        keys = {n.party: cfgmod.signing_key(n.cfg).public for n in (us, ru)}
        mt = us.api("GET", "/v1/mt")
        assert mt["available"] and mt["model"] == "tiny" and mt["version"] == "0.1-test", mt

        sent = ru.api(
            "POST",
            "/v1/messages?wait=20",
            json={"to": ["US-EUCOM"], "precedence": "priority", "text": RU_TEXT, "lang": "ru"},
        )
        msg_id = sent["id"]

        def translations(node) -> list:
            return node.api("GET", f"/v1/messages/{msg_id}")["translations"]

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (translations(us) and translations(ru)):
            time.sleep(0.1)
        for node in (us, ru):
            view = node.api("GET", f"/v1/messages/{msg_id}")
            (t,) = view["translations"]
            assert t["machine"] is True and t["label"] == MT_LABEL
            assert t["made_by"] == {"type": "machine", "model": "tiny", "version": "0.1-test"}
            assert t["grade"] == "sight" and t["lang"] == "en" and t["from"] == "US-EUCOM"
            assert t["text"] and t["of_this_text"]
            entry = open_signed(Signed("translation", t["body"].encode(), unb64(t["sig"], length=64)), keys)
            assert isinstance(entry, Translation) and entry.msg_hash == sent["hash"]
            # The original is as RU-MOD signed it.
            assert view["hash"] == sent["hash"] and view["content"]["text"] == RU_TEXT

        shown = CliRunner().invoke(cli_main, ["show", str(ru.home), msg_id, "--lang", "ru"])
        assert shown.exit_code == 0, shown.output
        assert "tiny 0.1-test — машинный перевод, не имеет официальной силы" in shown.output
        shown = CliRunner().invoke(cli_main, ["show", str(us.home), msg_id])
        assert "machine translation, not authoritative" in shown.output

        # English free text is not in the model's source language: no machine translation.
        back = us.api(
            "POST",
            "/v1/messages?wait=20",
            json={"to": ["RU-MOD"], "precedence": "routine", "text": "Received.", "lang": "en"},
        )
        time.sleep(1.0)
        assert ru.api("GET", f"/v1/messages/{back['id']}")["translations"] == []
    finally:
        cluster.stop()

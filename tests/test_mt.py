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
from detente.mt import MT_LABEL, NO_MODEL, MachineTranslation, MTError, Translator, read_config

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

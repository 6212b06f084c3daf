"""Keypad matching of real names: pure, synchronous, table-driven (no NATS, no database)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass

import pytest
from rcp.contracts.directory import SearchMatch, SearchResult
from rcp.errors import ErrorCode, ReceptionistError
from rcp_directory.cursor import CURSOR_HEADS, cursor_tail
from rcp_directory.handlers import decode_cursor, encode_cursor, search_result_json
from rcp_directory.index import KEY_DIGITS, Kind, Listing, Mode, TenantIndex
from rcp_directory.keypad import letters_to_digits, name_keys, name_parts, parse_digits

# The standard layout, written out here independently of the code under test.
_KEYPAD = {
    **dict.fromkeys("ABC", "2"),
    **dict.fromkeys("DEF", "3"),
    **dict.fromkeys("GHI", "4"),
    **dict.fromkeys("JKL", "5"),
    **dict.fromkeys("MNO", "6"),
    **dict.fromkeys("PQRS", "7"),
    **dict.fromkeys("TUV", "8"),
    **dict.fromkeys("WXYZ", "9"),
}


def keys(spelled: str) -> str:
    """The digits a caller presses to spell upper-case letters."""
    return "".join(_KEYPAD[letter] for letter in spelled)


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    finds: tuple[str, ...]  # spelled as the caller spells them; each must find this person
    misses: tuple[str, ...]  # each must not find this person


PEOPLE = [
    # French
    Person(
        "Jean-Pierre",
        "Lefèvre",
        ("LEF", "LEFEVRE", "JEA", "JEANPIERRE", "PIE", "PIERRE"),
        ("EVR", "ERR", "FEV"),
    ),
    Person("Amélie", "Poulain", ("AME", "AMELIE", "POU", "POULAIN"), ("MEL", "LAI")),
    Person(
        "Françoise", "Le Gall", ("LEG", "LEGALL", "GAL", "GALL", "FRA", "FRANCOISE"), ("ALL", "COI")
    ),
    Person("Hélène", "Cœur", ("COE", "COEUR", "HEL", "HELENE"), ("CUR", "OEU")),
    Person("Laëtitia", "Gonçalves", ("GON", "GONCALVES", "LAE", "LAETITIA"), ("GONS", "ALV")),
    Person(
        "Éloïse",
        "d'Aubigné",
        ("DAU", "DAUBIGNE", "AUB", "AUBIGNE", "ELO", "ELOISE"),
        ("DAB", "UBI"),
    ),
    Person("Zoé", "Lemaître", ("LEM", "LEMAITRE", "ZOE"), ("MAI", "ZOA")),
    Person(
        "Noël",
        "Dupré-Lacroix",
        ("DUP", "DUPRELACROIX", "LAC", "LACROIX", "NOE", "NOEL"),
        ("PRE", "CRO"),
    ),
    Person(
        "Benoît",
        "Saint-Exupéry",
        ("SAI", "SAINTEXUPERY", "EXU", "EXUPERY", "BEN", "BENOIT"),
        ("XUP", "INT"),
    ),
    Person("Gaëlle", "Le Bihan", ("LEB", "LEBIHAN", "BIH", "GAE", "GAELLE"), ("IHA", "HAN")),
    Person("Chloé", "Tremblay-Côté", ("TRE", "TREMBLAYCOTE", "COT", "COTE", "CHL"), ("BLA", "OTE")),
    # English and Irish
    Person(
        "Seán", "O'Brien", ("OBR", "OBRIEN", "BRI", "BRIEN", "SEA", "SEAN"), ("ORB", "RIE", "SAE")
    ),
    Person("Mary", "O'Connor", ("OCO", "OCONNOR", "CON", "CONNOR", "MAR", "MARY"), ("NNO", "ONN")),
    Person("Patrick", "McDonald", ("MCD", "MCDONALD", "PAT", "PATRICK"), ("DON", "ATR")),
    Person("Catherine", "Mac Donald", ("MAC", "MACDONALD", "DON", "DONALD", "CAT"), ("ACD", "ATH")),
    Person("William", "Smith-Jones", ("SMI", "SMITHJONES", "JON", "JONES", "WIL"), ("ITH", "ONE")),
    Person("Grace", "Kelly", ("KEL", "KELLY", "GRA", "GRACE"), ("ELL", "RAC")),
    Person(
        "Siobhán",
        "Ní Bhriain",
        ("NIB", "NIBHRIAIN", "BHR", "BHRIAIN", "SIO", "SIOBHAN"),
        ("HRI", "OBH"),
    ),
    Person(
        "Aoife", "Ó Súilleabháin", ("OSU", "OSUILLEABHAIN", "SUI", "AOI", "AOIFE"), ("ILL", "FE")
    ),
    Person("Dara", "Ó Briain", ("OBR", "OBRIAIN", "BRI", "BRIAIN", "DAR", "DARA"), ("AIN", "ARA")),
    Person("Tadhg", "Ó Ceallaigh", ("OCE", "OCEALLAIGH", "CEA", "TAD", "TADHG"), ("EAL", "ADH")),
    # Longer than the 16 digits the index keeps: checked against the name itself.
    Person(
        "Eoin",
        "Mac Giolla Phádraig",
        ("MAC", "MACGIOLLAPHADRAIG", "MACGIOLLAPHADRA", "GIO", "GIOLLAPHADRAIG", "PHA", "EOI"),
        ("MACGIOLLAPHADRAIT", "MACGIOLLAPHADRAIGG", "PHADRAIGS"),
    ),
    # German
    Person("Jürgen", "Müller", ("MUL", "MULLER", "JUR", "JURGEN"), ("ULL", "LLE")),
    Person("Günther", "Strauß", ("STR", "STRAUSS", "GUN", "GUNTHER"), ("STRAUB", "RAU")),
    Person("Käthe", "Schäfer", ("SCH", "SCHAFER", "KAT", "KATHE"), ("CHA", "ATH")),
    Person("Björn", "Weiß", ("WEI", "WEISS", "BJO", "BJORN"), ("WEIB", "EIS")),
    Person("Max", "von Bülow", ("VON", "VONBULOW", "BUL", "BULOW", "MAX"), ("ULO", "NBU")),
    Person(
        "Anna",
        "zu Löwenstein",
        ("ZUL", "ZULOWENSTEIN", "LOW", "LOWENSTEIN", "ANN", "ANNA"),
        ("WEN", "STE"),
    ),
    # Spanish
    Person("José", "Núñez", ("NUN", "NUNEZ", "JOS", "JOSE"), ("UNE", "NEZ")),
    Person(
        "María José",
        "García Márquez",
        ("GAR", "GARCIAMARQUEZ", "MAR", "MARQUEZ", "MARIA", "JOS", "JOSE"),
        ("ARQ", "CIA"),
    ),
    Person("Iñaki", "Ibáñez", ("IBA", "IBANEZ", "INA", "INAKI"), ("BAN", "AKI")),
    Person(
        "Ángel",
        "de la Peña",
        ("DEL", "DELAPENA", "LAP", "LAPENA", "PEN", "PENA", "ANG", "ANGEL"),
        ("ENA", "NGE"),
    ),
    Person("Begoña", "Muñoz", ("MUN", "MUNOZ", "BEG", "BEGONA"), ("UNO", "GON")),
    # Dutch
    Person(
        "Pieter",
        "van der Berg",
        ("VAN", "VANDERBERG", "DER", "DERBERG", "BER", "BERG", "PIE", "PIETER"),
        ("ERB", "ANDE"),
    ),
    Person("Jan", "de Vries", ("DEV", "DEVRIES", "VRI", "VRIES", "JAN"), ("RIES", "EVR")),
    Person(
        "Anouk", "van 't Hof", ("VAN", "VANTHOF", "THOF", "HOF", "ANO", "ANOUK"), ("ANT", "NOU")
    ),
    Person("Daan", "Vermeulen", ("VER", "VERMEULEN", "DAA", "DAAN"), ("MEU", "AAN")),
    Person(
        "Ĳsbrand", "de Jong", ("IJS", "IJSBRAND", "DEJ", "DEJONG", "JON", "JONG"), ("YSB", "SBR")
    ),
    # Scandinavian, Polish, Icelandic
    Person("Ole", "Ødegaard", ("ODE", "ODEGAARD", "OLE"), ("DEG", "GAA")),
    Person("Søren", "Æbelø", ("AEB", "AEBELO", "SOR", "SOREN"), ("EBE", "ABE")),
    Person("Łukasz", "Wałęsa", ("WAL", "WALESA", "LUK", "LUKASZ"), ("ALE", "KAS")),
    Person("Þóra", "Sigurðardóttir", ("SIG", "SIGURDARDOTTIR", "THO", "THORA"), ("ORA", "DOT")),
    # Elsewhere in a French carrier's customers
    Person("Zoë", "Quarré", ("QUA", "QUARRE", "ZOE"), ("KUA", "ARR")),
    Person(
        "Ahmed", "El-Amrani", ("ELA", "ELAMRANI", "AMR", "AMRANI", "AHM", "AHMED"), ("MRA", "HME")
    ),
    Person("Thị", "Nguyễn", ("NGU", "NGUYEN", "THI"), ("GUY", "UYE")),
    Person("Ioana", "Ștefănescu", ("STE", "STEFANESCU", "IOA", "IOANA"), ("TEF", "ESC")),
]


def _number(row: int) -> str:
    return f"{100 + row}"


@pytest.fixture(scope="module")
def index() -> TenantIndex:
    return TenantIndex(
        Listing(number=_number(row), first_name=person.first, last_name=person.last)
        for row, person in enumerate(PEOPLE)
    )


def _found(index: TenantIndex, digits: str, mode: Mode = Mode.EITHER) -> list[str]:
    page = index.search(digits, mode, limit=len(PEOPLE))
    assert page.total == len(page.matches)
    return [match.listing.number for match in page.matches]


def test_the_table_has_at_least_forty_real_names() -> None:
    assert len(PEOPLE) >= 40
    assert len({(person.first, person.last) for person in PEOPLE}) == len(PEOPLE)


@pytest.mark.parametrize(
    ("row", "spelled"),
    [(row, spelled) for row, person in enumerate(PEOPLE) for spelled in person.finds],
    ids=str,
)
def test_name_is_found_by_the_digits_of_its_start_or_a_part(
    index: TenantIndex, row: int, spelled: str
) -> None:
    assert _number(row) in _found(index, keys(spelled)), (PEOPLE[row], spelled)


@pytest.mark.parametrize(
    ("row", "spelled"),
    [(row, spelled) for row, person in enumerate(PEOPLE) for spelled in person.misses],
    ids=str,
)
def test_name_is_not_found_by_digits_from_inside_a_part(
    index: TenantIndex, row: int, spelled: str
) -> None:
    assert _number(row) not in _found(index, keys(spelled)), (PEOPLE[row], spelled)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Lefèvre", ("LEFEVRE",)),
        ("Jean-Pierre", ("JEAN", "PIERRE")),
        ("O'Brien", ("O", "BRIEN")),
        ("O\u2019Brien", ("O", "BRIEN")),  # typographic apostrophe
        ("Le Gall", ("LE", "GALL")),
        ("van der Berg", ("VAN", "DER", "BERG")),
        ("Müller", ("MULLER",)),
        ("Strauß", ("STRAUSS",)),
        ("Núñez", ("NUNEZ",)),
        ("Ødegaard", ("ODEGAARD",)),
        ("Æbelø", ("AEBELO",)),
        ("Cœur", ("COEUR",)),
        ("ŒUVRE", ("OEUVRE",)),
        ("Çelik", ("CELIK",)),
        ("Wałęsa", ("WALESA",)),
        ("Ĳsbrand", ("IJSBRAND",)),
        ("\ufb01nn", ("FINN",)),  # the fi ligature
        ("  St. John  ", ("ST", "JOHN")),
        ("Henri IV", ("HENRI", "IV")),
        ("Room 42", ("ROOM",)),
        ("—", ()),
    ],
)
def test_names_fold_to_upper_case_parts(name: str, parts: tuple[str, ...]) -> None:
    assert name_parts(name) == parts


def test_keypad_layout_puts_q_on_7_and_z_on_9() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert letters_to_digits(alphabet) == "22233344455566677778889999"
    assert letters_to_digits(alphabet) == keys(alphabet)


def test_name_keys_are_the_whole_name_and_each_later_part_to_the_end() -> None:
    keys_ = name_keys("van der Berg")
    assert keys_.whole == keys("VANDERBERG")
    assert keys_.parts == (keys("DERBERG"), keys("BERG"))
    assert name_keys("Lefèvre").parts == ()
    assert name_keys("").whole == ""


@pytest.mark.parametrize(
    ("typed", "code", "invalid"),
    [
        ("", ErrorCode.EMPTY_INPUT, None),
        ("2013", ErrorCode.INVALID_DIGITS, [(1, "0"), (2, "1")]),
        ("53#", ErrorCode.INVALID_DIGITS, [(2, "#")]),
        ("*5", ErrorCode.INVALID_DIGITS, [(0, "*")]),
        ("LEF", ErrorCode.INVALID_DIGITS, [(0, "L"), (1, "E"), (2, "F")]),
        (
            "\u0665\u0663",  # Arabic-Indic digits five and three
            ErrorCode.INVALID_DIGITS,
            [(0, "\u0665"), (1, "\u0663")],
        ),
    ],
)
def test_input_outside_2_to_9_is_refused_naming_each_key(
    typed: str, code: ErrorCode, invalid: list[tuple[int, str]] | None
) -> None:
    with pytest.raises(ReceptionistError) as caught:
        parse_digits(typed)
    assert caught.value.code == code
    if invalid is not None:
        assert [
            (item["position"], item["character"]) for item in caught.value.details["invalid"]
        ] == invalid


def test_digits_2_to_9_are_accepted_as_typed() -> None:
    assert parse_digits("23456789") == "23456789"


def _ranked(entries: list[Listing], digits: str, mode: Mode) -> list[tuple[str, Kind]]:
    page = TenantIndex(entries).search(digits, mode, limit=100)
    return [(match.listing.display_name, match.kind) for match in page.matches]


RANKING = [
    Listing("201", "Anne", "Le Marec"),
    Listing("202", "Bernard", "Martin"),
    Listing("203", "Marc", "Dupont"),
    Listing("204", "Gérard", "Obrecht"),
    Listing("205", "Alice", "Martin"),
    Listing("206", "Zoé", "Rousseau"),
]


def test_whole_name_matches_rank_before_parts_then_by_last_then_first_name() -> None:
    assert _ranked(RANKING, keys("MAR"), Mode.EITHER) == [
        ("Marc Dupont", Kind.WHOLE),
        ("Alice Martin", Kind.WHOLE),
        ("Bernard Martin", Kind.WHOLE),
        ("Gérard Obrecht", Kind.WHOLE),  # OBR and MAR share 627
        ("Anne Le Marec", Kind.PART),
    ]


def test_search_by_last_or_first_name_only_looks_at_that_name() -> None:
    assert [name for name, _ in _ranked(RANKING, keys("MAR"), Mode.LAST)] == [
        "Alice Martin",
        "Bernard Martin",
        "Gérard Obrecht",
        "Anne Le Marec",
    ]
    assert _ranked(RANKING, keys("MAR"), Mode.FIRST) == [("Marc Dupont", Kind.WHOLE)]


def test_a_name_matched_both_whole_and_in_part_is_listed_once_as_whole() -> None:
    entries = [Listing("300", "Martin", "Martin"), Listing("301", "Ana", "Mar-Mar")]
    assert _ranked(entries, keys("MAR"), Mode.EITHER) == [
        ("Ana Mar-Mar", Kind.WHOLE),
        ("Martin Martin", Kind.WHOLE),
    ]


def test_entry_with_a_first_name_only_is_found_and_sorted_by_it() -> None:
    entries = [
        Listing("400", "Accueil", ""),
        Listing("401", "Zacharie", "Abadie"),
        Listing("402", "", "Accord"),
    ]
    assert [name for name, _ in _ranked(entries, keys("A"), Mode.EITHER)] == [
        "Zacharie Abadie",
        "Accord",
        "Accueil",
    ]
    assert _ranked(entries, keys("ACCO"), Mode.LAST) == [("Accord", Kind.WHOLE)]


def _many() -> list[Listing]:
    return [
        Listing(f"{500 + n}", first, last)
        for n, (first, last) in enumerate(
            (first, last)
            for last in ("Martin", "Marchand", "Marin", "Mercier", "Le Maréchal")
            for first in ("Paul", "Marie", "Luc", "Anne", "Noé")
        )
    ]


def test_pages_follow_each_other_without_gaps_or_repeats() -> None:
    index = TenantIndex(_many())
    everything = index.search(keys("MAR"), Mode.EITHER, limit=100)
    seen: list[str] = []
    page = index.search(keys("MAR"), Mode.EITHER, limit=7)
    while True:
        assert page.total == everything.total
        seen.extend(match.listing.number for match in page.matches)
        if page.next_after is None:
            break
        page = index.search(keys("MAR"), Mode.EITHER, limit=7, after=page.next_after)
    assert seen == [match.listing.number for match in everything.matches]
    # Martin, Marchand, Marin and Le Maréchal five times each; Mercier only as Marie Mercier.
    assert len(seen) == everything.total == 21


def test_next_page_continues_after_the_same_name_when_the_index_was_rebuilt() -> None:
    entries = _many()
    first = TenantIndex(entries).search(keys("MAR"), Mode.LAST, limit=3)
    assert first.next_after is not None
    last_seen = first.matches[-1].listing.display_name
    # An edit lands between the two pages: a name ranking before the cursor is added.
    rebuilt = TenantIndex([*entries, Listing("599", "Aaron", "Marchand")])
    second = rebuilt.search(keys("MAR"), Mode.LAST, limit=3, after=first.next_after)
    names = [match.listing.display_name for match in second.matches]
    assert last_seen == "Marie Marchand"
    assert names == ["Noé Marchand", "Paul Marchand", "Anne Marin"]


def test_cursor_is_the_url_safe_base64_of_its_positions_json_as_earlier_versions_wrote() -> None:
    # A caller may carry a cursor from one instance to another of another version.
    positions = [
        (0, "LEGALL", "FRANCOISE", "104"),
        (1, 'O"SUILLEABHAIN\\', "ÉMILE ZOË 漢字", "007"),
        (1, "???>>>~~~", "", ""),
    ]
    expected = [base64.urlsafe_b64encode(json.dumps(at).encode()).decode() for at in positions]
    assert [encode_cursor(at) for at in positions] == expected
    assert {"-", "_"} <= set("".join(expected))  # the URL-safe letters are written too


def test_cursor_round_trips_and_refuses_anything_else() -> None:
    position = (0, "LEGALL", "FRANCOISE", "104")
    assert decode_cursor(encode_cursor(position)) == position
    for bad in ["", "not base64!", encode_cursor((7, "A", "B", "1")), "W10="]:
        with pytest.raises(ReceptionistError) as caught:
            decode_cursor(bad)
        assert caught.value.code == ErrorCode.INVALID_REQUEST


def test_reverse_lookup_finds_the_exact_number_only() -> None:
    prompt = uuid.uuid4()
    index = TenantIndex(
        [
            Listing("07", "Sept", "Zéro", prompt),
            Listing("007", "James", "Bond"),
            Listing("102", "Jean-Pierre", "Lefèvre"),
        ]
    )
    assert index.find("07") == Listing("07", "Sept", "Zéro", prompt)
    assert index.find("007") == Listing("007", "James", "Bond")
    assert index.find("0007") is None
    assert index.find("10") is None
    assert TenantIndex([]).find("10") is None


def test_listing_keeps_its_names_and_prompt_as_given() -> None:
    prompt = uuid.uuid4()
    listing = Listing("103", "Seán", "O'Brien", prompt)
    index = TenantIndex([listing, Listing("104", "Françoise", "Le Gall")])
    assert index.search(keys("OBR"), Mode.LAST, limit=1).matches[0].listing == listing
    assert listing.display_name == "Seán O'Brien"
    assert Listing("1", "", "Accord").display_name == "Accord"


def test_prefix_longer_than_the_kept_digits_is_checked_against_the_name() -> None:
    long_name = "Wolfeschlegelsteinhausenbergerdorff"
    index = TenantIndex(
        [Listing("600", "Hubert", long_name), Listing("601", "Ann", "Wolfeschlegelsteinhausen")]
    )
    spelled = keys(long_name.upper())
    assert len(spelled) > KEY_DIGITS
    assert [m.listing.number for m in index.search(spelled, Mode.LAST, 10).matches] == ["600"]
    assert [m.listing.number for m in index.search(spelled[:24], Mode.LAST, 10).matches] == [
        "601",  # the shorter name sorts first
        "600",
    ]
    assert index.search(spelled + "2", Mode.LAST, 10).total == 0


def test_index_memory_with_its_table_stays_under_five_hundred_bytes_an_entry() -> None:
    entries = [Listing(f"{1000 + n}", f"Prénom{n:04}", f"Nom-Composé{n:04}") for n in range(2000)]
    index = TenantIndex(entries)
    assert len(index) == 2000
    assert index.nbytes / len(index) < 500


def _every_prefix(entries: list[Listing]) -> set[str]:
    spelled: set[str] = set()
    for entry in entries:
        for name in (entry.first_name, entry.last_name):
            found = name_keys(name)
            for key in (found.whole, *found.parts):
                spelled.update(key[:length] for length in range(1, len(key) + 2))
    return spelled - {""}


TRICKY = [
    *(
        Listing(_number(row), person.first, person.last, uuid.UUID(int=row) if row % 3 else None)
        for row, person in enumerate(PEOPLE)
    ),
    *RANKING,
    *_many(),
    Listing("700", 'Jo "Jojo"', "O\\Brien"),
    Listing("701", "", "Accueil"),
    Listing("702", "Standard", ""),
]


@pytest.mark.parametrize("limit", [1, 9, 100])
def test_the_prefix_table_answers_every_prefix_as_the_binary_search_does(limit: int) -> None:
    table, scan = TenantIndex(TRICKY), TenantIndex(TRICKY, table_digits=0)
    prefixes = _every_prefix(TRICKY)
    assert len(prefixes) > 500
    for digits in sorted(prefixes):
        assert table.search(digits, Mode.EITHER, limit) == scan.search(digits, Mode.EITHER, limit)


def test_encoded_matches_are_the_json_of_the_search_contract() -> None:
    index = TenantIndex(TRICKY)
    for digits in sorted(_every_prefix(TRICKY)):
        for mode in Mode:
            page = index.search(digits, mode, 9)
            found = index.search_json(digits, mode, 9)
            result = SearchResult(
                matches=tuple(
                    SearchMatch(
                        **match.listing._asdict(),
                        display_name=match.listing.display_name,
                        whole_name=match.kind is Kind.WHOLE,
                    )
                    for match in page.matches
                ),
                total=page.total,
                next_cursor=None if page.next_after is None else encode_cursor(page.next_after),
            )
            assert (found.total, found.next_after) == (page.total, page.next_after)
            assert search_result_json(found) == result.model_dump_json().encode()


@pytest.mark.parametrize(
    "position",
    [
        (0, "LEGALL", "FRANCOISE", "104"),
        (1, 'O"SUILLEABHAIN\\', "ÉMILE ZOË 漢字", "007"),
        (1, "???>>>~~~", "", ""),
        (0, "", "", "1"),
    ],
)
def test_a_cursor_encoded_with_its_index_is_its_kinds_head_then_its_entrys_tail(
    position: tuple[int, str, str, str],
) -> None:
    kind, last, first, number = position
    encoded = CURSOR_HEADS[kind] + cursor_tail(last, first, number)
    assert encoded.decode() == encode_cursor(position)
    assert decode_cursor(encoded.decode()) == position

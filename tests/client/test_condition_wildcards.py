"""User and record text in ConnectWise conditions is never a wildcard: ``[``, ``%``, ``_`` and ``*`` are escaped the
SQL Server LIKE way (``[[]``, ``[%]``, ``[_]``, ``[*]``; API-NOTES §4.2), while patterns colcw writes itself (accent
classes such as ``[cç]``, ``%`` between words) are sent as written. Checked with the sandbox's own matcher too."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from colcw_plugin.cw import conditions as C
from colcw_plugin.cw.query import in_chunks
from colcw_plugin.setup.customer_matching import name_patterns, name_search_pattern
from cw_sandbox.query import compile_conditions


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text", "plain text"),
        ("50%_off", "50[%][_]off"),
        ("A_B [x]", "A[_]B [[]x]"),
        ("%_[*]", "[%][_][[][*]]"),
        ("[Cé]leste%_", "[[]Cé]leste[%][_]"),
        ("a-b^c]", "a-b^c]"),  # plain outside a class
        ("", ""),
    ],
)
def test_escape_like(text, escaped):
    assert C.escape_like(text) == escaped


def test_contains_escapes_the_text_it_is_given():
    assert str(C.contains("name", '%_[*]')) == 'name contains "[%][_][[][*]]"'
    assert str(~C.contains("name", "5%")) == 'name not contains "5[%]"'
    assert str(C.contains("name", 'say "50%"')) == r'name contains "say \"50[%]\""'
    with pytest.raises(TypeError):
        C.contains("name", 5)  # type: ignore[arg-type]


def test_equals_with_a_wildcard_character_is_an_exact_like():
    assert str(C.eq("identifier", "[Cé]leste%_")) == 'identifier like "[[]Cé]leste[%][_]"'
    assert str(C.eq("identifier", "CAB_6")) == 'identifier like "CAB[_]6"'
    assert str(C.eq("identifier", "ABC*")) == 'identifier like "ABC[*]"'
    assert str(C.ne("identifier", "A_B")) == 'identifier not like "A[_]B"'
    assert str(~C.eq("identifier", "A_B")) == 'identifier not like "A[_]B"'
    # Nothing special: the plain "=" as before.
    assert str(C.eq("identifier", "CAB-6")) == 'identifier = "CAB-6"'
    assert str(C.eq("company/id", 5)) == "company/id = 5"


def test_like_sends_the_pattern_as_written_and_like_literal_escapes():
    assert str(C.like("name", "%[cç]el%")) == 'name like "%[cç]el%"'
    assert str(C.like("name", "%" + C.escape_like("50%_off") + "%")) == 'name like "%50[%][_]off%"'
    assert str(C.like_literal("identifier", "A_B")) == 'identifier like "A[_]B"'


def test_in_lists_ask_for_a_starred_string_apart():
    assert str(C.in_("identifier", ["A_B", "C%"])) == 'identifier in ("A_B", "C%")'  # SQL IN: nothing special
    assert str(C.in_("identifier", ["AB", "X*Y"])) == 'identifier in ("AB") OR identifier like "X[*]Y"'
    assert str(C.in_("identifier", ["X*Y"])) == 'identifier like "X[*]Y"'
    assert str(C.not_in("identifier", ["AB", "X*Y"])) == 'identifier not in ("AB") AND identifier not like "X[*]Y"'
    assert str(~C.in_("identifier", ["AB", "X*Y"])) == 'identifier not in ("AB") AND identifier not like "X[*]Y"'


def test_in_chunks_leave_room_for_starred_values():
    values = [f"ITEM*{i:04d}" for i in range(200)]
    url = "https://cw.example/v4_6_release/apis/3.0/procurement/catalog"
    chunks = list(in_chunks(url, "identifier", values, max_url_length=2000))
    assert sum(chunks, []) == values
    for chunk in chunks:
        assert len(url) + len("?conditions=") + len(quote_plus(str(C.in_("identifier", chunk)))) <= 2000


_NAMES = [{"id": 1, "name": "50%_off"}, {"id": 2, "name": "500 off"}, {"id": 3, "name": "A_B [x]"},
          {"id": 4, "name": "AxB x"}, {"id": 5, "name": "Céleste Boutique"}, {"id": 6, "name": "Celeste Co"},
          {"id": 7, "name": "2*3 Widgets"}, {"id": 8, "name": "2x3 Widgets"}]


def _ids(condition: C.Condition) -> list[int]:
    pred = compile_conditions(str(condition))
    return [r["id"] for r in _NAMES if pred(r)]


@pytest.mark.parametrize(("text", "expected"), [("50%_off", [1]), ("A_B [x]", [3]), ("2*3", [7]), ("%", [1]),
                                                ("_", [1, 3]), ("[", [3])])
def test_escaped_text_matches_itself_only_in_the_sandbox(text, expected):
    assert _ids(C.contains("name", text)) == expected
    exact = [r["id"] for r in _NAMES if r["name"].lower() == text.lower()]
    assert _ids(C.eq("name", text)) == exact


def test_unescaped_text_would_over_match_in_the_sandbox():
    """The sandbox is as strict as the notes read ConnectWise: the same text pasted unescaped finds look-alikes."""
    pred = compile_conditions('name contains "50%_off"')
    assert [r["id"] for r in _NAMES if pred(r)] == [1, 2]
    pred = compile_conditions('name contains "A_B [x]"')
    assert [r["id"] for r in _NAMES if pred(r)] == [4]  # "[x]" a class, "_" any: "AxB x", not "A_B [x]" itself
    pred = compile_conditions('name = "2*3 Widgets"')
    assert [r["id"] for r in _NAMES if pred(r)] == [7, 8]


def test_colcw_own_patterns_keep_their_wildcards_and_accent_classes():
    assert all(p.startswith(("[cç]", "%[^a-z0-9][cç]")) for p in name_patterns("Céleste"))
    assert _ids(C.or_(*(C.like("name", p) for p in name_patterns("Celeste")))) == [5, 6]
    search = name_search_pattern("celeste")
    assert search is not None and "[eèéêë]" in search
    assert _ids(C.like("name", search)) == [5, 6]

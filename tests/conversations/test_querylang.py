"""The query language: parsing, error positions, evaluation in Python, and
agreement of Python, SQLite FTS5 and PostgreSQL on real messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.conversations.querylang import (
    And,
    Not,
    Or,
    QueryNotSearchable,
    QuerySyntaxError,
    Term,
    evaluate,
    matches,
    parse,
    positive_terms,
    to_fts5,
    to_text,
    tokenize,
)
from rapport.errors import RapportError


def words(query: str) -> object:
    """The tree with only the words kept, for readable expectations."""

    def strip(node: object) -> object:
        if isinstance(node, Term):
            return " ".join(node.tokens) + ("*" if node.prefix else "")
        if isinstance(node, Not):
            return ("NOT", strip(node.child))
        if isinstance(node, And):
            return ("AND", *[strip(c) for c in node.children])
        assert isinstance(node, Or)
        return ("OR", *[strip(c) for c in node.children])

    return strip(parse(query))


# ---------------------------------------------------------------- parsing


def test_the_issue_example_parses_with_not_binding_tighter_than_and() -> None:
    assert words('"refund" AND (flight OR trip) NOT spam') == (
        "AND",
        "refund",
        ("OR", "flight", "trip"),
        ("NOT", "spam"),
    )


def test_adjacent_terms_are_anded_and_and_binds_tighter_than_or() -> None:
    assert words("lost bag OR delayed flight") == (
        "OR",
        ("AND", "lost", "bag"),
        ("AND", "delayed", "flight"),
    )
    assert words("lost (bag OR luggage)") == ("AND", "lost", ("OR", "bag", "luggage"))


def test_leading_minus_is_not_and_a_hyphen_inside_a_word_is_a_phrase() -> None:
    assert words("refund -spam") == ("AND", "refund", ("NOT", "spam"))
    assert words("e-mail") == "e mail"
    assert words("don't") == "don t"


def test_operators_are_capitals_and_lower_case_words_are_words() -> None:
    assert words("not working") == ("AND", "not", "working")
    assert words("this or that") == ("AND", "this", "or", "that")


def test_case_and_accents_fold_and_handles_lose_their_at_sign() -> None:
    assert tokenize("Café NAÏVE @AmazonHelp") == ["cafe", "naive", "amazonhelp"]
    assert words('"Crème Brûlée"') == "creme brulee"


def test_prefix_and_double_negation() -> None:
    assert words("refund*") == "refund*"
    assert words("NOT NOT refund") == "refund"


def test_curly_quotes_are_quotes() -> None:
    assert words("\u201clost my bag\u201d") == "lost my bag"


@pytest.mark.parametrize(
    ("query", "what", "position"),
    [
        ('refund AND "lost bag', "unclosed quote", 12),
        ("refund AND (flight OR trip) AND", "expected a term after AND", 32),
        ("refund AND  ", "expected a term after AND", 13),
        ("refund OR OR trip", "expected a term after OR", 11),
        ("refund NOT", "expected a term after NOT", 11),
        ("(flight OR trip", "unclosed '('", 1),
        ("refund AND (flight OR trip))", "unmatched ')'", 28),
        ("()", "expected a term after '('", 2),
        ("AND refund", "expected a term before AND", 1),
        ("", "expected a term", 1),
        ("   ", "expected a term", 4),
        ("refund !!!", "'!!!' has no letters or digits to search for", 8),
        ('refund ""', "a phrase with no letters or digits", 8),
    ],
)
def test_a_malformed_query_names_the_problem_and_its_position(
    query: str, what: str, position: int
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.what == what
    assert caught.value.position == position
    assert str(caught.value) == f"invalid query: {what} at {position}"
    assert isinstance(caught.value, RapportError)
    assert caught.value.caret().splitlines()[1] == " " * (position - 1) + "^"


def test_absurd_queries_are_refused_not_crashed_on() -> None:
    with pytest.raises(QuerySyntaxError, match="longer than 2000"):
        parse("a " * 1001)
    with pytest.raises(QuerySyntaxError, match="more than 64 terms"):
        parse(" ".join(f"w{i}" for i in range(65)))
    with pytest.raises(QuerySyntaxError, match="nested deeper"):
        parse("(" * 40 + "a" + ")" * 40)


# ---------------------------------------------------------------- evaluation

FLIGHT = "@Delta I want a REFUND for my flight, the e-mail said it was cancelled!"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"refund" AND (flight OR trip) NOT spam', True),
        ('"refund" AND (flight OR trip) NOT cancelled', False),
        ("refund trip", False),
        ("refund OR trip", True),
        ('"for my flight"', True),
        ('"my for flight"', False),
        ("email", False),
        ("e-mail", True),
        ('"e mail"', True),
        ("cancel*", True),
        ("cancel", False),
        ("delta", True),
        ("-refund flight", False),
        ("NOT (trip OR spam) refund", True),
        ("REFUND", True),
    ],
)
def test_evaluation_follows_the_syntax(query: str, expected: bool) -> None:
    assert matches(parse(query), FLIGHT) is expected


def test_evaluation_names_the_terms_that_matched_as_evidence() -> None:
    result = evaluate(parse('"refund" AND (flight OR trip) NOT spam'), FLIGHT)
    assert result.matched
    assert result.terms == ('"refund"', "flight")
    assert evaluate(parse("refund trip"), FLIGHT).terms == ()


def test_the_author_handle_counts_but_a_phrase_never_spans_text_and_author() -> None:
    query = parse("amazonhelp refund")
    assert matches(query, "where is my refund", author="AmazonHelp")
    assert not matches(query, "where is my refund", author="115712")
    assert not matches(parse('"refund amazonhelp"'), "my refund", author="AmazonHelp")


def test_pure_exclusions_evaluate_but_are_not_searchable() -> None:
    assert matches(parse("NOT spam"), "hello")
    with pytest.raises(QueryNotSearchable) as caught:
        to_fts5(parse("NOT spam"))
    assert caught.value.position == 1
    with pytest.raises(QueryNotSearchable) as caught:
        to_fts5(parse("refund OR NOT spam"))
    assert caught.value.position == 11
    with pytest.raises(QueryNotSearchable):
        to_fts5(parse("-a -b"))
    assert to_fts5(parse("refund NOT (spam OR ad)")).endswith('NOT ((("spam") OR ("ad")))')


def test_positive_terms_skip_excluded_ones() -> None:
    assert [t.text for t in positive_terms(parse("a (b OR c) NOT d"))] == ["a", "b", "c"]


_WORD = st.sampled_from(["refund", "flight", "trip", "spam", "e-mail", "Café", "bag*"])


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        word = draw(_WORD)
        return f'"{word} {draw(_WORD)}"' if draw(st.booleans()) and "*" not in word else word
    op = draw(st.sampled_from([" AND ", " OR ", " ", " NOT "]))
    left, right = draw(queries(depth + 1)), draw(queries(depth + 1))
    text = f"{left}{op}{right}"
    return f"({text})" if draw(st.booleans()) else text


@settings(max_examples=200, deadline=None)
@given(queries())
def test_canonical_text_parses_back_to_the_same_meaning(query: str) -> None:
    tree = parse(query)
    again = parse(to_text(tree))
    assert to_text(again) == to_text(tree)
    for text in (FLIGHT, "spam refund trip", "bag bags cafe", "the e mail flight"):
        assert matches(again, text) == matches(tree, text)

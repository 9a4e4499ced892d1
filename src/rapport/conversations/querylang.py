"""The query language of search and listening queries.

One parser for every place a person writes a query: ``rapport search``, the
search box, saved listening queries. The syntax::

    refund                     a word (case and Latin accents do not matter)
    "lost my bag"              a phrase: these words, adjacent, in this order
    refund*                    a prefix: refund, refunds, refunded...
    refund AND flight          both (AND is implied between adjacent terms)
    flight OR trip             either
    NOT spam   -spam           without (``refund NOT spam`` = refund AND NOT spam)
    (flight OR trip) refund    parentheses group

Operators are written in capitals (``AND``, ``OR``, ``NOT``); a lower-case
``and``/``or``/``not`` is an ordinary word, so ``"not working"`` and
``not working`` both look for the word *not*. Precedence: NOT, then AND,
then OR. A malformed query raises `QuerySyntaxError` with the 1-based
character position of the problem.

Words are what full-text indexes call tokens: runs of letters, decimal
digits and combining marks. `tokenize` is the one definition, shared by the
Python evaluator (`evaluate`, `matches`) and by the database indexes of the
``search_0001`` revision: SQLite FTS5's ``unicode61`` tokenizer configured
by `FTS5_TOKENIZER` (categories, Latin diacritics removed, and the emoji
its 2012 Unicode tables take for letters listed as `SEPARATORS`), and
PostgreSQL's ``simple`` configuration over the text with the same letters
folded (`ACCENTED` → `UNACCENTED`, `DIACRITICS` removed) and everything
that is not a letter or digit turned into a space. So ``e-mail`` is the
phrase "e mail", ``don't`` is "don t", ``@AmazonHelp`` is the word
amazonhelp, ``thanks🤔`` is thanks, and a query finds the same messages in
Python, on SQLite and on PostgreSQL (tested with hypothesis on the real TWCS
demo). The exceptions are characters the three Unicode tables classify
differently: capitals added to Unicode after 2012 (FTS5 does not lower-case
them), the combining points of some scripts (Hebrew, Arabic) at which
PostgreSQL's locale splits words, private-use characters. Changing these
tables needs a new revision that rebuilds both indexes.

`to_fts5` and `to_tsquery` compile a query for the databases. Both refuse
(`QueryNotSearchable`) a query that only excludes (``NOT spam``) or offers an
exclusion as an alternative (``refund OR NOT spam``): an index cannot list
"every message but these". `evaluate` accepts every well-formed query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import regex
from sqlalchemy import ColumnElement, bindparam, func, literal_column

from rapport.conversations.errors import QueryError, QueryNotSearchable, QuerySyntaxError

__all__ = [
    "ACCENTED",
    "DIACRITICS",
    "FTS5_TOKENIZER",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "SEPARATORS",
    "UNACCENTED",
    "And",
    "Document",
    "Not",
    "Or",
    "Query",
    "QueryError",
    "QueryMatch",
    "QueryNotSearchable",
    "QuerySyntaxError",
    "Term",
    "check_searchable",
    "evaluate",
    "matches",
    "parse",
    "positive_terms",
    "prepare",
    "to_fts5",
    "to_text",
    "to_tsquery",
    "tokenize",
]

MAX_QUERY_LENGTH = 2000
MAX_TERMS = 64
MAX_DEPTH = 32

#: Letters FTS5's ``remove_diacritics 2`` folds to another letter (Latin
#: accents, the long s, Greek final sigma and symbol forms), read from FTS5
#: itself; Python and PostgreSQL apply the same table.
ACCENTED = (
    "µÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚě"
    "ĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻż"
    "ŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯ"
    "ȰȱȲȳςϐϑϕϖϰϱϵḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃ"
    "ṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓ"
    "ẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨ"
    "ứỪừỬửỮữỰựỲỳỴỵỶỷỸỹιÅ"
)
UNACCENTED = (
    "μaaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeee"
    "gggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzz"
    "zzsoouuaaiioouuuuuuuuuuaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeoooooo"
    "ooyyσβθφπκρεaabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmm"
    "nnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzz"
    "zzhtwysaaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuu"
    "uuuuuuuuuyyyyyyyyιa"
)
#: Combining diacritics that FTS5 removes inside a word (``e`` + U+0301 = ``e``).
DIACRITICS = (
    "\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u0309\u030a\u030b\u030c\u030f"
    "\u0311\u031b\u0323\u0324\u0325\u0326\u0327\u0328\u032d\u032e\u0330\u0331"
)
#: Characters that FTS5's Unicode 6.1 tables take for letters but are not
#: (emoji and symbols added since: 🤔 🙄 🤷, the Apple logo...): passed as
#: the tokenizer's ``separators`` so ``thanks🤔`` is the word thanks.
_SEPARATOR_RANGES = (
    (0x058D, 0x058E),
    (0x0605, 0x0605),
    (0x061C, 0x061D),
    (0x07FE, 0x07FF),
    (0x0888, 0x0888),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x09FD, 0x09FD),
    (0x0A76, 0x0A76),
    (0x0C77, 0x0C77),
    (0x0C84, 0x0C84),
    (0x0D4F, 0x0D4F),
    (0x0D58, 0x0D5E),
    (0x0D76, 0x0D78),
    (0x1B7D, 0x1B7E),
    (0x2066, 0x2069),
    (0x20BA, 0x20C0),
    (0x218A, 0x218B),
    (0x23F4, 0x23FF),
    (0x2700, 0x2700),
    (0x2B4D, 0x2B4F),
    (0x2B5A, 0x2B73),
    (0x2B76, 0x2B95),
    (0x2B97, 0x2BFF),
    (0x2E3C, 0x2E5D),
    (0x32FF, 0x32FF),
    (0xA8FC, 0xA8FC),
    (0xAB5B, 0xAB5B),
    (0xAB6A, 0xAB6B),
    (0xF8FF, 0xF8FF),
    (0xFBC2, 0xFBC2),
    (0xFD40, 0xFD4F),
    (0xFDCF, 0xFDCF),
    (0xFDFE, 0xFDFF),
    (0xFE00, 0xFE0F),  # variation selectors: I\ufe0ft (the iOS 11 bug) is two words
    (0x1F0BF, 0x1F0BF),
    (0x1F0E0, 0x1F0F5),
    (0x1F10B, 0x1F10F),
    (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F16F),
    (0x1F19B, 0x1F1AD),
    (0x1F23B, 0x1F23B),
    (0x1F260, 0x1F265),
    (0x1F321, 0x1F32F),
    (0x1F336, 0x1F336),
    (0x1F37D, 0x1F37F),
    (0x1F394, 0x1F39F),
    (0x1F3C5, 0x1F3C5),
    (0x1F3CB, 0x1F3DF),
    (0x1F3F1, 0x1F3FF),
    (0x1F43F, 0x1F43F),
    (0x1F441, 0x1F441),
    (0x1F4F8, 0x1F4F8),
    (0x1F4FD, 0x1F4FF),
    (0x1F53E, 0x1F53F),
    (0x1F544, 0x1F54F),
    (0x1F568, 0x1F5FA),
    (0x1F641, 0x1F644),
    (0x1F650, 0x1F67F),
    (0x1F6C6, 0x1F6D7),
    (0x1F6DD, 0x1F6EC),
    (0x1F6F0, 0x1F6FC),
    (0x1F780, 0x1F7D8),
    (0x1F7E0, 0x1F7EB),
    (0x1F7F0, 0x1F7F0),
    (0x1F800, 0x1F80B),
    (0x1F810, 0x1F847),
    (0x1F850, 0x1F859),
    (0x1F860, 0x1F887),
    (0x1F890, 0x1F8AD),
    (0x1F8B0, 0x1F8B1),
    (0x1F900, 0x1FA53),
    (0x1FA60, 0x1FA6D),
    (0x1FA70, 0x1FA74),
    (0x1FA78, 0x1FA7C),
    (0x1FA80, 0x1FA86),
    (0x1FA90, 0x1FAAC),
    (0x1FAB0, 0x1FABA),
    (0x1FAC0, 0x1FAC5),
    (0x1FAD0, 0x1FAD9),
    (0x1FAE0, 0x1FAE7),
    (0x1FAF0, 0x1FAF6),
)
SEPARATORS = "".join(chr(c) for a, b in _SEPARATOR_RANGES for c in range(a, b + 1))
#: The FTS5 tokenizer matching `tokenize` (letters, decimal and letter-like
#: digits, marks; Latin diacritics removed).
FTS5_TOKENIZER = f"unicode61 remove_diacritics 2 categories 'L* Nd Nl M*' separators '{SEPARATORS}'"

_TOKEN = regex.compile(r"(?V1)[[\p{L}\p{Nd}\p{Nl}\p{M}]--[\uFE00-\uFE0F]]+")
_FOLD = {
    **{ord(a): b for a, b in zip(ACCENTED, UNACCENTED, strict=True)},
    **{ord(d): None for d in DIACRITICS},
}
_QUOTES = frozenset('"\u201c\u201d')
_OPERATORS = frozenset({"AND", "OR", "NOT"})


def tokenize(text: str) -> list[str]:
    """The words of ``text`` as the indexes see them: runs of letters and
    digits, lower-cased, Latin accents folded."""
    return [t for t in (m.lower().translate(_FOLD) for m in _TOKEN.findall(text)) if t]


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Term:
    """A word, a phrase or a prefix; ``tokens`` are the words it stands for
    (a word like ``e-mail`` is the two-word phrase "e mail")."""

    text: str
    tokens: tuple[str, ...]
    position: int
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class And:
    children: tuple[Query, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Query, ...]


@dataclass(frozen=True)
class Not:
    child: Query
    position: int


Query = Term | And | Or | Not


@dataclass(frozen=True)
class QueryMatch:
    """Whether a text matches, and the query's terms it contains (evidence)."""

    matched: bool
    terms: tuple[str, ...]


# ---------------------------------------------------------------- lexing


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE AND OR NOT LPAREN RPAREN END
    text: str
    position: int  # 1-based


def _lex(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(_Token("LPAREN", ch, i + 1))
            i += 1
        elif ch == ")":
            tokens.append(_Token("RPAREN", ch, i + 1))
            i += 1
        elif ch in _QUOTES:
            end = next((j for j in range(i + 1, n) if source[j] in _QUOTES), -1)
            if end < 0:
                raise QuerySyntaxError("unclosed quote", i + 1, source)
            tokens.append(_Token("PHRASE", source[i + 1 : end], i + 1))
            i = end + 1
        elif ch == "-" and i + 1 < n and not source[i + 1].isspace() and source[i + 1] != ")":
            tokens.append(_Token("NOT", ch, i + 1))
            i += 1
        else:
            j = i
            while j < n and not (source[j].isspace() or source[j] in "()" or source[j] in _QUOTES):
                j += 1
            word = source[i:j]
            tokens.append(_Token(word if word in _OPERATORS else "WORD", word, i + 1))
            i = j
    tokens.append(_Token("END", "", n + 1))
    return tokens


# ---------------------------------------------------------------- parsing

_TERM_START = frozenset({"WORD", "PHRASE", "NOT", "LPAREN"})


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _lex(source)
        self.at = 0
        self.terms = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, what: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(what, position, self.source)

    def expect_term_after(self, operator: _Token) -> None:
        nxt = self.peek()
        if nxt.kind not in _TERM_START:
            name = "'('" if operator.kind == "LPAREN" else operator.text
            if operator.kind == "NOT" and operator.text == "-":
                name = "'-'"
            raise self.fail(f"expected a term after {name}", nxt.position)

    def query(self) -> Query:
        if self.peek().kind == "END":
            raise self.fail("expected a term", self.peek().position)
        result = self.disjunction()
        token = self.peek()
        if token.kind == "RPAREN":
            raise self.fail("unmatched ')'", token.position)
        if token.kind != "END":  # pragma: no cover - every other token starts a term
            raise self.fail(f"unexpected {token.text!r}", token.position)
        return result

    def disjunction(self) -> Query:
        children = [self.conjunction()]
        while self.peek().kind == "OR":
            operator = self.take()
            self.expect_term_after(operator)
            children.append(self.conjunction())
        return _flatten(Or, children)

    def conjunction(self) -> Query:
        children = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                operator = self.take()
                self.expect_term_after(operator)
            elif kind not in _TERM_START:
                break
            children.append(self.unary())
        return _flatten(And, children)

    def unary(self) -> Query:
        token = self.peek()
        if token.kind == "NOT":
            self.take()
            self.expect_term_after(token)
            child = self.unary()
            return child.child if isinstance(child, Not) else Not(child, token.position)
        return self.primary()

    def primary(self) -> Query:
        token = self.take()
        if token.kind == "WORD":
            return self.term(token, phrase=False)
        if token.kind == "PHRASE":
            return self.term(token, phrase=True)
        if token.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"parentheses nested deeper than {MAX_DEPTH}", token.position)
            self.expect_term_after(token)
            inner = self.disjunction()
            if self.peek().kind != "RPAREN":
                raise self.fail("unclosed '('", token.position)
            self.take()
            self.depth -= 1
            return inner
        if token.kind == "RPAREN":
            raise self.fail("unmatched ')'", token.position)
        if token.kind in ("AND", "OR"):
            raise self.fail(f"expected a term before {token.text}", token.position)
        raise self.fail("expected a term", token.position)

    def term(self, token: _Token, *, phrase: bool) -> Term:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"more than {MAX_TERMS} terms", token.position)
        body = token.text
        prefix = not phrase and body.endswith("*")
        words = tokenize(body.rstrip("*") if prefix else body)
        if not words:
            if phrase:
                raise self.fail("a phrase with no letters or digits", token.position)
            raise self.fail(f"{body!r} has no letters or digits to search for", token.position)
        written = f'"{body}"' if phrase else body
        return Term(written, tuple(words), token.position, phrase=phrase, prefix=prefix)


def _flatten(kind: type[And] | type[Or], children: list[Query]) -> Query:
    if len(children) == 1:
        return children[0]
    flat: list[Query] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat))


def parse(text: str) -> Query:
    """Parse a query; raises `QuerySyntaxError` (with ``.position``) when malformed."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"a query longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH + 1, text
        )
    return _Parser(text).query()


def to_text(query: Query) -> str:
    """The query written back in canonical form (parses to the same tree)."""
    if isinstance(query, Term):
        return query.text
    if isinstance(query, Not):
        inner = to_text(query.child)
        return f"NOT ({inner})" if isinstance(query.child, And | Or) else f"NOT {inner}"
    joiner = " AND " if isinstance(query, And) else " OR "
    parts = [f"({to_text(c)})" if isinstance(c, And | Or) else to_text(c) for c in query.children]
    return joiner.join(parts)


def positive_terms(query: Query) -> list[Term]:
    """The terms a match can contain (every term not under a NOT), in order."""
    if isinstance(query, Term):
        return [query]
    if isinstance(query, Not):
        return []
    return [t for child in query.children for t in positive_terms(child)]


# ---------------------------------------------------------------- evaluation


class Document:
    """A text's words (and its author's), indexed for term look-ups: prepare
    a message once with `prepare` to test many queries against it."""

    def __init__(self, fields: list[list[str]]) -> None:
        self.fields = fields
        self.index: list[dict[str, list[int]]] = []
        for words in fields:
            where: dict[str, list[int]] = {}
            for i, word in enumerate(words):
                where.setdefault(word, []).append(i)
            self.index.append(where)

    def contains(self, term: Term) -> bool:
        return any(self._in_field(term, k) for k in range(len(self.fields)))

    def occurrences(self, term: Term, k: int) -> int:
        """How many times ``term`` occurs in field ``k`` (0: the text, 1: the
        author), as a full-text index counts a phrase's instances."""
        words, where = self.fields[k], self.index[k]
        if not term.tokens:
            return 0
        first, last, size = term.tokens[0], term.tokens[-1], len(term.tokens)
        if term.prefix and size == 1:
            return sum(len(at) for word, at in where.items() if word.startswith(first))
        head = list(term.tokens[:-1])
        found = 0
        for start in where.get(first, []):
            window = words[start : start + size]
            if len(window) < size or window[:-1] != head:
                continue
            if window[-1].startswith(last) if term.prefix else window[-1] == last:
                found += 1
        return found

    def _in_field(self, term: Term, k: int) -> bool:
        words, where = self.fields[k], self.index[k]
        first, last, size = term.tokens[0], term.tokens[-1], len(term.tokens)
        if term.prefix and size == 1:
            return any(word.startswith(first) for word in where)
        head = list(term.tokens[:-1])
        for start in where.get(first, []):
            window = words[start : start + size]
            if len(window) < size or window[:-1] != head:
                continue
            if window[-1].startswith(last) if term.prefix else window[-1] == last:
                return True
        return False


def _holds(query: Query, doc: Document) -> bool:
    if isinstance(query, Term):
        return doc.contains(query)
    if isinstance(query, Not):
        return not _holds(query.child, doc)
    if isinstance(query, And):
        return all(_holds(c, doc) for c in query.children)
    return any(_holds(c, doc) for c in query.children)


def prepare(text: str, author: str | None = None) -> Document:
    """``text`` (written by ``author``, whose handle counts as words of its
    own, never part of a phrase with the text) ready for matching."""
    return Document([tokenize(text), tokenize(author or "")])


def evaluate(query: Query, text: str | Document, author: str | None = None) -> QueryMatch:
    """Does ``text`` match? With the matched terms as written, as evidence."""
    doc = text if isinstance(text, Document) else prepare(text, author)
    if not _holds(query, doc):
        return QueryMatch(False, ())
    seen: dict[str, None] = {}
    for term in positive_terms(query):
        if doc.contains(term):
            seen.setdefault(term.text, None)
    return QueryMatch(True, tuple(seen))


def matches(query: Query, text: str | Document, author: str | None = None) -> bool:
    return _holds(query, text if isinstance(text, Document) else prepare(text, author))


# ---------------------------------------------------------------- SQL


def _not_searchable(query: Query, what: str, source: str) -> QueryNotSearchable:
    position = query.position if isinstance(query, Term | Not) else 1
    return QueryNotSearchable(what, position, source)


def check_searchable(query: Query, source: str | None = None) -> None:
    """Refuse a query an index cannot answer: one that only excludes, or that
    offers an exclusion as an alternative of OR."""
    text = source if source is not None else to_text(query)
    if isinstance(query, Not):
        raise _not_searchable(
            query, "a query needs a term to look for, not only NOT (e.g. refund NOT spam)", text
        )
    if isinstance(query, Or):
        for child in query.children:
            if isinstance(child, Not):
                raise _not_searchable(
                    child, "OR cannot offer a NOT as an alternative (write: a NOT b)", text
                )
            check_searchable(child, text)
    elif isinstance(query, And):
        if all(isinstance(c, Not) for c in query.children):
            first = query.children[0]
            raise _not_searchable(
                first, "a query needs a term to look for, not only NOT (e.g. refund NOT spam)", text
            )
        for child in query.children:
            check_searchable(child.child if isinstance(child, Not) else child, text)


def _split(query: And) -> tuple[list[Query], list[Query]]:
    positive: list[Query] = [c for c in query.children if not isinstance(c, Not)]
    negative = [c.child for c in query.children if isinstance(c, Not)]
    return positive, negative


def _fts5(query: Query) -> str:
    if isinstance(query, Term):
        # Tokens hold letters and digits only, so quoting cannot be escaped.
        phrase = '"' + " ".join(query.tokens) + '"'
        return phrase + " *" if query.prefix else phrase
    if isinstance(query, Or):
        return " OR ".join(f"({_fts5(c)})" for c in query.children)
    if isinstance(query, And):
        positive, negative = _split(query)
        expr = " AND ".join(f"({_fts5(c)})" for c in positive)
        if negative:
            excluded = " OR ".join(f"({_fts5(c)})" for c in negative)
            expr = f"({expr}) NOT ({excluded})"
        return expr
    raise AssertionError("check_searchable lets no bare NOT through")  # pragma: no cover


def to_fts5(query: Query) -> str:
    """The query as an SQLite FTS5 MATCH expression (bind it as a parameter)."""
    check_searchable(query)
    return _fts5(query)


_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


def _tsquery(query: Query, params: list[Any]) -> ColumnElement[Any]:
    if isinstance(query, Term):
        name = f"fts_term_{len(params)}"
        params.append(name)
        if query.prefix:
            # A quoted lexeme per token (letters and digits only) and the
            # prefix mark, as one bound value: nothing of the query is SQL.
            lexemes = [f"'{t}'" for t in query.tokens]
            lexemes[-1] += ":*"
            return func.to_tsquery(_SIMPLE, bindparam(name, " <-> ".join(lexemes)))
        return func.phraseto_tsquery(_SIMPLE, bindparam(name, " ".join(query.tokens)))
    if isinstance(query, Or):
        parts = [_tsquery(c, params) for c in query.children]
        expr = parts[0]
        for part in parts[1:]:
            expr = func.tsquery_or(expr, part)
        return expr
    if isinstance(query, And):
        positive, negative = _split(query)
        result = _tsquery(positive[0], params)
        for node in positive[1:]:
            result = func.tsquery_and(result, _tsquery(node, params))
        for node in negative:
            result = func.tsquery_and(result, func.tsquery_not(_tsquery(node, params)))
        return result
    raise AssertionError("check_searchable lets no bare NOT through")  # pragma: no cover


def to_tsquery(query: Query) -> ColumnElement[Any]:
    """The query as a PostgreSQL ``tsquery`` expression built from
    ``phraseto_tsquery('simple', :term)`` per term with bound values, combined
    with ``tsquery_and`` / ``tsquery_or`` / ``tsquery_not``."""
    check_searchable(query)
    return _tsquery(query, [])

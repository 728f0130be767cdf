"""The segment rule language: parse a small, readable rule and compile it to ORM filters.

    country in (KZ, KG) and language = ru and tag = ngo and not attributes.role = "intern"

Grammar (keywords are case-insensitive)::

    rule       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | condition
    condition  := FIELD op value | FIELD ["not"] "in" "(" value ("," value)* ")"
                | FIELD "contains" value | FIELD "exists"
    op         := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := WORD | NUMBER | "double-quoted" | 'single-quoted'

The parser never builds SQL text: every condition becomes a ``Q`` object with
values passed as query parameters. A mistake raises :class:`SegmentError` with the
0-based character ``position`` of the offending token, so an editor can point at it.
``not`` is compiled as "not among the people who match", which keeps people who
lack an attribute (SQL's NULL) on the side a reader expects.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycountry
from django.db.models import JSONField, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from mailer.engagement.segments import ENGAGEMENT_FIELDS, engagement_condition
from mailer.errors import MailerError
from subscribers.models import Subscriber, Subscription

MAX_RULE_LENGTH = 4000
MAX_DEPTH = 32
MAX_VALUES = 1000


class SegmentError(MailerError, ValueError):
    """A rule that cannot be compiled. ``position`` is the 0-based offset of the mistake."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at column {position + 1})")
        self.message = message
        self.position = position

    def pointer(self, rule: str) -> str:
        """The rule's line with a caret under the mistake, for a terminal or a <pre>."""
        return f"{rule}\n{' ' * self.position}^"


# --- Tokens -----------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "string" | "op" | "(" | ")" | "," | "end"
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"""(?P<space>\s+)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>-?[\w][\w.\-@+]*)
    """,
    re.VERBOSE | re.UNICODE,
)
KEYWORDS = {"and", "or", "not", "in", "contains", "exists"}


def tokenize(rule: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(rule):
        match = _TOKEN_RE.match(rule, pos)
        if match is None:
            raise SegmentError(f"unexpected character {rule[pos]!r}", pos)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "string":
            if text[-1] != text[0] or len(text) < 2:
                raise SegmentError("unterminated quoted value", pos)
            tokens.append(Token("string", re.sub(r"\\(.)", r"\1", text[1:-1]), pos))
        elif kind == "punct":
            tokens.append(Token(text, text, pos))
        elif kind != "space":
            tokens.append(Token(kind, text, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(rule)))
    return tokens


# --- Syntax tree --------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    field: str
    field_pos: int
    op: str  # "=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "exists"
    values: tuple[Token, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Condition | BoolOp | Not


class _Parser:
    def __init__(self, rule: str) -> None:
        self.tokens = tokenize(rule)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, what: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            raise SegmentError(f"expected {what}, found {_describe(tok)}", tok.pos)
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise SegmentError("the rule is empty; write e.g. country = KZ", 0)
        node = self.or_expr(0)
        tok = self.peek()
        if tok.kind != "end":
            raise SegmentError(
                f"expected 'and', 'or' or the end of the rule, found {_describe(tok)}", tok.pos)
        return node

    def or_expr(self, depth: int) -> Node:
        parts = [self.and_expr(depth)]
        while self.keyword("or"):
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self, depth: int) -> Node:
        parts = [self.not_expr(depth)]
        while self.keyword("and"):
            parts.append(self.not_expr(depth))
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self, depth: int) -> Node:
        tok = self.peek()
        if depth > MAX_DEPTH:
            raise SegmentError(f"the rule nests deeper than {MAX_DEPTH} levels", tok.pos)
        if self.keyword("not"):
            return Not(self.not_expr(depth + 1))
        if tok.kind == "(":
            self.i += 1
            node = self.or_expr(depth + 1)
            self.expect(")", "')'")
            return node
        return self.condition()

    def condition(self) -> Condition:
        tok = self.peek()
        if tok.kind != "word" or tok.text.lower() in KEYWORDS or not _FIELD_RE.match(tok.text):
            raise SegmentError(f"expected a field name such as country, found {_describe(tok)}",
                               tok.pos)
        self.i += 1
        field = tok.text.lower() if not tok.text.lower().startswith("attributes.") else (
            "attributes." + tok.text.split(".", 1)[1])
        op_tok = self.peek()
        if op_tok.kind == "op":
            self.i += 1
            return Condition(field, tok.pos, op_tok.text, (self.value(),))
        if self.keyword("exists"):
            return Condition(field, tok.pos, "exists", ())
        if self.keyword("contains"):
            return Condition(field, tok.pos, "contains", (self.value(),))
        negated = self.keyword("not")
        if self.keyword("in"):
            return Condition(field, tok.pos, "not in" if negated else "in", self.value_list())
        raise SegmentError(
            f"expected an operator (=, !=, <, >, in, not in, contains, exists) after {tok.text}, "
            f"found {_describe(self.peek())}", self.peek().pos)

    def value(self) -> Token:
        tok = self.peek()
        if tok.kind == "string" or (tok.kind == "word" and tok.text.lower() not in KEYWORDS):
            self.i += 1
            return tok
        raise SegmentError(f"expected a value, found {_describe(tok)}", tok.pos)

    def value_list(self) -> tuple[Token, ...]:
        self.expect("(", "'(' starting a list of values")
        values = [self.value()]
        while self.peek().kind == ",":
            self.i += 1
            values.append(self.value())
            if len(values) > MAX_VALUES:
                raise SegmentError(f"more than {MAX_VALUES} values in one list", values[-1].pos)
        self.expect(")", "',' or ')'")
        return tuple(values)


_FIELD_RE = re.compile(r"^(?:[A-Za-z_]+|attributes(?:\.[A-Za-z_][A-Za-z0-9_]*)+)$", re.IGNORECASE)


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the rule"
    if tok.kind == "string":
        return f'"{tok.text}"'
    return f"'{tok.text}'"


def segment_parse(rule: str) -> Node:
    """Parse a rule into a syntax tree; raises SegmentError."""
    if len(rule) > MAX_RULE_LENGTH:
        raise SegmentError(f"the rule is longer than {MAX_RULE_LENGTH} characters", MAX_RULE_LENGTH)
    return _Parser(rule).parse()


# --- Fields ---------------------------------------------------------------------

EQUALITY = ("=", "!=", "in", "not in")
ORDERING = ("<", "<=", ">", ">=")
_LOOKUP = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def _country(tok: Token) -> str:
    code = tok.text.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise SegmentError(f"{tok.text!r} is not an ISO 3166 country code (e.g. KZ, KG, TJ)",
                           tok.pos)
    return code


def _language(tok: Token) -> str:
    code = tok.text.strip().lower()
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", code):
        raise SegmentError(f"{tok.text!r} is not a language code (e.g. en, ru, kk)", tok.pos)
    return code


def _text(tok: Token) -> str:
    return tok.text


def _date(tok: Token) -> dt.date:
    try:
        return dt.date.fromisoformat(tok.text)
    except ValueError:
        raise SegmentError(f"{tok.text!r} is not a date; write YYYY-MM-DD", tok.pos) from None


@dataclass(frozen=True)
class FieldSpec:
    lookup: str  # ORM path on Subscriber
    ops: tuple[str, ...]
    convert: Callable[[Token], Any]
    case_insensitive: bool = False
    help: str = ""


def _tag_ids(names: list[str]) -> QuerySet[Any]:
    """Subscriber ids having any of the tags, by name in any letter case."""
    match = Q()
    for name in names:
        match |= Q(tag__name__iexact=name)
    return Subscriber.tags.through.objects.filter(match).values("subscriber_id")


def _list_ids(slugs: list[str]) -> QuerySet[Any]:
    return Subscription.objects.filter(
        mailing_list__slug__in=slugs, status=Subscription.Status.CONFIRMED,
    ).values("subscriber_id")


FIELDS: dict[str, FieldSpec] = {
    "email": FieldSpec("email", (*EQUALITY, "contains"), _text, True, "the address"),
    "domain": FieldSpec("email", EQUALITY, _text, True, "the part after @, e.g. un.org"),
    "name": FieldSpec("name", (*EQUALITY, "contains"), _text, True, "the person's name"),
    "organisation": FieldSpec("organisation", (*EQUALITY, "contains"), _text, True,
                              "organisation"),
    "country": FieldSpec("country", EQUALITY, _country, help="ISO 3166 code: KZ, KG, TJ, TM, UZ"),
    "language": FieldSpec("language", EQUALITY, _language, help="en, ru, kk, ky, tg, uz"),
    "tag": FieldSpec("tags", EQUALITY, _text, help="has the tag"),
    "list": FieldSpec("subscriptions", EQUALITY, _text, help="confirmed on the list (slug)"),
    "status": FieldSpec("status", EQUALITY, _text, help="active or blocklisted"),
    "created": FieldSpec("created_at__date", ("=", "!=", *ORDERING), _date,
                         help="date added, YYYY-MM-DD"),
}
FIELDS["organization"] = FIELDS["organisation"]
_RESERVED_KEYS = set(JSONField.get_lookups()) | set(KeyTransform.get_lookups())


# --- Compiler ----------------------------------------------------------------------

def _negate(q: Q) -> Q:
    """NOT as set difference, so rows where the condition is NULL count as "not matching"."""
    return ~Q(pk__in=Subscriber.objects.filter(q).values("pk"))


def _compile_node(node: Node) -> Q:
    if isinstance(node, BoolOp):
        parts = [_compile_node(p) for p in node.parts]
        result = parts[0]
        for part in parts[1:]:
            result = (result & part) if node.op == "and" else (result | part)
        return result
    if isinstance(node, Not):
        return _negate(_compile_node(node.part))
    return _compile_condition(node)


def _compile_condition(cond: Condition) -> Q:
    if cond.field.startswith("attributes."):
        return _compile_attribute(cond)
    if cond.field in ENGAGEMENT_FIELDS:
        return _compile_engagement(cond)
    spec = FIELDS.get(cond.field)
    if spec is None:
        known = [*FIELDS, *ENGAGEMENT_FIELDS]
        close = difflib.get_close_matches(cond.field, [*known, "attributes.NAME"], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise SegmentError(f"unknown field {cond.field!r}{hint} Known fields: "
                           f"{', '.join(sorted(known))}, attributes.NAME", cond.field_pos)
    if cond.op not in spec.ops:
        raise SegmentError(f"{cond.field} does not support {cond.op!r}; use "
                           f"{', '.join(spec.ops)}", cond.field_pos)
    values = [spec.convert(tok) for tok in cond.values]
    if cond.op in ("!=", "not in"):
        positive = Condition(cond.field, cond.field_pos, "=" if cond.op == "!=" else "in",
                             cond.values)
        return _negate(_compile_condition(positive))
    if cond.field == "tag":
        return Q(pk__in=_tag_ids(values))
    if cond.field == "list":
        return Q(pk__in=_list_ids(values))
    if cond.field == "domain":
        q = Q()
        for value in values:
            q |= Q(email__iendswith="@" + value.lstrip("@"))
        return q
    if cond.op == "contains":
        return Q(**{f"{spec.lookup}__icontains": values[0]})
    if cond.op == "in":
        if spec.case_insensitive:
            q = Q()
            for value in values:
                q |= Q(**{f"{spec.lookup}__iexact": value})
            return q
        return Q(**{f"{spec.lookup}__in": values})
    lookup = "iexact" if spec.case_insensitive and cond.op == "=" else _LOOKUP[cond.op]
    return Q(**{f"{spec.lookup}__{lookup}": values[0]})


def _compile_engagement(cond: Condition) -> Q:
    """``opened_within_days = 30`` and friends (mailer.engagement.segments)."""
    if cond.op != "=" or len(cond.values) != 1:
        raise SegmentError(f"write {cond.field} = N (a whole number)", cond.field_pos)
    tok = cond.values[0]
    if not tok.text.isdigit() or not 1 <= int(tok.text) <= 3650:
        raise SegmentError(f"{tok.text!r} is not a whole number from 1 to 3650", tok.pos)
    return engagement_condition(cond.field, int(tok.text))


def _attribute_values(tok: Token) -> list[Any]:
    """A bare number or true/false matches the JSON number/boolean and the same text."""
    if tok.kind == "string":
        return [tok.text]
    text = tok.text
    if text.lower() in ("true", "false"):
        return [text.lower() == "true", text]
    try:
        return [int(text), text]
    except ValueError:
        pass
    try:
        return [float(text), text]
    except ValueError:
        return [text]


def _compile_attribute(cond: Condition) -> Q:
    keys = cond.field.split(".")[1:]
    for key in keys:
        if key.lower() in _RESERVED_KEYS:
            raise SegmentError(f"attribute name {key!r} is reserved; rename the attribute",
                               cond.field_pos)
    path = "attributes__" + "__".join(keys)
    if cond.op == "exists":
        # has_key on the parent object: a key whose value is JSON null still "exists".
        parent = "attributes__" + "__".join(keys[:-1]) if len(keys) > 1 else "attributes"
        return Q(**{f"{parent}__has_key": keys[-1]})
    if cond.op in ("!=", "not in"):
        positive = Condition(cond.field, cond.field_pos, "=" if cond.op == "!=" else "in",
                             cond.values)
        return _negate(_compile_attribute(positive))
    if cond.op == "contains":
        return Q(**{f"{path}__icontains": cond.values[0].text})
    if cond.op in ("=", "in"):
        q = Q()
        for tok in cond.values:
            for value in _attribute_values(tok):
                q |= Q(**{path: value})
        return q
    value = _attribute_values(cond.values[0])[0]
    if isinstance(value, str | bool):
        raise SegmentError(f"{cond.op} needs a number, found {cond.values[0].text!r}",
                           cond.values[0].pos)
    return Q(**{f"{path}__{_LOOKUP[cond.op]}": value})


def segment_compile(rule: str) -> Q:
    """Compile a rule to a ``Q`` on ``Subscriber``; raises SegmentError, never touches data."""
    return _compile_node(segment_parse(rule))


def segment_filter(rule: str, *, prefix: str = "") -> Q:
    """The ``Q`` selecting subscribers who match ``rule``.

    With ``prefix`` (e.g. ``"subscriber__"``) the Q applies to a model that points at
    Subscriber, such as Subscription: ``Subscription.objects.filter(segment_filter(r,
    prefix="subscriber__"))``. Raises :class:`SegmentError` with ``.position``.
    """
    q = segment_compile(rule)
    if not prefix:
        return q
    return Q(**{f"{prefix}pk__in": Subscriber.objects.filter(q).values("pk")})


def segment_preview(rule: str, *, sample_size: int = 10) -> tuple[int, list[Subscriber]]:
    """(how many subscribers match, the first few by id) — for the editor's live count."""
    qs = Subscriber.objects.filter(segment_filter(rule))
    return qs.count(), list(qs.order_by("pk")[:sample_size])

"""Reading YAML fast, with YAML 1.2 meanings, and finding any node's position later.

Loading is the hot path (every `kb check` reads every card), so it uses PyYAML's C
composer, which gives nodes with marks at C speed, and builds plain Python values from
those nodes here. Building the values ourselves is what lets kb:

- apply YAML 1.2 core-schema meanings (`yes`, `no`, `on`, `off`, `1:30`, `2026-10-02`
  stay strings; pydantic turns strings into dates where the model wants dates);
- refuse duplicate keys, object-building tags and alias bombs instead of expanding them;
- accept `[deploy:rollback]` (an unquoted colon in a flow list), which the format uses.

Positions are not kept: a rule reports a YAML path, and `locate` re-composes only the files
that have something to report.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import accumulate
from sys import intern
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kb.core.diagnostics import SUPPRESSION, Loc, Span

_TAG = "tag:yaml.org,2002:"
PLAIN = "kb:plain"  # an untagged plain scalar: kb resolves it with YAML 1.2 core rules
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"


class _Resolver:
    """PyYAML resolves every untagged scalar with YAML 1.1 regexes in Python (the larger part
    of parse time). kb resolves plain scalars itself, so this resolver only says which
    untagged scalars are plain; explicit tags (`!!str 7`) come through as written."""

    def resolve(self, kind: type[Node], value: object, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:  # called by the C composer for every node: constants only
            return PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP

    def descend_resolver(
        self, current_node: Node | None, current_index: object
    ) -> None:  # path resolvers: kb uses none
        pass

    def ascend_resolver(self) -> None:
        pass


try:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]  # libyaml's parser: not in its __all__

    class _Loader(_Parser, _Resolver):
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, Composer, _Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


MAX_NODES = 100_000  # values built from one file, aliases counted each time they expand
MAX_DEPTH = 64  # nesting of collections; no kb file needs more than about eight
MAX_BYTES = 1_000_000  # default size limit of one file, settable

_CAST_TAGS = {_TAG + t for t in ("int", "float", "bool", "null")}

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NINF = {"-.inf", "-.Inf", "-.INF"}
_NAN = {".nan", ".NaN", ".NAN"}


_TEXT_START = frozenset("abcdeghijklmopqrsuvwxyzABCDEGHIJKLMOPQRSUVWXYZ/_$\"'`<([{@%^&*=?|,;")


def resolve_plain(text: str) -> Any:
    """The value of a plain scalar under the YAML 1.2 core schema. A string is interned: keys,
    owners, permissions and rotations repeat across 10,000 cards, and every model keeps its
    values (one copy each instead of one per file: a sixth of a check's memory)."""
    if text[:1] in _TEXT_START:  # most values are words: no null, bool or number starts like this
        return intern(text)
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = text[0]
    if (first.isdigit() or first in "+-.") and len(text) <= 64:
        # a longer "number" is kept as text: no field of kb's takes one, and Python refuses to
        # convert (or print) an integer of over 4,300 digits (outside review: an internal error)
        if _INT.match(text):
            return int(text)
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
        if _FLOAT.match(text):
            return float(text)
        if text in _INF:
            return float("inf")
        if text in _NINF:
            return float("-inf")
        if text in _NAN:
            return float("nan")
    return intern(text)


class YamlProblem(Exception):
    """A file that cannot be read as kb data; carries where and what."""

    def __init__(self, message: str, span: Span):
        super().__init__(message)
        self.message = message
        self.span = span


def _mark_span(start: yaml.Mark, end: yaml.Mark | None = None) -> Span:
    end = end or start
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def node_span(node: Node) -> Span:
    return _mark_span(node.start_mark, node.end_mark)


def _offset_span(text: str, offset: int) -> Span:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(line, column, line, column + 1)


def decode(data: bytes, max_bytes: int = MAX_BYTES) -> str:
    """Bytes to text: UTF-8 only, a BOM accepted, CRLF accepted, NUL refused."""
    if len(data) > max_bytes:
        raise YamlProblem(
            f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit (settable as max_file_bytes)",
            Span(1, 1, 1, 1),
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start].decode("utf-8", errors="replace")
        span = _offset_span(head + "?", len(head))
        raise YamlProblem(
            f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded; save the file as UTF-8", span
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        raise YamlProblem("binary content: a NUL byte; kb files are UTF-8 text", _offset_span(text, nul))
    return text


def compose(text: str) -> Node | None:
    """The node tree of a single YAML document, or None for an empty one."""
    try:
        return yaml.compose(text, Loader=_Loader)  # type: ignore[arg-type]  # a parser with kb's resolver
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _mark_span(mark) if mark is not None else Span(1, 1, 1, 1)
        message = _describe_yaml_error(exc)
        if mark is not None and _line_has_tab_at(text, mark.line, mark.column):
            message = "tab character: YAML indents with spaces, never tabs"
        raise YamlProblem(message, span) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML error: {exc}", Span(1, 1, 1, 1)) from None
    except RecursionError:
        raise YamlProblem(f"collections nested too deeply (the limit is {MAX_DEPTH})", Span(1, 1, 1, 1)) from None


def _line_has_tab_at(text: str, line: int, column: int) -> bool:
    lines = text.split("\n", line + 1)
    return line < len(lines) and "\t" in lines[line][: column + 1]


def _describe_yaml_error(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "syntax error"
    if "expected a single document" in (exc.context or "") or "but found another document" in problem:
        return "more than one YAML document (a second '---'); a kb file holds one"
    parts = [p for p in (exc.context, problem) if p]
    message = "YAML syntax error: " + ", ".join(parts)
    if exc.context_mark is not None and exc.problem_mark is not None and exc.context_mark.line != exc.problem_mark.line:
        message += f" (it started on line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
    return message


_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _deepest(text: str) -> int:
    """The deepest count of `[` and `{` not yet closed by `]` or `}` at any point of `text`,
    counted as _check_depth counts (quotes and comments included), at C speed."""
    steps = _NOT_BRACKET.sub("", text).encode("ascii")
    return max(accumulate(map(_DEPTH_STEP.__getitem__, steps), initial=0))


def _check_depth(text: str) -> None:
    """Refuse deeply nested flow collections before the C composer recurses into them."""
    if _deepest(text) <= MAX_DEPTH:  # the common case: said without a Python step per character
        return
    depth = 0
    deepest = 0
    for index, char in enumerate(text):
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    raise YamlProblem(
                        f"collections nested more than {MAX_DEPTH} deep; kb files are shallow",
                        _offset_span(text, index),
                    )
        elif char in "]}":
            depth -= 1


# A string (a value or a key) whose text in the file is not the string itself: quoted, a
# block scalar, or folded over several lines, with its node (rewritten_span places it). Only
# such a string can differ from every run of the file's own text (an escape, a line
# continuation, a fold).
Rewritten = tuple[str, ScalarNode]


def rewritten_span(item: Rewritten) -> Span:
    return node_span(item[1])


class _Builder:
    def __init__(
        self,
        lenient_tags: bool = False,
        merge_keys: bool = False,
        rewritten: list[Rewritten] | None = None,
        env_tag: bool = False,
    ) -> None:
        self.count = 0
        # mkdocs.yml carries !ENV and !!python/name tags that are MkDocs' business, not ours
        self.lenient_tags = lenient_tags
        # `<<: *labels`: Prometheus (Go yaml) merges it into the mapping; kb must read a rule file
        # as Prometheus does. kb's own files are YAML 1.2 data, where `<<` is an ordinary key.
        self.merge_keys = merge_keys
        self.rewritten = rewritten
        self.env_tag = env_tag  # mkdocs.yml only: !ENV resolves from the environment, as MkDocs does

    def env(self, node: Node, depth: int) -> Any:
        """MkDocs' `!ENV` (its pyyaml_env_tag): `!ENV NAME` or `!ENV [NAME, ..., default]`; the
        value of the first variable set, read as a plain YAML value, else the last item of a
        list of two or more (built as YAML), else null."""
        default = None
        if isinstance(node, ScalarNode):
            names = [node.value]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
            if len(children) > 1:
                default = self.build(children[-1], depth + 1)
                children = children[:-1]
            if not all(isinstance(child, ScalarNode) for child in children):
                raise YamlProblem("!ENV names environment variables: plain values, not lists", node_span(node))
            names = [child.value for child in children]
        else:
            raise YamlProblem("!ENV takes a variable name or a list of names and a default", node_span(node))
        for name in names:
            if name in os.environ:
                return resolve_plain(os.environ[name])
        return default

    def build(self, node: Node, depth: int = 0) -> Any:
        if type(node) is ScalarNode and node.tag == PLAIN:  # the common case first, cheaply
            self.count += 1
            if self.count > MAX_NODES:
                raise YamlProblem(
                    f"more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?); refused",
                    node_span(node),
                )
            value = resolve_plain(node.value)
            if self.rewritten is not None and node.start_mark.line != node.end_mark.line and type(value) is str:
                self.rewritten.append((value, node))  # a plain scalar folded over lines
            return value
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(
                f"more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?); refused",
                node_span(node),
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(f"collections nested more than {MAX_DEPTH} deep", node_span(node))
        if self.env_tag and node.tag == "!ENV":
            return self.env(node, depth)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, MappingNode):
            if node.tag != _TAG + "map" and not self.lenient_tags:
                raise self.bad_tag(node)
            result: dict[Any, Any] = {}
            first_seen: dict[Any, Node] = {}
            merged: list[dict[Any, Any]] = []
            rewritten = self.rewritten
            for key_node, value_node in node.value:
                if type(key_node) is ScalarNode and key_node.tag == PLAIN:  # most keys: no tag, no checks
                    if self.merge_keys and key_node.value == "<<":
                        merged += self.merge_sources(value_node, depth)
                        continue
                    key = resolve_plain(key_node.value)  # a str, int, float, bool or None: hashable
                    if (
                        rewritten is not None
                        and type(key) is str
                        and key_node.end_mark.line != key_node.start_mark.line
                    ):
                        rewritten.append((key, key_node))  # a key folded over lines
                else:
                    key = self.key(key_node)
                if key in first_seen:
                    first = first_seen[key].start_mark.line + 1
                    raise YamlProblem(f"duplicate key '{key}' (first set on line {first})", node_span(key_node))
                first_seen[key] = key_node
                if type(value_node) is ScalarNode and value_node.tag == PLAIN:  # a leaf: build's first case, inline
                    self.count += 1
                    if self.count > MAX_NODES:
                        raise self.too_many(value_node)
                    value = resolve_plain(value_node.value)
                    if (
                        rewritten is not None
                        and type(value) is str
                        and value_node.start_mark.line != value_node.end_mark.line
                    ):
                        rewritten.append((value, value_node))
                    result[key] = value
                else:
                    result[key] = self.build(value_node, depth + 1)
            for source in merged:  # the mapping's own keys win, then the first source naming a key
                for key, value in source.items():
                    result.setdefault(key, value)
            return result
        if isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq" and not self.lenient_tags:
                raise self.bad_tag(node)
            return [self.build(item, depth + 1) for item in node.value]
        raise YamlProblem("unsupported YAML node", node_span(node))  # pragma: no cover

    def key(self, key_node: Node) -> Any:
        """A mapping key that is not an untagged plain value: a quoted or tagged scalar only."""
        if not isinstance(key_node, ScalarNode):
            raise YamlProblem("a mapping key must be a plain value, not a list or mapping", node_span(key_node))
        key = self.scalar(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise YamlProblem("unsupported mapping key", node_span(key_node))
        try:
            hash(key)
        except TypeError:  # pragma: no cover - scalars are hashable
            raise YamlProblem("unhashable mapping key", node_span(key_node)) from None
        return key

    @staticmethod
    def too_many(node: Node) -> YamlProblem:
        return YamlProblem(
            f"more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?); refused", node_span(node)
        )

    def merge_sources(self, node: Node, depth: int) -> list[dict[Any, Any]]:
        """The mappings a merge key names: one mapping, or a list of mappings (YAML's merge key)."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        built = [self.build(source, depth + 1) for source in sources]
        if not all(isinstance(source, MappingNode) for source in sources) or not all(
            isinstance(b, dict) for b in built
        ):
            raise YamlProblem("a merge key (<<) takes a mapping or a list of mappings", node_span(node))
        return built

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == PLAIN:
            value = resolve_plain(node.value)
            if self.rewritten is not None and node.start_mark.line != node.end_mark.line and type(value) is str:
                self.rewritten.append((value, node))
            return value
        if tag == _TAG + "str":
            if self.rewritten is not None and (node.style or node.start_mark.line != node.end_mark.line):
                self.rewritten.append((node.value, node))  # quoted or a block scalar
            return intern(node.value)  # as resolve_plain does
        if tag in _CAST_TAGS:
            value = resolve_plain(node.value)
            kinds: dict[str, type | tuple[type, ...]] = {
                "int": int,
                "float": (int, float),
                "bool": bool,
                "null": type(None),
            }
            wanted = kinds[tag[len(_TAG) :]]
            if isinstance(value, wanted) and not (tag.endswith("int") and isinstance(value, bool)):
                return float(value) if tag.endswith("float") and isinstance(value, (int, float)) else value
            raise YamlProblem(f"'{node.value}' is not a valid !!{tag[len(_TAG) :]}", node_span(node))
        if self.lenient_tags:
            return node.value
        raise self.bad_tag(node)

    @staticmethod
    def bad_tag(node: Node) -> YamlProblem:
        tag = node.tag.replace(_TAG, "!!")
        return YamlProblem(f"YAML tag {tag} is not allowed: kb files are plain data", node_span(node))


def load(
    data: bytes,
    max_bytes: int = MAX_BYTES,
    lenient_tags: bool = False,
    merge_keys: bool = False,
    rewritten: list[Rewritten] | None = None,
    env_tag: bool = False,
) -> Any:
    """The plain value of a YAML file's bytes; raises YamlProblem with a position. `merge_keys`
    applies `<<` merge keys, as the Go YAML library of Prometheus and Alertmanager does. With
    `rewritten`, every string whose file text is not the string itself is added to it.
    `env_tag` resolves MkDocs' `!ENV` (for mkdocs.yml)."""
    text = decode(data, max_bytes)
    if text.count("[") + text.count("{") > MAX_DEPTH:  # only then can flow nesting be that deep
        _check_depth(text)
    node = compose(text)
    if node is None:
        return None
    return _Builder(lenient_tags, merge_keys, rewritten, env_tag).build(node)


def load_mapping(
    data: bytes,
    max_bytes: int = MAX_BYTES,
    lenient_tags: bool = False,
    merge_keys: bool = False,
    rewritten: list[Rewritten] | None = None,
    env_tag: bool = False,
) -> dict[str, Any]:
    value = load(data, max_bytes, lenient_tags, merge_keys, rewritten, env_tag)
    if value is None:
        raise YamlProblem("file is empty; expected a mapping of fields", Span(1, 1, 1, 1))
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"a single value ({type(value).__name__})"
        raise YamlProblem(f"expected a mapping of fields at the top level, found {kind}", Span(1, 1, 1, 1))
    return value


_KEY_BUILDER = _Builder(lenient_tags=True)  # keys in locate(): plain values, no explicit-tag check


@dataclass
class Located:
    span: Span
    exact: bool  # False when the path ran past the document (a missing field): span is the parent


def locate(text: str, loc: Loc, at: str = "value") -> Located:
    try:
        root = compose(text)
    except YamlProblem as problem:
        return Located(problem.span, False)
    return locate_in(root, loc, at)


def locate_in(root: Node | None, loc: Loc, at: str = "value") -> Located:
    """The span of the node at a YAML path, or of its deepest existing ancestor.

    Path elements that are not in the document (pydantic adds model or union names to
    error paths) are skipped, so an error deep inside still lands on the nearest node.
    """
    if root is None:
        return Located(Span(1, 1, 1, 1), False)
    node: Node = root
    key_node: Node | None = None
    exact = True
    for part in loc:
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and _KEY_BUILDER.scalar(k) == part:
                    key_node, node = k, v
                    break
            else:
                exact = False
                continue
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            key_node, node = None, node.value[part]
        else:
            exact = False
    if not loc:
        return Located(Span(1, 1, 1, 1), True)
    target = key_node if (at == "key" and key_node is not None and exact) else node
    if not exact and isinstance(node, MappingNode) and key_node is not None:
        target = key_node  # point at the key that owns the mapping missing a field
    span = node_span(target)
    if isinstance(target, (MappingNode, SequenceNode)) and target.flow_style is False:
        # A block collection ends where the next one starts; point at its first line only.
        span = Span(span.line, span.column, span.line, span.column + 1)
    return Located(span, exact)


def suppression_comments(text: str) -> list[tuple[int, int, str]]:
    """(line, column, codes) of every `kb: ignore[...]` in a YAML comment (1-based): never one
    inside a value (`done_when: "see # kb: ignore[KB111]"` is text, and suppresses nothing).
    In a file the scanner cannot read to its end, a match past the error counts only after a
    `#` that opens a comment (at the line's start or after a blank), as a YAML reader sees it."""
    if "kb:" not in text:
        return []
    values: list[tuple[tuple[int, int], tuple[int, int]]] = []  # (start, end) of scalars, 0-based
    scanned_to = (1 << 62, 0)
    try:
        for token in yaml.scan(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(token, yaml.ScalarToken):
                start, end = token.start_mark, token.end_mark
                values.append(((start.line, start.column), (end.line, end.column)))
    except (yaml.YAMLError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        scanned_to = (mark.line, mark.column) if mark is not None else (0, 0)
    found = []
    for number, line in enumerate(text.splitlines()):
        if "kb:" not in line:
            continue
        for match in SUPPRESSION.finditer(line):
            where = (number, match.start())
            if where < scanned_to:
                if any(start <= where < end for start, end in values):
                    continue
            elif not re.search(r"(^|\s)#", line[: match.start()]):
                continue
            found.append((number + 1, match.start() + 1, match.group(1)))
    return found

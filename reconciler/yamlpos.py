"""YAML parsing that remembers where every value was written.

PyYAML's safe loader turns text into plain Python values (dicts, lists,
strings, numbers, booleans, dates) and never builds arbitrary objects. It
forgets positions, though, and an error message that cannot name a line is
half an error message. So each document is *composed* first (a tree of nodes
that carry marks), *constructed* with the safe constructor, and the node tree
is then walked next to the data to record, for every field path, the 1-based
line and column of its key and of its value.

A field path is a tuple of mapping keys and list indexes, the same shape as a
pydantic error ``loc``: ``("spec", "tasks", 0, "notebook")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Any, ClassVar

import yaml
import yaml.reader
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

FieldPath = tuple[str | int, ...]
Written = tuple[int, int]
"""A 1-based (line, column) as the position tables keep it (a Position is made on lookup)."""


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in one file."""

    line: int
    col: int

    @classmethod
    def of(cls, mark: yaml.Mark | None) -> Position:
        """Convert PyYAML's 0-based mark (or no mark at all) to a position."""
        if mark is None:
            return cls(1, 1)
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True)
class ParsedDocument:
    """One YAML document: its plain data and where each of its parts was written.

    Documents built by libyaml's fast path leave their position tables unbuilt
    (``values`` is None) and keep their file's text instead: positions are
    asked for only to report a problem, so the tables are made then, by
    composing the text again, rather than for every field of every document
    (they took more memory than the data itself).
    """

    index: int  # 0-based position of the document in its file
    data: Any
    start: Position
    values: dict[FieldPath, Written] | None = field(default_factory=dict)
    keys: dict[FieldPath, Written] = field(default_factory=dict)
    duplicate_keys: tuple[tuple[FieldPath, Position, Position], ...] = ()
    source: str | None = field(default=None, repr=False, compare=False)

    def value_position(self, path: FieldPath) -> Position:
        """Where the value at ``path`` starts, or its nearest written parent."""
        return self._nearest(self._tables()[0], path)

    def key_position(self, path: FieldPath) -> Position:
        """Where the key that names ``path`` is written (falls back like values)."""
        values, keys = self._tables()
        if path in keys:
            return Position(*keys[path])
        return self._nearest(values, path)

    def _tables(self) -> tuple[dict[FieldPath, Written], dict[FieldPath, Written]]:
        if self.values is None:
            values, keys = _positions_of(self.source or "", self.index)
            object.__setattr__(self, "values", values)
            object.__setattr__(self, "keys", keys)
            return values, keys
        return self.values, self.keys

    def _nearest(self, table: dict[FieldPath, Written], path: FieldPath) -> Position:
        for cut in range(len(path), -1, -1):
            found = table.get(path[:cut])
            if found is not None:
                return Position(*found)
        return self.start


@dataclass(frozen=True)
class YamlFault:
    """A YAML syntax (or unsafe tag) error, positioned at PyYAML's mark."""

    position: Position
    message: str


def parse_documents(text: str) -> tuple[list[ParsedDocument], YamlFault | None]:
    """Every non-empty document in ``text``, and the YAML error that stopped parsing, if any.

    Documents before a syntax error are still returned so that their own
    problems can be reported in the same run.
    """
    if _FastLoader is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return _parse_fast(text, _FastLoader(text)), None
        except (yaml.YAMLError, _AliasFault, RecursionError):
            pass  # the pure-Python loader below words the error (and keeps prior documents)
    documents: list[ParsedDocument] = []
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # control characters are rejected up front
        return documents, _reader_fault(text, exc)
    try:
        for index, node, data in _iter_nodes(loader):
            documents.append(_describe(index, node, data))
    except (yaml.YAMLError, _AliasFault) as exc:
        return documents, _fault(exc)
    except RecursionError:
        return documents, _depth_fault(text)
    finally:
        loader.dispose()
    return documents, None


MAX_DEPTH = 100
"""How deeply mappings and lists may nest in one document before it is refused."""


def _depth_fault(text: str) -> YamlFault:
    """Where ``text`` first nests deeper than MAX_DEPTH (found from events, without recursion)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark: Any = event.start_mark
                    return YamlFault(Position.of(mark), _DEPTH_MESSAGE)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        return _fault(exc)
    return YamlFault(Position(1, 1), _DEPTH_MESSAGE)


_DEPTH_MESSAGE = f"invalid YAML: nested more than {MAX_DEPTH} levels deep; flatten the document"


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map"))


if hasattr(yaml, "CSafeLoader"):

    class _CachedResolver(yaml.CSafeLoader):
        """libyaml's safe loader whose plain-scalar tag resolution is remembered by value.

        The safe resolver's answer for a plain scalar depends on its text alone
        (it has no path resolvers), so the regular-expression scan runs once
        per distinct short value instead of once per scalar.
        """

        _tags: ClassVar[dict[str, str]] = {}

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is ScalarNode and implicit[0] and len(value) <= 64:
                tag = self._tags.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)
                    if len(self._tags) > 100_000:
                        self._tags.clear()
                    self._tags[value] = tag
                return tag
            return super().resolve(kind, value, implicit)

    _FastLoader: type[yaml.CSafeLoader] | None = _CachedResolver
else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None
"""libyaml's composer (marks included), an order of magnitude faster than the pure one.

Only documents that parse cleanly go through it; any fault is parsed again by
the pure-Python loader so that error messages and positions stay the same.
"""


def _parse_fast(text: str, loader: Any, *, positions: bool = False) -> list[ParsedDocument]:
    """Documents composed by libyaml, each built and positioned in one walk of its nodes.

    A document the one-walk builder does not cover (anchors and aliases,
    merge keys, duplicate keys, tags beyond plain scalars, lists and maps)
    goes through the safe constructor and the position walker instead, with
    the same result.
    """
    simple = "&" not in text  # no anchor, hence no alias either
    documents: list[ParsedDocument] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                built = _build_document(index, node, loader, text, positions) if simple else None
                if built is None:
                    data = loader.construct_document(node)
                    if data is not None:
                        documents.append(_describe(index, node, data))
                elif built.data is not None:
                    documents.append(built)
            index += 1
    finally:
        loader.dispose()
    return documents


class _Unbuilt(Exception):
    """The one-walk builder met something it leaves to the safe constructor."""


_SCALARS: dict[str, Any] = {
    f"tag:yaml.org,2002:{t}": yaml.SafeLoader.yaml_constructors[f"tag:yaml.org,2002:{t}"]
    for t in ("null", "bool", "int", "float", "timestamp")
}


def _build_document(
    index: int, node: Node, loader: Any, text: str, positions: bool
) -> ParsedDocument | None:
    builder = _Builder(loader, positions)
    try:
        data = builder.build(node, (), 0)
    except _Unbuilt:
        return None
    return ParsedDocument(
        index=index,
        data=data,
        start=Position.of(node.start_mark),
        values=builder.values if positions else None,
        keys=builder.keys,
        source=None if positions else text,
    )


def _positions_of(
    text: str, index: int
) -> tuple[dict[FieldPath, Written], dict[FieldPath, Written]]:
    """The position tables of document ``index`` of ``text`` (composed again, once)."""
    assert _FastLoader is not None  # only the fast path leaves tables unbuilt
    for doc in _parse_fast(text, _FastLoader(text), positions=True):
        if doc.index == index:
            assert doc.values is not None
            return doc.values, doc.keys
    return {}, {}


class _Builder:
    """Builds a document's data (as the safe constructor would) and, with ``positions``,
    its position tables (without, the paths are not even formed)."""

    __slots__ = ("keys", "loader", "positions", "values", "visited")

    def __init__(self, loader: Any, positions: bool) -> None:
        self.loader = loader
        self.positions = positions
        self.visited = 0
        self.values: dict[FieldPath, Written] = {}
        self.keys: dict[FieldPath, Written] = {}

    def build(self, node: Node, path: FieldPath, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES or depth > MAX_DEPTH:
            raise _Unbuilt  # the walker words the refusal
        positions = self.positions
        if positions:
            mark = node.start_mark
            self.values[path] = (mark.line + 1, mark.column + 1)
        kind, tag = node.__class__, node.tag
        if kind is ScalarNode:
            if tag == _STR:
                return node.value
            return self._scalar(node)
        if kind is SequenceNode and tag == _SEQ:
            if not positions:
                return [self.build(item, path, depth + 1) for item in node.value]
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if kind is MappingNode and tag == _MAP:
            result: dict[Any, Any] = {}
            keys = self.keys
            for key_node, value_node in node.value:
                if key_node.__class__ is not ScalarNode:
                    raise _Unbuilt
                key = intern(key_node.value) if key_node.tag == _STR else self._scalar(key_node)
                if key in result:
                    raise _Unbuilt
                if positions:
                    key_mark = key_node.start_mark
                    key_path = (*path, key)
                    keys[key_path] = (key_mark.line + 1, key_mark.column + 1)
                    result[key] = self.build(value_node, key_path, depth + 1)
                else:
                    result[key] = self.build(value_node, path, depth + 1)
            return result
        raise _Unbuilt

    def _scalar(self, node: Node) -> Any:
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise _Unbuilt
        return construct(self.loader, node)


def _reader_fault(text: str, exc: yaml.reader.ReaderError) -> YamlFault:
    before = text[: exc.position]
    where = Position(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
    return YamlFault(where, f"invalid YAML: character #x{exc.character:04x} is not allowed")


def _fault(exc: Exception) -> YamlFault:
    if isinstance(exc, _AliasFault):
        return YamlFault(exc.position, exc.message)
    if isinstance(exc, yaml.MarkedYAMLError):
        return YamlFault(Position.of(exc.problem_mark), _yaml_message(exc))
    return YamlFault(Position(1, 1), f"invalid YAML: {exc}")


class _AliasFault(Exception):
    """An alias that contains itself, or aliases that expand to an enormous document."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


MAX_NODES = 100_000
"""How many values one document may expand to (aliases included) before it is refused."""


def _iter_nodes(loader: Any) -> Iterator[tuple[int, Node, Any]]:
    index = 0
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            # Constructing first also flattens ``<<`` merge keys inside the node tree.
            data = loader.construct_document(node)
            if data is not None:
                yield index, node, data
        index += 1


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    detail = "; ".join(parts) if parts else "malformed document"
    return f"invalid YAML: {detail}"


def _describe(index: int, node: Node, data: Any) -> ParsedDocument:
    walker = _PositionWalker()
    walker.walk(node, ())
    return ParsedDocument(
        index=index,
        data=data,
        start=Position.of(node.start_mark),
        values=walker.values,
        keys=walker.keys,
        duplicate_keys=tuple(walker.duplicates),
    )


class _PositionWalker:
    """Walks a composed node tree, recording where each field path is written."""

    def __init__(self) -> None:
        self.active: set[int] = set()  # nodes on the current path, to catch recursive aliases
        self.visited = 0
        self.values: dict[FieldPath, Written] = {}
        self.keys: dict[FieldPath, Written] = {}
        self.duplicates: list[tuple[FieldPath, Position, Position]] = []

    def walk(self, node: Node, path: FieldPath) -> None:
        """Record the position of ``node`` at ``path`` and of everything below it."""
        here = Position.of(node.start_mark)
        self.visited += 1
        if id(node) in self.active:
            raise _AliasFault(here, "invalid YAML: an alias refers to a value that contains it")
        if self.visited > MAX_NODES:
            raise _AliasFault(
                here, f"document expands to more than {MAX_NODES} values; use fewer aliases"
            )
        if len(path) > MAX_DEPTH:
            raise _AliasFault(here, _DEPTH_MESSAGE)
        self.values[path] = (here.line, here.col)
        self.active.add(id(node))
        self._walk_children(node, path)
        self.active.discard(id(node))

    def _walk_children(self, node: Node, path: FieldPath) -> None:
        if isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i))
        elif isinstance(node, MappingNode):
            seen: dict[Any, Position] = {}
            for key_node, value_node in node.value:
                key = _key_of(key_node)
                here = Position.of(key_node.start_mark)
                if key in seen:
                    self.duplicates.append(((*path, key), seen[key], here))
                seen[key] = here
                # The last occurrence wins, as it does in the constructed data.
                self.keys[(*path, key)] = (here.line, here.col)
                self.walk(value_node, (*path, key))


def _key_of(node: Node) -> Any:
    """A mapping key as the safe constructor would build it (scalars only need this)."""
    if isinstance(node, ScalarNode):
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        constructor = yaml.SafeLoader("")
        try:
            return constructor.construct_object(node)
        except yaml.YAMLError:
            return node.value
        finally:
            constructor.dispose()
    return repr(node.value)

"""Property: no spec input, however hostile, gives a traceback or reaches the connector.

Hypothesis draws one hostile thing and puts it in an otherwise valid tenant
folder: documents nested hundreds of levels deep (flow mappings and lists
mixed), files that are no regular file (a FIFO or a folder named ``x.yaml``),
binary and mis-encoded files (UTF-16 and UTF-32 with their byte-order marks,
invalid UTF-8, a UTF-8 BOM), links (out of the folder, to a missing target, in
a loop) and values the connector cannot carry (any Unicode text, NUL, numbers
beyond int64, unterminated ``${``). ``reconciler plan`` then runs through the
real CLI against a real emulator. Whatever the input: no traceback and no
"internal error"; an input that is refused (exit 1) sent the connector no
request at all, as the emulator's own counters show; the inputs made to be
refused are.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.emulator.server import RunningEmulator, running_emulator

HEADER = "apiVersion: agentprovision.ai/v1\n"
TENANT = HEADER + "kind: Tenant\nmetadata: {name: fuzz}\nspec: {}\n"
NOTEBOOK = HEADER + "kind: Notebook\nmetadata: {name: etl}\nspec: {language: python, content: x}\n"


@dataclass(frozen=True)
class Hostile:
    """One hostile input: what it is, how to put it into a tenant folder, whether it is refused."""

    label: str
    make: Callable[[Path], None]
    refused: bool | None  # None: either outcome is fine, only the invariants hold

    def __repr__(self) -> str:
        return f"Hostile({self.label!r})"


def _file(name: str, body: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(body)


def _job(field: str) -> bytes:
    text = HEADER + "kind: Job\nmetadata: {name: fuzzed}\nspec:\n"
    text += f"  {field}\n  tasks:\n    - {{key: a, notebook: '${{notebooks.etl.path}}'}}\n"
    return text.encode("utf-8")


@st.composite
def deep(draw: st.DrawFn) -> Hostile:
    depth = draw(st.integers(101, 1200))
    kinds = draw(st.lists(st.sampled_from("{["), min_size=depth, max_size=depth))
    opened = "".join("{a: " if k == "{" else "[" for k in kinds)
    closed = "".join("}" if k == "{" else "]" for k in reversed(kinds))
    body = HEADER + "kind: Job\nmetadata: {name: deep}\nspec: " + opened + "1" + closed + "\n"
    return Hostile(f"nested {depth} deep", _file("deep.yaml", body.encode()), True)


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "x.yaml")


def _folder_named_yaml(folder: Path) -> None:
    (folder / "x.yaml").mkdir()


def _link(target: str, name: str = "linked.yaml") -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        outside = folder.parent / "outside"
        outside.mkdir(exist_ok=True)
        (outside / "nb.yaml").write_text(NOTEBOOK.replace("etl", "stolen"))
        (folder / name).symlink_to(target.format(outside=outside, folder=folder))

    return make


FILE_TYPES = st.sampled_from(
    [
        Hostile("a FIFO named x.yaml", _fifo, True),
        Hostile("a folder named x.yaml", _folder_named_yaml, None),
        Hostile("a link to a file outside", _link("{outside}/nb.yaml"), True),
        Hostile("a link to a folder outside", _link("{outside}", "more"), True),
        Hostile("a link to a missing file", _link("{folder}/gone.yaml"), False),
        Hostile("a link in a loop", _link("{folder}", "again"), False),
        Hostile("a self-referencing link", _link("{folder}/self.yaml", "self.yaml"), False),
    ]
)


@st.composite
def encoded(draw: st.DrawFn) -> Hostile:
    text = NOTEBOOK.replace("content: x", "content: " + json.dumps(draw(st.text(max_size=40))))
    encoding, refused = draw(
        st.sampled_from(
            [
                ("utf-16", True),
                ("utf-16-le-bom", True),
                ("utf-16-be-bom", True),
                ("utf-32", True),
                ("utf-8-sig", None),
                ("invalid-utf-8", True),
            ]
        )
    )
    if encoding == "utf-16-le-bom":
        body = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        body = b"\xfe\xff" + text.encode("utf-16-be")
    elif encoding == "invalid-utf-8":
        cut = draw(st.integers(0, len(text)))
        bad = draw(st.sampled_from([b"\x80", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]))
        body = text[:cut].encode() + bad + text[cut:].encode()
    else:
        body = text.encode(encoding)
    return Hostile(f"a notebook in {encoding}", _file("nb2.yaml", body), refused)


@st.composite
def binary(draw: st.DrawFn) -> Hostile:
    body = draw(st.binary(min_size=1, max_size=300))
    return Hostile("random bytes", _file("blob.yaml", body), None)


@st.composite
def values(draw: st.DrawFn) -> Hostile:
    choice = draw(st.sampled_from(["text", "nul", "int64", "open"]))
    if choice == "text":
        field, refused = f"description: {json.dumps(draw(st.text(max_size=60)))}", None
    elif choice == "nul":
        text = draw(st.text(max_size=20))
        field, refused = f"description: {json.dumps(text + chr(0) + text)}", True
    elif choice == "int64":
        big = draw(st.integers(2**63, 2**80) | st.integers(-(2**80), -(2**63) - 1))
        field, refused = f"max_concurrent_runs: {big}", True
    else:
        tail = draw(st.text(alphabet="abcdefghij.-_ ", max_size=20))
        field, refused = f"description: {json.dumps('x ${' + tail)}", True
    return Hostile(f"a job with {choice}", _file("job.yaml", _job(field)), refused)


HOSTILE = st.one_of(deep(), FILE_TYPES, encoded(), binary(), values())


@pytest.fixture(scope="module")
def connector() -> Iterator[RunningEmulator]:
    with tempfile.TemporaryDirectory() as tmp, running_emulator(ready_delay=0.05) as emulator:
        saved = {k: os.environ.get(k) for k in ("MCP_SERVER_URL", "MCP_API_KEY", "DATABASE_URL")}
        os.environ.update(
            MCP_SERVER_URL=emulator.url,
            MCP_API_KEY=emulator.api_key,
            DATABASE_URL=f"sqlite:///{tmp}/state.db",
        )
        try:
            yield emulator
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _requests(emulator: RunningEmulator) -> int:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    counts = httpx.get(emulator.url + "/_emulator/counters", headers=headers).json()["requests"]
    return sum(counts.values())


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hostile=HOSTILE)
def test_hostile_spec_input_is_refused_cleanly(
    hostile: Hostile, connector: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "fuzz"
        folder.mkdir()
        (folder / "tenant.yaml").write_text(TENANT)
        (folder / "notebooks.yaml").write_text(NOTEBOOK)
        hostile.make(folder)
        before = _requests(connector)
        capsys.readouterr()

        code = main(["plan", str(folder)])

        err = capsys.readouterr().err
        sent = _requests(connector) - before
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 1), err
    if code == 1:
        assert sent == 0, f"{hostile.label}: refused, yet {sent} connector request(s)\n{err}"
        assert "error:" in err
    if hostile.refused is not None:
        assert (code == 1) == hostile.refused, f"{hostile.label}: exit {code}\n{err}"

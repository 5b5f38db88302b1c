"""Hostile inputs for the built-in file tools (issue 16, "Trust"): links swapped during calls,
files in other line endings and encodings, secret files, catastrophic regular expressions.

The server is built in-process (``build_server``) and called through the SDK's public
``MCPServer.call_tool``, so hundreds of calls race a flipping link within a few seconds; the same
server code runs over stdio in tests/core/tools/test_builtin_server.py.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp.server.mcpserver.exceptions import ToolError

from a2ia_tui.core.tools.secrets import SecretRules
from a2ia_tui.core.tools.server import build_server
from a2ia_tui.core.tools.textfiles import edit_bytes
from a2ia_tui.core.tools.workspace import Workspace


async def call(server, name: str, **arguments) -> tuple[str, bool]:
    """(text, is_error) as the model would see it."""
    try:
        result = await server.call_tool(name, arguments)
    except ToolError as exc:
        return str(exc), True
    text = "\n".join(getattr(c, "text", "") for c in result.content)
    return text, bool(result.is_error)


def make_server(root: Path, home: Path | None = None):
    rules = SecretRules(home or root.parent / "no-home", own=[], own_dirs=[])
    return build_server(Workspace(root), secrets=rules)


# -- the symlink race ------------------------------------------------------------------------


@pytest.fixture
def race_tree(tmp_path):
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    (root / "indir").mkdir(parents=True)
    (outside / "odir").mkdir(parents=True)
    (root / "inside.txt").write_text("inside text\n")
    (root / "indir" / "file.txt").write_text("inside text\n")
    (outside / "secret.txt").write_text("OUTSIDE-SECRET\n")
    (outside / "odir" / "file.txt").write_text("OUTSIDE-SECRET\n")
    (outside / "odir" / "OUTSIDE-NAME").write_text("x")
    return root, outside


class Flipper(threading.Thread):
    """Calls ``step(i)`` as fast as it can until stopped: each step swaps one path's kind or target."""

    def __init__(self, step) -> None:
        super().__init__(daemon=True)
        self.step = step
        self.stop = threading.Event()
        self.flips = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step(self.flips)
            except OSError:
                pass  # the server removed or created something in between: next step
            self.flips += 1


def link_between(link: Path, targets: list[str]):
    """A link retargeted atomically (a new link renamed over it)."""
    tmp = link.with_name(link.name + ".tmp")

    def step(i: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(targets[i % len(targets)], tmp)
        os.replace(tmp, link)

    return step


def file_or_link(path: Path, text: str, target: Path):
    """A regular file one moment, a link to ``target`` the next (atomic renames)."""
    tmp = path.with_name(path.name + ".tmp")

    def step(i: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if i % 2:
            os.symlink(target, tmp)
        else:
            tmp.write_text(text)
        os.replace(tmp, path)

    return step


def dir_or_link(path: Path, target: Path):
    """A real directory one moment, a link to the directory ``target`` the next."""
    parked, link = path.with_name(path.name + ".real"), path.with_name(path.name + ".link")
    os.symlink(target, link)

    def step(i: int) -> None:
        if i % 2 == 0:
            os.rename(path, parked)
            os.rename(link, path)
        else:
            os.rename(path, link)
            os.rename(parked, path)

    return step


def absent_or_link(path: Path, target: Path):
    """Nothing one moment, a dangling link to ``target`` (outside) the next."""

    def step(i: int) -> None:
        if i % 2:
            os.symlink(target, path)
        else:
            os.unlink(path)  # a file the server created there, or the link

    return step


def outside_snapshot(outside: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outside)): p.read_bytes() for p in sorted(outside.rglob("*")) if p.is_file()}


async def test_a_link_flipped_during_hundreds_of_calls_never_reaches_outside(race_tree):
    root, outside = race_tree
    before = outside_snapshot(outside)
    server = make_server(root)
    # Links retargeted: inside (relative, absolute) and outside (relative, absolute, not existing).
    file_targets = [
        "inside.txt",
        str(root / "inside.txt"),
        "../outside/secret.txt",
        str(outside / "secret.txt"),
        "../outside/created.txt",
        "indir/../../outside/secret.txt",
    ]
    dir_targets = ["indir", str(root / "indir"), "../outside/odir", str(outside / "odir"), "indir/../.."]
    os.symlink("inside.txt", root / "flip")
    os.symlink("indir", root / "dirlink")
    (root / "fslot").write_text("inside text\n")
    (root / "dslot").mkdir()
    (root / "dslot" / "file.txt").write_text("inside text\n")
    flippers = [
        Flipper(link_between(root / "flip", file_targets)),
        Flipper(link_between(root / "dirlink", dir_targets)),
        # a checked real file / real directory / absent name replaced by a link after the check
        Flipper(file_or_link(root / "fslot", "inside text\n", outside / "secret.txt")),
        Flipper(dir_or_link(root / "dslot", outside / "odir")),
        Flipper(absent_or_link(root / "newslot", outside / "created.txt")),
    ]
    calls_each = (
        ("read_file", {"path": "flip"}),
        ("read_file", {"path": "fslot"}),
        ("read_file", {"path": "dirlink/file.txt"}),
        ("read_file", {"path": "dslot/file.txt", "start_line": 1, "end_line": 1}),
        ("list_directory", {"path": "dirlink"}),
        ("list_directory", {"path": "dslot"}),
        ("write_file", {"path": "flip", "content": "inside text\n"}),
        ("write_file", {"path": "fslot", "content": "inside text\n"}),
        ("write_file", {"path": "newslot", "content": "written"}),
        ("write_file", {"path": "dslot/new.txt", "content": "written"}),
        ("write_file", {"path": "dirlink/new.txt", "content": "written"}),
        ("edit_file", {"path": "flip", "old_text": "inside text", "new_text": "inside text"}),
        ("edit_file", {"path": "fslot", "old_text": "inside", "new_text": "inside"}),
        ("edit_file", {"path": "dslot/file.txt", "old_text": "inside", "new_text": "inside"}),
        ("search_files", {"pattern": "SECRET|inside", "path": "dirlink"}),
        ("search_files", {"pattern": "SECRET|inside", "path": "dslot"}),
    )
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let the flippers run between any two steps of a call
    for f in flippers:
        f.start()
    seen_ok = 0
    calls = 0
    try:
        for _ in range(60):
            for name, args in calls_each:
                text, is_error = await call(server, name, **args)
                calls += 1
                assert "OUTSIDE" not in text, (name, args, text)
                seen_ok += not is_error
    finally:
        for f in flippers:
            f.stop.set()
        for f in flippers:
            f.join(10)
        sys.setswitchinterval(old_interval)
    assert outside_snapshot(outside) == before  # nothing outside modified or created
    assert seen_ok > 0 and all(f.flips > 0 for f in flippers)


async def test_links_that_stay_inside_keep_working(race_tree):
    root, _outside = race_tree
    os.symlink("inside.txt", root / "rel-link")
    os.symlink(root / "inside.txt", root / "abs-link")
    os.symlink("../inside.txt", root / "indir" / "up-link")
    os.symlink("indir", root / "dir-link")
    os.symlink("dir-link/up-link", root / "chain")  # link -> dir link -> link with ..
    os.symlink("new/target.txt", root / "dangling-inside")
    server = make_server(root)
    for path in ("rel-link", "abs-link", "indir/up-link", "dir-link/file.txt", "chain", str(root / "chain")):
        assert await call(server, "read_file", path=path) == ("inside text\n", False), path
    text, err = await call(server, "list_directory", path="dir-link")
    assert not err and "file.txt" in text and "up-link" in text
    text, err = await call(server, "list_directory")
    assert "dir-link/" in text and "-> indir" in text
    assert not (await call(server, "write_file", path="dangling-inside", content="made"))[1]
    assert (root / "new" / "target.txt").read_text() == "made"
    assert not (await call(server, "edit_file", path="chain", old_text="inside", new_text="edited"))[1]
    assert (root / "inside.txt").read_text() == "edited text\n"


async def test_escapes_are_refused_with_one_line(race_tree, tmp_path):
    root, outside = race_tree
    os.symlink("../outside/secret.txt", root / "out-rel")
    os.symlink(outside / "secret.txt", root / "out-abs")
    os.symlink(outside / "odir", root / "out-dir")
    os.symlink("out-dir", root / "out-chain")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink("../outside/new-file", root / "out-dangling")
    os.mkfifo(root / "fifo")
    server = make_server(root)
    bad = [
        "../outside/secret.txt",
        str(outside / "secret.txt"),
        "out-rel",
        "out-abs",
        "out-dir/file.txt",
        "out-chain/file.txt",
        "indir/../../outside/secret.txt",
        "loop-a",
        "fifo",
        "a\x00b",
        "~/../../etc/passwd",
    ]
    for path in bad:
        text, err = await call(server, "read_file", path=path)
        assert err and "\n" not in text and "OUTSIDE" not in text, (path, text)
    text, err = await call(server, "write_file", path="out-dangling", content="x")
    assert err and "outside the workspace" in text
    text, err = await call(server, "write_file", path="out-dir/new.txt", content="x")
    assert err and not (outside / "odir" / "new.txt").exists() and not (outside / "new-file").exists()
    text, err = await call(server, "list_directory")
    assert "out-abs@" in text and "OUTSIDE" not in text and "15 bytes" not in text


# -- line endings and encodings ----------------------------------------------------------------


async def _edit(tmp_path, data: bytes, old: str, new: str) -> tuple[bytes, str, bool]:
    (tmp_path / "f.txt").write_bytes(data)
    text, err = await call(make_server(tmp_path), "edit_file", path="f.txt", old_text=old, new_text=new)
    return (tmp_path / "f.txt").read_bytes(), text, err


@pytest.mark.parametrize(
    "data, old, new, expected",
    [
        # CRLF file, LF old/new text: endings kept, inserted lines take CRLF
        (b"one\r\ntwo\r\nthree\r\n", "two\nthree", "2\n3\n3b", b"one\r\n2\r\n3\r\n3b\r\n"),
        # CRLF old text matches exactly
        (b"one\r\ntwo\r\nthree\r\n", "one\r\ntwo", "1\r\n2", b"1\r\n2\r\nthree\r\n"),
        # a one-line edit in a CRLF file changes nothing else
        (b"a = 1\r\nb = 2\r\n", "b = 2", "b = 3", b"a = 1\r\nb = 3\r\n"),
        # mixed endings: each kept; the span's own ending used inside it
        (b"a\r\nb\nc\r\nd\n", "b\nc", "B\nC", b"a\r\nB\nC\r\nd\n"),
        (b"a\r\nb\nc\r\nd\n", "c\nd", "C\nD", b"a\r\nb\nC\r\nD\n"),
        # old-Mac CR-only lines are text like any other
        (b"x\ry\rz", "y", "Y", b"x\rY\rz"),
        # UTF-8 with BOM, CRLF
        (
            codecs.BOM_UTF8 + "é = 1\r\nü = 2\r\n".encode(),
            "ü = 2",
            "ü = 3\nß = 4",
            codecs.BOM_UTF8 + "é = 1\r\nü = 3\r\nß = 4\r\n".encode(),
        ),
        # UTF-16 LE and BE with BOM, CRLF
        (
            codecs.BOM_UTF16_LE + "é\r\nzwei\r\n".encode("utf-16-le"),
            "zwei",
            "drei\nvier",
            codecs.BOM_UTF16_LE + "é\r\ndrei\r\nvier\r\n".encode("utf-16-le"),
        ),
        (
            codecs.BOM_UTF16_BE + "é\r\nzwei\r\n🙂\r\n".encode("utf-16-be"),
            "é\nzwei",
            "E\nZ",
            codecs.BOM_UTF16_BE + "E\r\nZ\r\n🙂\r\n".encode("utf-16-be"),
        ),
        # no final newline, text without line breaks in a CRLF file
        (b"k: v\r\nlast", "last", "end", b"k: v\r\nend"),
    ],
)
async def test_edit_keeps_endings_and_encoding(tmp_path, data, old, new, expected):
    out, text, err = await _edit(tmp_path, data, old, new)
    assert not err, text
    assert out == expected


@pytest.mark.parametrize(
    "data, old, problem",
    [
        ("café\n".encode("latin-1"), "caf", "not valid UTF-8"),
        (b"ok\n\xff\xfe broken\n", "ok", "not valid UTF-8"),
        (codecs.BOM_UTF32_LE + "x\n".encode("utf-32-le"), "x", "UTF-32"),
        (codecs.BOM_UTF32_BE + "x\n".encode("utf-32-be"), "x", "UTF-32"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8x\x00", "x", "not valid UTF-16"),  # lone surrogate
        (codecs.BOM_UTF16_LE + b"a\x00b", "a", "not valid UTF-16"),  # odd length
        (b"a\r\nb\na\nb\n", "a\nb", "occurs 2 times"),
        (b"abc\n", "", "empty"),
        (b"abc\n", "abd", "not found"),
    ],
)
async def test_edit_refuses_with_the_reason_and_changes_nothing(tmp_path, data, old, problem):
    out, text, err = await _edit(tmp_path, data, old, "new")
    assert err and problem in text and "\n" not in text
    assert out == data


async def test_edit_with_lone_surrogate_new_text_changes_nothing(tmp_path):
    out, text, err = await _edit(tmp_path, b"abc\r\n", "abc", "x\ud800y")
    assert err and "lone surrogate" in text and out == b"abc\r\n"
    text, err = await call(make_server(tmp_path), "write_file", path="f.txt", content="\udfff")
    assert err and (tmp_path / "f.txt").read_bytes() == b"abc\r\n"  # not truncated either


_line = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n§"), max_size=12)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    before=st.lists(st.tuples(_line, st.sampled_from(["\n", "\r\n", "\r"])), max_size=6),
    after=st.lists(st.tuples(_line, st.sampled_from(["\n", "\r\n", "\r"])), max_size=6),
    new=st.text(st.characters(blacklist_categories=["Cs"]), max_size=20),
    codec=st.sampled_from(["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be"]),
)
def test_bytes_outside_the_edited_span_are_the_files_own(before, after, new, codec):
    """Whatever surrounds the edit (any endings, any text), those bytes come back unchanged."""
    enc, bom = {
        "utf-8": ("utf-8", b""),
        "utf-8-bom": ("utf-8", codecs.BOM_UTF8),
        "utf-16-le": ("utf-16-le", codecs.BOM_UTF16_LE),
        "utf-16-be": ("utf-16-be", codecs.BOM_UTF16_BE),
    }[codec]
    head = "".join(a + b for a, b in before).encode(enc)
    tail = "".join(a + b for a, b in after).encode(enc)
    marker = "§MARK§"
    raw = bom + head + marker.encode(enc) + tail
    out = edit_bytes(raw, marker, new)
    assert out.startswith(bom + head) and out.endswith(tail)
    middle = out[len(bom + head) : len(out) - len(tail)]
    assert middle.decode(enc).replace("\r\n", "\n") == new.replace("\r\n", "\n")


async def test_read_file_decodes_bom_files_and_keeps_crlf(tmp_path):
    (tmp_path / "u16.txt").write_bytes(codecs.BOM_UTF16_LE + "héllo\r\nwörld\r\n".encode("utf-16-le"))
    (tmp_path / "bom8.txt").write_bytes(codecs.BOM_UTF8 + b"a\r\nb\r\n")
    server = make_server(tmp_path)
    assert await call(server, "read_file", path="u16.txt") == ("héllo\r\nwörld\r\n", False)
    assert await call(server, "read_file", path="u16.txt", start_line=2, end_line=2) == ("wörld\r\n", False)
    assert await call(server, "read_file", path="bom8.txt", start_line=1, end_line=1) == ("a\r\n", False)


# -- regular expressions -----------------------------------------------------------------------

CATASTROPHIC = [
    r"(a+)+$",
    r"(a|aa)+$",
    r"(a*)*b",
    r"(a|a?)+$",
    r"^(a+)+!x",
    r"(x+x+)+y",
    r"(.*a){25}$",
    r"^(([a-z])+.)+[A-Z]([a-z])+$",
    r"(\w+\s?)*$",
    r"((a+)*)+c",
]


@pytest.mark.timeout(120)  # a safety limit only: Python's re would run for hours on these
async def test_catastrophic_patterns_answer(tmp_path):
    (tmp_path / "evil.txt").write_text("a" * 5000 + "!\n" + "x" * 3000 + "\n" + "ab" * 2000 + "\n")
    server = make_server(tmp_path)
    for pattern in CATASTROPHIC:
        text, err = await call(server, "search_files", pattern=pattern)
        assert not err, (pattern, text)
    assert (await call(server, "search_files", pattern=r"a{3}!"))[0].startswith("evil.txt:1: ")


@pytest.mark.parametrize(
    "pattern, says",
    [
        (r"(a)\1", "no backreferences"),
        (r"(?=a)b", "no backreferences or lookaround"),
        (r"(?<!a)b", "lookaround"),
        (r"(?P<n>a)(?P=n)", "RE2"),
        (r"end\Z", "\\z"),
        ("[", "missing ]"),
        ("a{1001}", "invalid or unsupported"),
        ("((a{100}){100}){100}", "invalid or unsupported"),
        ("\ud800", "lone surrogate"),
        ("(?#comment)", "invalid or unsupported"),
    ],
)
async def test_patterns_re2_refuses_get_a_clear_error(tmp_path, pattern, says):
    (tmp_path / "f.txt").write_text("abc\n")
    text, err = await call(make_server(tmp_path), "search_files", pattern=pattern)
    assert err and says in text and "\n" not in text


# -- secret files --------------------------------------------------------------------------------

SECRETS = [
    ".ssh/id_rsa",
    ".ssh/config",
    ".gnupg/private-keys-v1.d/A1.key",
    "project/id_ed25519",
    "project/.env",
    "project/.env.production",
    "project/certs/server.pem",
    "project/tls/site.KEY",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".aws/credentials",
    ".config/gh/hosts.yml",
    ".npmrc",
    ".pypirc",
    ".kube/config",
    ".docker/config.json",
    "project/store.p12",
]
NOT_SECRETS = ["project/.env.example", ".ssh.txt", "project/id_rsa.pub", "project/README.md", "project/keys.py"]


@pytest.fixture
def home_ws(tmp_path):
    """A workspace that is the home directory, with the usual secrets in it."""
    home = tmp_path / "home"
    own = home / ".config" / "a2ia-tui"
    for rel in SECRETS + NOT_SECRETS:
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(f"TOKEN-{rel}\n")
    own.mkdir(parents=True)
    (own / "config.toml").write_text("api_key = 'TOKEN-own'\n")
    os.symlink(home / ".ssh" / "id_rsa", home / "project" / "notes.txt")  # a harmless name
    os.symlink(own / "config.toml", home / "project" / "settings.toml")
    rules = SecretRules(home, own=[tmp_path / "history.sqlite3"], own_dirs=[own])
    return home, build_server(Workspace(home), secrets=rules), rules


async def test_secret_reads_are_refused_without_include_secrets(home_ws):
    home, server, _ = home_ws
    tried = 0
    for rel in [*SECRETS, "project/notes.txt", "project/settings.toml"]:
        for path in (rel, str(home / rel), f"project/../{rel}"):
            text, err = await call(server, "read_file", path=path)
            assert err and "TOKEN" not in text and "include_secrets=true" in text, (path, text)
            text, err = await call(server, "read_file", path=path, start_line=1)
            assert err and "TOKEN" not in text
            tried += 2
    for rel in NOT_SECRETS:
        assert await call(server, "read_file", path=rel) == (f"TOKEN-{rel}\n", False)
    assert await call(server, "read_file", path=".ssh/id_rsa", include_secrets=True) == ("TOKEN-.ssh/id_rsa\n", False)


async def test_search_skips_secret_contents_and_counts_them(home_ws):
    _home, server, _ = home_ws
    text, err = await call(server, "search_files", pattern="TOKEN", path="project")
    assert not err
    assert "project/README.md:1:" in text and "project/.env.example:1:" in text
    for leaked in (
        ".env:",
        ".env.production:",
        "server.pem",
        "site.KEY",
        "id_ed25519:",
        "notes.txt",
        "settings.toml",
        "store.p12",
    ):
        assert leaked not in text, (leaked, text)
    assert "skipped the contents of 8 secret file(s)" in text
    text, _ = await call(server, "search_files", pattern="TOKEN", path=".ssh")
    assert "TOKEN" not in text.split("[skipped")[0] and "skipped the contents of 2" in text
    text, _ = await call(server, "search_files", pattern="TOKEN", path="project/.env")
    assert "skipped the contents of 1" in text
    text, _ = await call(server, "search_files", pattern="TOKEN", path="project", include_secrets=True)
    assert "project/.env:1:" in text and "skipped" not in text


def test_secret_rules_match_the_documented_patterns(home_ws, tmp_path):
    home, _, rules = home_ws
    for rel in SECRETS:
        assert rules.reason(home / rel), rel
    for rel in NOT_SECRETS:
        assert rules.reason(home / rel) is None, rel
    assert rules.reason(tmp_path / "history.sqlite3") and rules.reason(tmp_path / "history.sqlite3-wal")
    assert rules.reason(home / "project" / "notes.txt") == rules.reason(home / ".ssh" / "id_rsa")


# -- secret reads need approval, decided per call from the arguments -------------------------


@pytest.fixture
async def agent_home(tmp_path, monkeypatch):
    """HOME is the workspace (the case the issue reports); a real hub runs the built-in server."""
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.tools.hub import MCPHub

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("TOKEN-ssh\n")
    (home / ".env").write_text("TOKEN-env\n")
    (home / "README.md").write_text("TOKEN-readme\n")
    os.symlink(".ssh/id_rsa", home / "notes.txt")
    monkeypatch.setenv("HOME", str(home))
    settings = load_settings(env={"A2IA_TOOLS__WORKSPACE": str(home)}).settings
    hub = MCPHub({}, settings)
    await hub.start()
    assert hub.states()["a2ia"].status == "ready", hub.states()
    yield home, settings, hub
    await hub.aclose()


async def _turn(orch, calls, answer):
    from a2ia_tui.core.agent.conversation import Conversation
    from a2ia_tui.core.agent.events import ApprovalNeeded, ToolCallFinished
    from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply, tool_reply

    orch.client = ScriptedClient([tool_reply(*calls), text_reply("done")])
    conv = Conversation()
    conv.add_user("go")
    asked, done = [], {}
    async for ev in orch.run_turn(conv):
        if isinstance(ev, ApprovalNeeded):
            asked.append((ev.call.name, dict(ev.call.arguments), ev.reason))
            ev.future.set_result(answer)
        elif isinstance(ev, ToolCallFinished):
            done[ev.id] = (ev.result, ev.is_error)
    # in the order of the calls: calls of one reply run at once and may finish in any order
    ids = [c.id for e in conv.entries for c in e.message.tool_calls]
    return asked, [done[i] for i in ids if i in done]


async def test_secret_reads_ask_and_others_do_not(agent_home):
    from a2ia_tui.core.agent.events import Approval
    from a2ia_tui.core.agent.orchestrator import Orchestrator
    from a2ia_tui.core.llm.scripted import ScriptedClient

    home, settings, hub = agent_home
    orch = Orchestrator(ScriptedClient([]), hub, settings)
    asking = [
        ("read_file", {"path": ".env"}),
        ("read_file", {"path": str(home / ".env")}),
        ("read_file", {"path": "~/.ssh/id_rsa"}),
        ("read_file", {"path": ".ssh/../.ssh/id_rsa"}),
        ("read_file", {"path": "notes.txt"}),  # a link inside the workspace to a key
        ("read_file", {"path": "README.md", "include_secrets": True}),
        ("search_files", {"pattern": "TOKEN", "include_secrets": True}),
    ]
    for call in asking:
        asked, finished = await _turn(orch, [call], Approval.DENY)
        assert [a[2] for a in asked] == ["secret file"], call
        assert "TOKEN" not in finished[0][0] and finished[0][1]
        asked, finished = await _turn(orch, [call], Approval.ALLOW)
        assert len(asked) == 1 and not finished[0][1] and "TOKEN" in finished[0][0], (call, finished)
    # Not secrets: no question; search leaves the secrets' contents out and says so.
    asked, finished = await _turn(
        orch, [("read_file", {"path": "README.md"}), ("search_files", {"pattern": "TOKEN"})], Approval.DENY
    )
    assert asked == []
    assert finished[0] == ("TOKEN-readme\n", False)
    assert "TOKEN-env" not in finished[1][0] and "skipped the contents of 2 secret file(s)" in finished[1][0]


async def test_secret_always_never_override_and_no_one_to_ask(agent_home):
    from a2ia_tui.core.agent.events import Approval
    from a2ia_tui.core.agent.orchestrator import Orchestrator
    from a2ia_tui.core.llm.scripted import ScriptedClient

    _home, settings, hub = agent_home
    orch = Orchestrator(ScriptedClient([]), hub, settings)
    asked, _ = await _turn(orch, [("read_file", {"path": "README.md"})], Approval.ALWAYS)
    assert asked == []
    orch.approvals.allow_for_session("read_file")  # "always" given for plain reads covers no secret
    asked, _ = await _turn(orch, [("read_file", {"path": ".env"})], Approval.ALWAYS)
    assert len(asked) == 1
    asked, finished = await _turn(orch, [("read_file", {"path": "notes.txt"})], Approval.DENY)
    assert asked == [] and finished[0] == ("TOKEN-ssh\n", False)  # "always" for secret reads now
    orch2 = Orchestrator(ScriptedClient([]), hub, settings)
    orch2.interactive = False
    asked, finished = await _turn(orch2, [("read_file", {"path": ".env"})], Approval.ALLOW)
    assert asked == [] and finished[0][1] and "TOKEN" not in finished[0][0]
    settings.tools.approval = "never"
    asked, finished = await _turn(
        Orchestrator(ScriptedClient([]), hub, settings), [("read_file", {"path": ".env"})], Approval.DENY
    )
    assert asked == [] and finished[0] == ("TOKEN-env\n", False)
    settings.tools.overrides["read_file"] = "deny"
    asked, finished = await _turn(
        Orchestrator(ScriptedClient([]), hub, settings), [("read_file", {"path": ".env"})], Approval.ALLOW
    )
    assert asked == [] and finished[0][1] and "TOKEN" not in finished[0][0]


@pytest.mark.parametrize(
    "arguments",
    [
        {"path": "\ud800"},
        {"path": "\udcff/x"},
        {"path": "x" * 5000},
        {"path": ["a"]},
        {"path": None},
        {},
        {"path": 7},
        {"path": ".env", "include_secrets": "yes"},
        {"path": "a\x00b"},
        {"path": "~nobody-here/.env"},
    ],
)
def test_policy_judges_hostile_arguments_without_raising(tmp_path, arguments):
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.tools.approval import ApprovalPolicy

    policy = ApprovalPolicy(
        load_settings(env={"A2IA_TOOLS__WORKSPACE": str(tmp_path)}).settings.tools, secrets=SecretRules(tmp_path)
    )
    decision, _ = policy.decide("read_file", original="read_file", arguments=arguments, builtin=True)
    assert decision in ("allow", "ask")
    # Another server's tool of the same name is not judged by the built-in server's rules.
    assert policy.decide("read_file", original="read_file", arguments={"path": ".env"}, builtin=False)[0] == "allow"


# -- a workspace that is $HOME or / is warned about at start ----------------------------------


def test_broad_root_warning(tmp_path):
    from a2ia_tui.core.tools.workspace import broad_root_warning

    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    os.symlink(home, tmp_path / "home-alias")
    assert "home directory" in broad_root_warning(home, home=home)
    assert "home directory" in broad_root_warning(tmp_path / "home-alias", home=home)  # another spelling
    assert "home directory" in broad_root_warning(str(home) + "/project/..", home=home)
    assert "root of the filesystem" in broad_root_warning("/", home=home)
    assert "root of the filesystem" in broad_root_warning("/..//", home=home)
    assert broad_root_warning(home / "project", home=home) is None
    assert broad_root_warning(tmp_path, home=home) is None  # above home: not the case reported
    weird = tmp_path / "h\x1b[2Jome"
    weird.mkdir()
    assert "\x1b" not in broad_root_warning(weird, home=weird)


def test_cli_warns_on_stderr_when_the_workspace_is_home(tmp_path):
    import subprocess

    from tests.fakes.llm_server import FakeLLMServer, Reply

    home = tmp_path / "home"
    home.mkdir()
    for ws, warned in ((home, True), (home / "proj", False)):
        ws.mkdir(exist_ok=True)
        with FakeLLMServer("vllm", [Reply(text="hi")]).threaded() as srv:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "a2ia_tui.cli",
                    "--backend",
                    "vllm",
                    "--vllm-url",
                    srv.url,
                    "--model",
                    "m",
                    "-p",
                    "hi",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ws,
                env={**os.environ, "HOME": str(home), "A2IA_HOME": str(tmp_path / "a2ia")},
            )
        assert proc.returncode == 0, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if "workspace is your home directory" in ln]
        assert len(lines) == (1 if warned else 0), proc.stderr
        assert proc.stdout.strip() == "hi"


async def test_tui_trace_pane_shows_the_warning(tmp_path, monkeypatch):
    from tests.helpers.app import MiniHub, build_app, wait_for

    monkeypatch.setenv("HOME", str(tmp_path))
    app, _ = build_app(hub=MiniHub(), flags={"tools.workspace": str(tmp_path)})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.trace.notes == 1)
        await pilot.pause()
        shown = [str(w.render()) for w in app.trace.query(".note")]
        assert len(shown) == 1 and "home directory" in shown[0]
        await app.trace.clear()  # a new chat: the warning stays
        assert len(app.trace.query(".note")) == 1


# -- the descriptor walk against the kernel's own resolution ------------------------------------

_COMPONENTS = ["a", "b", "l1", "l2", "l3", "..", ".", "f.txt", "outside", "secret.txt", ""]
_TARGETS = [
    "..",
    "../..",
    "../../outside",
    "a",
    "b",
    "../a/b",
    "l1",
    "a/l2",
    "x/../..",
    "f.txt",
    "../f.txt",
    "b/../../outside/secret.txt",
    "{root}/a",
    "{root}/../outside",
    "{root}/a/b/f.txt",
    "/",
    "{root}/l1",
]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    links=st.tuples(*(st.sampled_from(_TARGETS) for _ in range(3))),
    path=st.lists(st.sampled_from(_COMPONENTS), min_size=1, max_size=7).map("/".join),
    absolute=st.booleans(),
)
def test_the_walk_never_leaves_and_agrees_with_realpath(links, path, absolute):
    """Random link targets (inside, outside, loops, absolute) and random paths: what the walk
    opens is inside the root, and is exactly what the kernel's resolution (realpath) names."""
    import tempfile

    from a2ia_tui.core.errors import WorkspaceError

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(os.path.realpath(tmp)) / "ws"
        (root / "a" / "b").mkdir(parents=True)
        (root / "f.txt").write_text("in")
        (root / "a" / "b" / "f.txt").write_text("in")
        (root.parent / "outside").mkdir()
        (root.parent / "outside" / "secret.txt").write_text("OUTSIDE")
        for where, target in zip(("l1", "a/l2", "a/b/l3"), links, strict=True):
            os.symlink(target.format(root=root), root / where)
        asked = str(root / path) if absolute else path
        try:
            opened = Workspace(root).open(asked, want="any")
        except (WorkspaceError, OSError):
            return
        try:
            assert opened.path == root or root in opened.path.parents
            assert Path(os.path.realpath(root / path)) == opened.path
            assert os.path.samestat(os.fstat(opened.fd), os.stat(opened.path))
            if not opened.is_dir:
                assert os.read(opened.fd, 100) == b"in"
        finally:
            os.close(opened.fd)


async def test_a_configured_history_database_and_settings_file_are_secrets(tmp_path):
    """history.path and the settings file named with --config may lie anywhere, even inside the
    workspace: both the server (over stdio) and the approval policy know them."""
    from a2ia_tui.core.agent.events import Approval
    from a2ia_tui.core.agent.orchestrator import Orchestrator
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.llm.scripted import ScriptedClient
    from a2ia_tui.core.tools.hub import MCPHub

    (tmp_path / "chats.sqlite3").write_text("TOKEN-history")
    (tmp_path / "chats.sqlite3-wal").write_text("TOKEN-wal")
    config = tmp_path / "my-a2ia.toml"
    config.write_text(f'[history]\npath = "{tmp_path / "chats.sqlite3"}"\n[tools]\nworkspace = "{tmp_path}"\n')
    loaded = load_settings(str(config), env={})
    async with MCPHub({}, loaded.settings, config_file=loaded.config_file_used) as hub:
        for path in ("chats.sqlite3", "chats.sqlite3-wal", "my-a2ia.toml"):
            result = await hub.call("read_file", {"path": path})
            assert result.is_error and "TOKEN" not in result.text and "include_secrets" in result.text, result.text
        orch = Orchestrator(ScriptedClient([]), hub, loaded.settings)
        asked, finished = await _turn(orch, [("read_file", {"path": "chats.sqlite3"})], Approval.ALLOW)
        assert [a[2] for a in asked] == ["secret file"] and finished[0] == ("TOKEN-history", False)


@pytest.mark.timeout(120)  # a safety limit only
async def test_degenerate_paths_answer_with_one_line(tmp_path):
    (tmp_path / "f.txt").write_text("in")
    server = make_server(tmp_path)
    assert await call(server, "read_file", path="./" * 200_000 + "f.txt") == ("in", False)
    assert await call(server, "read_file", path="//" * 50_000 + str(tmp_path / "f.txt")) == ("in", False)
    (tmp_path / "sub").mkdir()
    # many names, then many "." (each "is this the last component?" must not rescan the rest)
    text, err = await call(server, "list_directory", path="sub/../" * 30_000 + "./" * 30_000)
    assert not err and "f.txt" in text
    for path in ("x" * 300, "a/" * 3000 + "f.txt", "../" * 100_000, "f.txt/", "f.txt/.", "", "f.txt/x"):
        text, err = await call(server, "read_file", path=path)
        assert err and "\n" not in text and len(text) < 600, (path[:20], text[:100])


async def test_search_globs_hidden_trees_and_binary_files(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "m.py").write_text("hit\n")
    (tmp_path / "top.py").write_text("hit\n")
    (tmp_path / "x.txt").write_text("hit\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("hit\n")
    (tmp_path / "blob.bin").write_bytes(b"hit\n\xff\xfe\x00")
    server = make_server(tmp_path)

    async def files(**args):
        text, err = await call(server, "search_files", pattern="hit", **args)
        assert not err, text
        return sorted(line.split(":")[0] for line in text.splitlines() if ":" in line)

    assert await files() == ["src/pkg/m.py", "top.py", "x.txt"]
    assert await files(glob="*.py") == await files(glob="**/*.py") == ["src/pkg/m.py", "top.py"]
    assert await files(glob="pkg/*.py") == ["src/pkg/m.py"]
    assert await files(path=".git") == [".git/config"]  # asked for by name: searched

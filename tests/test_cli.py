"""a2ia-cli end to end: the installed entry point against a loopback OpenAI-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.helpers.term import CLI, Term


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env={**os.environ, **env}, input=stdin, timeout=120
    )


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "facts.txt").write_text("The launch code is 7-7-Ünïcode.\n", encoding="utf-8")
    return ws


def test_prompt_mode_runs_a_tool_call_and_prints_the_answer(workspace):
    replies = [Reply(tool_calls=[("read_file", {"path": "facts.txt"})]), Reply(text="The code is 7-7-Ünïcode.")]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        proc = run_cli(
            "--backend",
            "vllm",
            "--vllm-url",
            srv.url,
            "--model",
            "fake-model",
            "-p",
            "What is the code?",
            env={"A2IA_TOOLS__WORKSPACE": str(workspace)},
        )
        bodies = [r.body for r in srv.requests if r.path == "/v1/chat/completions"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "The code is 7-7-Ünïcode."
    assert "→ read_file" in proc.stderr and "✓ read_file" in proc.stderr
    # the tool result went back to the model as a role "tool" message with the call's id
    tool_msg = bodies[1]["messages"][-1]
    assert tool_msg["role"] == "tool" and "7-7-Ünïcode" in tool_msg["content"]
    assert tool_msg["tool_call_id"] == bodies[1]["messages"][-2]["tool_calls"][0]["id"]


def test_prompt_from_stdin_and_destructive_call_declined_without_yes(workspace):
    replies = [
        Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "pwned"})]),
        Reply(text="Could not write."),
    ]
    with FakeLLMServer("openai", replies).threaded() as srv:
        env = {
            "A2IA_TOOLS__WORKSPACE": str(workspace),
            "A2IA_BACKENDS__LM__KIND": "openai",
            "A2IA_BACKENDS__LM__BASE_URL": srv.url,
        }
        proc = run_cli("--backend", "lm", "--model", "fake-model", "-p", "-", env=env, stdin="write it")
    assert proc.returncode == 0, proc.stderr
    assert not (workspace / "x.txt").exists()
    assert "declined" in proc.stderr


def test_yes_approves(workspace):
    replies = [Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "ok"})]), Reply(text="Written.")]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        proc = run_cli(
            "--backend",
            "vllm",
            "--vllm-url",
            srv.url,
            "--model",
            "fake-model",
            "--yes",
            "-p",
            "write",
            env={"A2IA_TOOLS__WORKSPACE": str(workspace)},
        )
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "x.txt").read_text() == "ok"


def test_backend_failure_is_one_line_and_nonzero(workspace):
    with FakeLLMServer(
        "vllm",
        [
            Reply(
                status=500,
                error_body={
                    "error": {"message": "CUDA error: device-side assert", "type": "InternalServerError", "code": 500}
                },
            )
        ],
    ).threaded() as srv:
        proc = run_cli(
            "--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model", "--no-tools", "-p", "hi", env={}
        )
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == ["a2ia-cli: HTTP 500: CUDA error: device-side assert"], proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_backend(tmp_path):
    proc = run_cli(
        "--backend", "vllm", "--vllm-url", "http://127.0.0.1:9/v1", "--model", "m", "--no-tools", "-p", "hi", env={}
    )
    assert proc.returncode == 1 and "cannot reach http://127.0.0.1:9/v1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_missing_mcp_servers_file_is_a_configuration_error(tmp_path):
    absent = tmp_path / "absent.json"
    proc = run_cli(
        "--backend",
        "vllm",
        "--vllm-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--mcp-config",
        str(absent),
        "-p",
        "hi",
        env={"A2IA_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"a2ia: configuration error: {absent}: file not found"]


# -- interactive, in a real pseudo-terminal ---------------------------------------------------


@pytest.fixture
def term_factory():
    terms: list[Term] = []

    def make(args: list[str], env: dict[str, str]) -> Term:
        terms.append(Term(args, env))
        return terms[-1]

    yield make
    for t in terms:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


def test_interactive_tools_approvals_always_and_commands(workspace, term_factory):
    replies = [
        Reply(tool_calls=[("write_file", {"path": "a.txt", "content": "one"})]),
        Reply(text="Wrote a."),
        Reply(tool_calls=[("write_file", {"path": "b.txt", "content": "two"})]),
        Reply(text="Wrote b."),
        Reply(tool_calls=[("edit_file", {"path": "a.txt", "old_text": "one", "new_text": "uno"})]),
        Reply(text="Left it."),
    ]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        t = term_factory(
            ["--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model"],
            {"A2IA_TOOLS__WORKSPACE": str(workspace)},
        )
        t.expect("vllm> ")
        t.send("/tools")
        listing = t.expect("vllm> ")
        assert "read_file" in listing and "run_command" in listing and "asks first" in listing
        t.send("write a")
        t.expect("Allow? [y]es / [n]o / [a]lways for this tool: ")
        t.send("a")  # always, for this session: confirmed by a second question
        t.expect("Run write_file without asking again in this session? [y/N]: ")
        t.send("y")
        assert "Wrote a." in t.expect("vllm> ")
        t.send("write b")  # same tool: no question this time
        shown = t.expect("vllm> ")
        assert "Wrote b." in shown and "Allow?" not in shown
        t.send("edit a")  # another destructive tool: asks; declined
        t.expect("Allow? [y]es / [n]o / [a]lways for this tool: ")
        t.send("n")
        assert "declined" in t.expect("vllm> ")
        t.send("/model other-model")
        assert "model: other-model" in t.expect("vllm> ")
        t.send("/backend nosuch")
        assert "no backend named 'nosuch'" in t.expect("vllm> ")
        t.send("/clear")
        assert "conversation cleared" in t.expect("vllm> ")
        t.send("/quit")
        assert t.close() == 0
    assert (workspace / "a.txt").read_text() == "one" and (workspace / "b.txt").read_text() == "two"
    models = [r.body.get("model") for r in srv.requests if r.path == "/v1/chat/completions"]
    assert models[:6] == ["fake-model"] * 6


def test_interactive_ctrl_c_cancels_the_answer_then_the_next_turn_works(workspace, term_factory):
    slow = Reply(text=" ".join(f"word{i}" for i in range(400)), tokens_per_s=20)
    with FakeLLMServer("vllm", [slow, Reply(text="second answer")]).threaded() as srv:
        t = term_factory(["--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model", "--no-tools"], {})
        t.expect("vllm> ")
        t.send("tell me a long story")
        t.expect("word3")
        t.interrupt()
        t.expect("[cancelled]")
        t.expect("vllm> ")
        t.send("again")
        assert "second answer" in t.expect("vllm> ")
        t.interrupt()  # at the prompt: asks for a second one
        t.expect("Ctrl-C again to quit")
        t.interrupt()
        assert t.close() == 0
        bodies = [r.body for r in srv.requests if r.path == "/v1/chat/completions"]
    # the interrupted partial answer stayed in the conversation the second request carried
    second = bodies[1]["messages"]
    assert second[0]["content"] == "tell me a long story" and second[1]["role"] == "assistant"
    assert second[1]["content"].startswith("word0 word1") and second[-1]["content"] == "again"


def test_interactive_ctrl_c_at_the_approval_question_declines_and_cancels(workspace, term_factory):
    replies = [Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "no"})]), Reply(text="after")]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        t = term_factory(
            ["--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model"],
            {"A2IA_TOOLS__WORKSPACE": str(workspace)},
        )
        t.expect("vllm> ")
        t.send("write x")
        t.expect("Allow? [y]es / [n]o / [a]lways for this tool: ")
        t.interrupt()
        t.expect("[cancelled]")
        t.expect("vllm> ")
        t.send("next")
        assert "after" in t.expect("vllm> ")
        t.send("/quit")
        assert t.close() == 0
        bodies = [r.body for r in srv.requests if r.path == "/v1/chat/completions"]
    assert not (workspace / "x.txt").exists()
    # the history stayed valid: the call got a result message before the next user turn
    msgs = bodies[1]["messages"]
    assert [m["role"] for m in msgs[-3:]] == ["assistant", "tool", "user"], msgs


def test_without_a_model_the_servers_own_is_used(tmp_path):
    """The vllm backend has no model by default (a vLLM server serves one): with no --model the
    CLI asks the server, as the app does, instead of failing with "no model chosen"."""
    with FakeLLMServer("vllm", [Reply(text="Hello.")], models=["Qwen/Qwen2.5-7B-Instruct-AWQ"]).threaded() as srv:
        proc = run_cli("--backend", "vllm", "--vllm-url", srv.url, "--no-tools", "-p", "hi", env={})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Hello."
    models = [r.body.get("model") for r in srv.requests if r.path == "/v1/chat/completions"]
    assert models == ["Qwen/Qwen2.5-7B-Instruct-AWQ"]


def test_disabled_tools_are_not_offered_and_an_unknown_name_is_a_note(tmp_path, workspace):
    import json

    mcp = tmp_path / "mcp.json"
    toy = Path(__file__).resolve().parent / "fakes" / "mcp_servers" / "toy_server.py"
    entry = {"command": sys.executable, "args": [str(toy)], "disabledTools": ["echo", "nosuch"]}
    mcp.write_text(json.dumps({"mcpServers": {"toy": entry}}), encoding="utf-8")
    with FakeLLMServer("vllm", [Reply(text="fine")]).threaded() as srv:
        proc = run_cli(
            *("--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model"),
            *("--mcp-config", str(mcp), "-p", "hi"),
            env={"A2IA_TOOLS__WORKSPACE": str(workspace)},
        )
        offered = {t["function"]["name"] for t in srv.requests[-1].body.get("tools", [])}
    assert proc.returncode == 0, proc.stderr
    assert "add" in offered and "echo" not in offered
    assert "MCP server toy: disabledTools names no tool of this server: 'nosuch'" in proc.stderr


def test_chat_flags_are_sent_exactly_and_unset_ones_are_not(workspace):
    with FakeLLMServer("vllm", [Reply(text="one"), Reply(text="two")]).threaded() as srv:
        base = ("--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model", "--no-tools")
        proc = run_cli(
            *base,
            *("--system", "Answer in French.", "--temperature", "0.3", "--top-p", "0.8", "--max-tokens", "50"),
            *("-p", "hi"),
            env={"A2IA_AGENT__TEMPERATURE": "1.5", "A2IA_AGENT__SYSTEM_PROMPT": "from config"},
        )
        assert proc.returncode == 0, proc.stderr
        body = srv.requests[-1].body
        assert body["temperature"] == 0.3 and body["top_p"] == 0.8 and body["max_tokens"] == 50
        assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
        proc = run_cli(*base, "-p", "hi", env={})
        assert proc.returncode == 0, proc.stderr
        body = srv.requests[-1].body
        assert not {"temperature", "top_p", "max_tokens"} & body.keys()


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [("--temperature", "3", "3.0 is outside 0..2"), ("--top-p", "-1", "-1.0 is outside 0..1")],
)
def test_a_chat_flag_out_of_range_is_one_line_and_exit_2(flag, value, problem):
    proc = run_cli("--backend", "vllm", "--vllm-url", "http://127.0.0.1:9/v1", flag, value, "-p", "hi", env={})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"a2ia: configuration error: command line: {flag}: {problem}"]

"""Pilot tests: send and stream, tool calls with approval, cancel, hot-swap, reopen, export, keys."""

from __future__ import annotations

import asyncio

import pytest

from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.tui.widgets.messages import AssistantMessage, NoteMessage, UserMessage
from a2ia_tui.tui.widgets.prompt import Prompt
from a2ia_tui.tui.widgets.trace import TraceItem
from tests.helpers.app import MiniHub, approval_with_keys, build_app, idle, send, wait_for

pytestmark = pytest.mark.timeout(60)


async def test_send_a_message_and_see_it_stream() -> None:
    answer = "# Title\n\nSome **bold** text.\n\n```python\nprint('hi')\n```\n"
    app, clients = build_app({"vllm": [text_reply(answer, delay_s=0.005)]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hello there")
        await wait_for(pilot, lambda: app.query(AssistantMessage))
        await wait_for(pilot, lambda: idle(app))
        msg = app.query_one(AssistantMessage)
        assert msg.text == answer
        assert msg.status == "complete"
        assert [u.text for u in app.query(UserMessage)] == ["hello there"]
        assert clients["vllm"].calls[0].messages[-1].content == "hello there"
        # the rendered markdown has the code block
        assert msg.markdown.text == answer and any("```" in b for b in msg.markdown.blocks)
        assert app.services.store is not None
        entries = app.services.store.load(app.conversation.id).entries
        assert [e.message.role for e in entries] == ["user", "assistant"]
        assert entries[1].message.content == answer
        assert "vllm:vllm-model" in str(app.query_one("#status").render())


async def test_tool_call_approved() -> None:
    hub = MiniHub()
    app, _ = build_app({"vllm": [tool_reply(("notes__delete", {"path": "a.txt"})), text_reply("Deleted.")]}, hub=hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "delete a.txt")
        item = await approval_with_keys(pilot)
        assert item.state == "approval"
        await pilot.press("y")
        await wait_for(pilot, lambda: idle(app))
        assert hub.called == [("notes__delete", {"path": "a.txt"})]
        assert item.state == "ok"
        # the reply that was only a tool call left no empty answer behind
        assert [m.text for m in app.query(AssistantMessage)] == ["Deleted."]
        assert app.services.store is not None
        roles = [e.message.role for e in app.services.store.load(app.conversation.id).entries]
        assert roles == ["user", "assistant", "tool", "assistant"]
        assert app.focused is app.query_one("#prompt")


async def test_the_status_bar_is_not_streaming_while_a_tool_waits_for_approval(monkeypatch) -> None:
    """The reply before the call streamed (▶); while the call waits for a yes nothing streams,
    and the answer after it streams again."""
    hub = MiniHub()
    answer = text_reply("Deleted it, as asked.", delay_s=0.02)
    app, _ = build_app(
        {"vllm": [tool_reply(("notes__delete", {"path": "a.txt"}), text="I will delete it."), answer]}, hub=hub
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "delete a.txt")
        await approval_with_keys(pilot)
        assert app.status.fields["streaming"] is False and "▶" not in app.status.render_text()
        seen: list[bool] = []
        real = app.status.set

        def watching(*args, **changes):
            if "streaming" in changes:
                seen.append(changes["streaming"])
            return real(*args, **changes)

        monkeypatch.setattr(app.status, "set", watching)
        await pilot.press("y")
        await wait_for(pilot, lambda: idle(app))
        assert seen[0] is True and seen[-1] is False  # the answer streamed, then the turn ended


async def test_an_approval_shows_a_hidden_trace() -> None:
    """The request and its y / n keys are in the trace: hidden (ctrl+t, or the sidebar asked for
    in an 80-column terminal), the turn waited for an answer nobody could see."""
    hub = MiniHub()
    for size, hide in (((120, 40), "ctrl+t"), ((80, 24), "ctrl+b")):
        app, _ = build_app(
            {"vllm": [tool_reply(("notes__delete", {"path": "a.txt"})), text_reply("Deleted.")]}, hub=hub
        )
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None)
            await pilot.press(hide)
            await pilot.pause()
            assert not app.trace.display
            await send(pilot, "delete a.txt")
            item = await approval_with_keys(pilot)
            assert app.trace.display and app.query_one("#right").display
            await pilot.press("y")
            await wait_for(pilot, lambda: idle(app))
            assert item.state == "ok"


async def test_a_message_sent_while_mcp_servers_start_waits_for_their_tools() -> None:
    """Sent in the first seconds after launch, while the built-in MCP server is still starting,
    a message went out without tools (and a tool call came back to "unknown tool"). It now
    waits for the servers, says so in the status bar, and goes out with their tools."""

    class StartingHub(MiniHub):
        def __init__(self) -> None:
            super().__init__()
            self.up = asyncio.Event()

        def states(self):
            from a2ia_tui.core.tools.hub import ServerState

            return {"notes": ServerState("notes", "ready" if self.up.is_set() else "starting", tool_count=2)}

        def tools(self):
            return super().tools() if self.up.is_set() else []

        def specs(self):
            return super().specs() if self.up.is_set() else []

        async def start(self, wait: bool = True) -> None:  # as MCPHub.start: until every server is up
            await self.up.wait()

    hub = StartingHub()
    app, clients = build_app({"vllm": [text_reply("With tools.")]}, hub=hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        # Escape stops the wait like any answer: the question stays, nothing went out
        await send(pilot, "first")
        await wait_for(
            pilot, lambda: "waiting for MCP servers to start: notes" in str(app.query_one("#status").render())
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: idle(app))
        assert not clients["vllm"].calls
        assert [m.status for m in app.query(AssistantMessage)] == ["interrupted"]
        assert "waiting for MCP" not in str(app.query_one("#status").render())
        await send(pilot, "read a.txt")
        await wait_for(
            pilot, lambda: "waiting for MCP servers to start: notes" in str(app.query_one("#status").render())
        )
        assert not clients["vllm"].calls  # nothing went out yet
        hub.up.set()
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage).last().text == "With tools.")
        tools = clients["vllm"].calls[0].tools
        assert tools is not None and {t.name for t in tools} == {"notes__read", "notes__delete"}
        assert "waiting for MCP" not in str(app.query_one("#status").render())


async def test_tool_call_declined_and_always() -> None:
    hub = MiniHub()
    script = [
        tool_reply(("notes__delete", {"path": "a"})),
        text_reply("OK, not deleted."),
        tool_reply(("notes__delete", {"path": "b"})),
        text_reply("b deleted."),
        tool_reply(("notes__delete", {"path": "c"})),
        text_reply("c deleted."),
    ]
    app, _ = build_app({"vllm": script}, hub=hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "delete a")
        await approval_with_keys(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: idle(app))
        assert hub.called == []
        first = next(iter(app.trace.items.values()))
        assert first.state == "declined"
        await send(pilot, "delete b")
        await approval_with_keys(pilot)
        await pilot.press("a")  # "always" asks for a confirmation: Tab to "Always allow", Enter
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AlwaysAllowScreen")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: idle(app))
        await send(pilot, "delete c")
        await wait_for(pilot, lambda: idle(app) and len(hub.called) == 2)
        assert [a["path"] for _, a in hub.called] == ["b", "c"]  # c ran without asking


async def test_read_only_tool_runs_and_shows_result() -> None:
    hub = MiniHub()
    app, _ = build_app({"vllm": [tool_reply(("notes__read", {"path": "n"})), text_reply("Five lines.")]}, hub=hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "read n")
        await wait_for(pilot, lambda: idle(app))
        item = app.query_one(TraceItem)
        assert item.state == "ok"
        assert "line one" in str(item.query_one(".preview").render())
        assert item.query(".full")  # expandable full result


async def test_escape_cancels_and_keeps_partial() -> None:
    app, _clients = build_app({"vllm": [text_reply("word " * 2000, delay_s=0.01), text_reply("next answer")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "long please")
        await wait_for(pilot, lambda: app.query(AssistantMessage) and app.query_one(AssistantMessage).text)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.turn_running)
        msg = app.query_one(AssistantMessage)
        assert msg.status == "interrupted"
        assert msg.query(".mark")
        assert app.services.store is not None
        saved = app.services.store.load(app.conversation.id).entries
        assert saved[-1].meta.status == "interrupted" and saved[-1].message.content.startswith("word")
        # no usage came: what streamed is counted, the prompt is unknown (not "ctx 0/N")
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "in ? / out " in status and "ctx ?/" in status and "out 0 " not in status, status
        await send(pilot, "again")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        assert app.query(AssistantMessage)[-1].text == "next answer"


async def test_the_answer_shows_before_its_first_token() -> None:
    """The answer (its backend:model header) is mounted when the request goes out, so the wait
    for the first token shows that an answer is coming; the text then streams into it."""
    app, _ = build_app({"vllm": [text_reply("late", delay_s=0.5)]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.query(AssistantMessage))
        msg = app.query_one(AssistantMessage)
        assert msg.empty and not msg.streaming and app.turn_running
        assert str(msg.query_one(".header").render()) == "vllm:vllm-model"
        await wait_for(pilot, lambda: idle(app))
        assert [m.text for m in app.query(AssistantMessage)] == ["late"]
        assert msg.status == "complete" and msg.markdown.blocks == ["late"]


async def test_the_request_goes_out_before_the_widgets_are_built(monkeypatch) -> None:
    """The question and the answer's widget are mounted while the server prepares its first
    token, not before the request is sent."""
    app, _ = build_app({"vllm": [text_reply("ok")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        assert app.orchestrator is not None
        client = app.orchestrator.client
        real = client.stream_chat
        seen: list[tuple[int, int]] = []

        def recording(*args, **kwargs):
            seen.append((len(app.query(UserMessage)), len(app.query(AssistantMessage))))
            return real(*args, **kwargs)

        monkeypatch.setattr(client, "stream_chat", recording)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        assert seen == [(0, 0)]
        assert [m.text for m in app.query(UserMessage)] == ["hi"]
        assert [m.text for m in app.query(AssistantMessage)] == ["ok"]


async def test_cancel_before_the_first_token() -> None:
    """Escape while waiting for the first token: the answer is marked interrupted, as the saved
    conversation (which keeps the interrupted step) shows it when reopened."""
    app, _ = build_app({"vllm": [text_reply("never seen", delay_s=5)]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.query(AssistantMessage))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.turn_running)
        msg = app.query_one(AssistantMessage)
        assert msg.status == "interrupted" and msg.text == "" and msg.query(".mark")
        assert app.services.store is not None
        saved = app.services.store.load(app.conversation.id).entries
        assert saved[-1].message.role == "assistant" and saved[-1].meta.status == "interrupted"


async def test_swap_backends_mid_conversation() -> None:
    app, clients = build_app({"vllm": [text_reply("from vllm")], "ollama": [text_reply("from ollama")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "one")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        from a2ia_tui.tui.messages import SelectBackend

        app.post_message(SelectBackend("ollama"))
        await wait_for(pilot, lambda: app.backend == "ollama")
        assert any("Switched to ollama" in n.text for n in app.query(NoteMessage))
        await send(pilot, "two")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        # the conversation carried over to the new backend
        sent = [m.content for m in clients["ollama"].calls[0].messages if m.role != "system"]
        assert sent == ["one", "from vllm", "two"]
        headers = [str(m.query_one(".header").render()) for m in app.query(AssistantMessage)]
        assert headers == ["vllm:vllm-model", "ollama:ollama-model"]


async def test_swap_during_a_turn_asks_first() -> None:
    app, _clients = build_app({"vllm": [text_reply("word " * 3000, delay_s=0.01)], "ollama": []})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "long")
        await wait_for(pilot, lambda: app.query(AssistantMessage) and app.query_one(AssistantMessage).text)
        app.switch_backend("ollama")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press("n")  # keep the turn
        await pilot.pause(0.1)
        assert app.turn_running and app.backend == "vllm"
        app.switch_backend("ollama")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.backend == "ollama")
        assert not app.turn_running
        assert app.query_one(AssistantMessage).status == "interrupted"


async def test_offline_backend_needs_confirmation() -> None:
    app, _ = build_app({}, healthy={"ollama": False})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        app.switch_backend("ollama")
        # a loaded machine can show the modal screen a frame before its children are mounted
        await wait_for(pilot, lambda: app.screen.is_modal and bool(app.screen.query("Label")))
        label = app.screen.query_one("Label")
        await wait_for(pilot, lambda: label.region.height > 0)
        # the reason once (a health check's reason starts "offline: "), whole: the question wraps
        assert (
            str(label.render())
            == "ollama is offline: connection refused (is the server running?). Switch to it anyway?"
        )
        assert label.region.height > 1 and label.region.right <= app.screen.query_one("Vertical").content_region.right
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.is_modal)
        assert app.backend == "vllm"


def late_server_app(replies: list, models: tuple[str, ...]):
    """An app on the vllm backend, configured without a model, whose server is down (health,
    model list) until ``server["up"]`` is set: an engine started after the app. Returns the app,
    that switch, and every client made."""
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.errors import BackendUnreachable
    from a2ia_tui.core.llm.scripted import ScriptedClient
    from a2ia_tui.core.llm.types import Health
    from a2ia_tui.tui.app import A2IAApp
    from a2ia_tui.tui.services import AppServices

    server = {"up": False}
    made: list[ScriptedClient] = []

    class LateServer(ScriptedClient):
        async def health(self):
            return Health(ok=server["up"], detail="ready" if server["up"] else "offline: connection refused")

        async def list_models(self):
            if not server["up"]:
                raise BackendUnreachable("http://127.0.0.1:8000/v1", "connection refused")
            return await super().list_models()

    def make_client(name: str, model: str | None) -> ScriptedClient:
        made.append(LateServer(list(replies), name=name, model=model, models=models))
        return made[-1]

    services = AppServices(
        loaded=load_settings(),
        make_client=make_client,
        initial_backend="vllm",
        extras={"animate": False, "no_metrics": True, "cursor_blink": False},
    )
    return A2IAApp(services), server, made


async def test_a_backend_offline_at_start_gets_its_model_once_it_answers() -> None:
    """Started with the server down (an engine not yet running) and no model configured, the
    backend has no model; once the server is up, the first message asks it which model it serves
    (the request went out without a model, and vLLM refused it)."""
    app, server, _ = late_server_app([text_reply("Served.")], ("served-model",))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        assert app.orchestrator.client.model is None
        server["up"] = True
        await send(pilot, "hello")
        await wait_for(pilot, lambda: idle(app) and bool(app.query(AssistantMessage)))
        assert app.orchestrator.client.calls[0].model == "served-model"
        assert app.query_one(AssistantMessage).text == "Served."
        assert "vllm:served-model" in str(app.query_one("#status").render())


async def test_a_backend_offline_at_start_shows_its_model_as_soon_as_it_is_up() -> None:
    """Started with the server down and no model configured: once a health check finds the
    server up (its engine has started), the status bar and the model picker show the model the
    chat will use, before any question."""
    from a2ia_tui.tui.widgets.sidebar import Sidebar

    app, server, made = late_server_app([], ("served-model", "other-model"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        sidebar = app.query_one(Sidebar)
        await wait_for(pilot, lambda: sidebar.health.get("vllm", (True,))[0] is False)
        assert app.orchestrator.client.model is None
        assert "served-model" not in str(app.query_one("#status").render())
        server["up"] = True
        sidebar.recheck()
        await wait_for(pilot, lambda: "vllm:served-model" in str(app.query_one("#status").render()))
        assert app.orchestrator.client.model == "served-model"
        assert sidebar.current_model == "served-model"
        assert not any(c.calls for c in made)  # no question was needed


async def test_a_model_the_server_does_not_list_is_said_at_once() -> None:
    """Ollama's default model is "a2ia-qwen"; on a server without it the first answer failed
    with a 404. The chat says so as soon as the server's list is in, once, naming what it has;
    a model named without its tag is found under ":latest"."""
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.llm.scripted import ScriptedClient
    from a2ia_tui.tui.app import A2IAApp
    from a2ia_tui.tui.services import AppServices
    from a2ia_tui.tui.widgets.sidebar import Sidebar

    def notes(app) -> list[str]:
        return [str(n.render()) for n in app.query(NoteMessage)]

    for configured, warned in (("a2ia-qwen", True), ("llama3.2", False)):

        def make_client(name: str, model: str | None, configured=configured) -> ScriptedClient:
            return ScriptedClient([], name=name, model=model or configured, models=("qwen3:8b", "llama3.2:latest"))

        services = AppServices(
            loaded=load_settings(),
            make_client=make_client,
            initial_backend="ollama",
            extras={"animate": False, "no_metrics": True, "cursor_blink": False},
        )
        app = A2IAApp(services)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None)
            sidebar = app.query_one(Sidebar)
            await wait_for(pilot, lambda: sidebar.models == ["qwen3:8b", "llama3.2:latest"])
            await pilot.pause()
            expected = [
                "ollama does not list the model 'a2ia-qwen' (it has: qwen3:8b, llama3.2:latest); "
                "choose one in the sidebar's model picker."
            ]
            assert [n for n in notes(app) if "does not list" in n] == (expected if warned else [])
            sidebar.load_models("ollama")  # the list read again (a health check, a backend switch)
            await pilot.pause(0.2)
            assert len([n for n in notes(app) if "does not list" in n]) == (1 if warned else 0)


async def test_failed_answer_is_marked() -> None:
    from a2ia_tui.core.errors import BackendUnreachable
    from a2ia_tui.core.llm.scripted import ScriptStep

    step = text_reply("half an ans")
    step = ScriptStep(chunks=step.chunks[:-1], error=BackendUnreachable("http://x", "connection refused"))
    app, _ = build_app({"vllm": [step]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        msg = app.query_one(AssistantMessage)
        assert msg.status == "failed"
        assert "connection refused" in str(msg.query_one(".mark").render())
        assert app.services.store is not None
        assert app.services.store.load(app.conversation.id).entries[-1].meta.status == "failed"


async def test_thinking_is_shown_folded_live_and_after_reopening() -> None:
    from textual.widgets import Collapsible, Static

    app, _ = build_app({"vllm": [text_reply("The answer is 4.", thinking="two plus two is four", delay_s=0.005)]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "2+2?")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        msg = app.query_one(AssistantMessage)
        fold = msg.query_one(Collapsible)
        assert fold.title == "thinking" and fold.collapsed
        assert str(fold.query_one(".thinking", Static).render()) == "two plus two is four"
        assert msg.text == "The answer is 4."  # the thinking is not part of the answer
        # the saved conversation restores it, folded again
        cid = app.conversation.id
        await app.open_conversation(cid)
        await pilot.pause()
        again = app.query_one(AssistantMessage).query_one(Collapsible)
        assert again.collapsed and "two plus two is four" in str(again.query_one(".thinking", Static).render())


async def test_an_answer_without_thinking_has_no_fold() -> None:
    from textual.widgets import Collapsible

    app, _ = build_app({"vllm": [text_reply("Plain.")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        assert not app.query_one(AssistantMessage).query(Collapsible)


async def test_the_prompt_keeps_a_refused_message_and_recalls_sent_ones() -> None:
    """Enter while an answer streams is refused with a warning, and the text stays in the prompt
    (it used to be cleared, and lost); sent messages come back with up / down."""
    app, _ = build_app({"vllm": [text_reply("slow", delay_s=1.0), text_reply("two")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        prompt = app.query_one("#prompt", Prompt)
        await send(pilot, "first")
        await wait_for(pilot, lambda: app.turn_running and prompt.value == "")
        await send(pilot, "second")
        await pilot.pause()
        assert app.turn_running and prompt.value == "second"
        assert [m.text for m in app.query(UserMessage)] == ["first"]
        await wait_for(pilot, lambda: idle(app))
        await pilot.press("enter")  # sent now
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        assert [m.text for m in app.query(UserMessage)] == ["first", "second"] and prompt.value == ""
        await pilot.press("up")
        assert prompt.value == "second"
        await pilot.press("up")
        assert prompt.value == "first"
        await pilot.press("down", "down")
        assert prompt.value == ""


async def test_the_renderer_is_warmed_up_when_idle_not_during_a_turn() -> None:
    app, _ = build_app({"vllm": [text_reply("slow", delay_s=0.5)]})
    app.WARM_UP_AFTER_S = 60.0  # the start-up timer is not what this test waits for
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: app.turn_running)
        app._warm_up()  # as the start-up timer would, during a turn
        assert not app.warmed
        await wait_for(pilot, lambda: idle(app))
        await wait_for(pilot, lambda: app.warmed, timeout=5)  # the next quiet moment
    app2, _ = build_app({})
    app2.WARM_UP_AFTER_S = 0.2
    async with app2.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app2.warmed, timeout=5)  # idle after start-up


async def test_a_reopened_chat_shows_what_the_live_one_showed_even_with_repeated_call_ids() -> None:
    """Servers that send no call ids get call_0 in every reply (llama.cpp, LM Studio, our
    clients' fallback), so ids repeat across turns. Reopened, the chat must look as it did live:
    each trace item with its own result (not the last result with that id), and a reply that was
    only a tool call shows its note, not an empty answer."""
    from a2ia_tui.core.llm.scripted import make_call
    from a2ia_tui.tui.widgets.messages import ToolNote

    hub = MiniHub()
    steps = [
        tool_reply(make_call("notes__read", {"path": "a"}, call_id="call_0")),
        text_reply("Read a."),
        tool_reply(make_call("notes__delete", {"path": "b"}, call_id="call_0")),
        text_reply("Deleted b."),
    ]
    app, _ = build_app({"vllm": steps}, hub=hub, flags={"tools.approval": "never"})

    def shown() -> tuple:
        chat = [
            (type(w).__name__, getattr(w, "text", None) or str(w.render()))
            for w in app.chat.children
            if isinstance(w, (UserMessage, AssistantMessage, ToolNote))
        ]
        trace = [
            (i.state, i.call.server, i.call.name, str(i.query_one(".preview").render())) for i in app.query(TraceItem)
        ]
        return chat, trace

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "read a")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 1)
        await send(pilot, "delete b")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        await pilot.pause()
        live = shown()
        assert [t[:3] for t in live[1]] == [("ok", "notes", "notes__read"), ("ok", "notes", "notes__delete")]
        assert "line one" in live[1][0][3] and "deleted b" in live[1][1][3]
        await app.open_conversation(app.conversation.id)
        await pilot.pause()
        assert shown() == live
        # the server that ran each call is saved with its result: shown without the hub too
        app.services.hub = None
        await app.open_conversation(app.conversation.id)
        await pilot.pause()
        assert shown() == live


async def test_the_command_lines_chat_settings_reach_every_request() -> None:
    from a2ia_tui.core.agent.chat_settings import ChatSettings

    app, clients = build_app({"vllm": [text_reply("bonjour")]})
    app.services.chat_overrides = ChatSettings(system_prompt="Answer in French.", temperature=0.3, max_tokens=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
    call = clients["vllm"].calls[-1]
    assert call.temperature == 0.3 and call.options == {"max_tokens": 40}
    assert call.messages[0].role == "system" and call.messages[0].content == "Answer in French."


async def test_a_tool_turned_off_from_the_palette_is_not_offered_in_this_chat() -> None:
    hub = MiniHub()
    app, clients = build_app({"vllm": [text_reply("one"), text_reply("two")]}, hub=hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press(*"Tool: turn off notes/delete")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation.tools_off == {"notes/delete"})
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        assert [t.name for t in clients["vllm"].calls[-1].tools or ()] == ["notes__read"]
        app.toggle_tools("notes/delete")  # the palette's "Tool: turn on notes/delete"
        await send(pilot, "again")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        assert [t.name for t in clients["vllm"].calls[-1].tools or ()] == ["notes__read", "notes__delete"]


async def test_copy_the_last_answer_or_one_code_block_from_the_palette() -> None:
    from a2ia_tui.tui.commands import code_blocks

    answer = "Run this:\n\n```bash\nls -la\npwd\n```\n\nthen:\n\n```python\nprint('hi')\n```\n"
    assert code_blocks(answer) == ["ls -la\npwd\n", "print('hi')\n"]
    app, _ = build_app({"vllm": [text_reply(answer)]})
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "how?")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        for command, expected in (("Copy: code block 2", "print('hi')\n"), ("Copy: last answer", answer)):
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: app.screen.is_modal)
            await pilot.press(*command)
            await pilot.pause(0.5)
            await pilot.press("enter")
            await wait_for(pilot, lambda e=expected: app.clipboard == e)
            await wait_for(pilot, lambda: not app.screen.is_modal)

"""The sidebar: backend dots from health checks, selecting (online, offline with confirmation),
the model picker, MCP server states. Engines are in test_engine_panes.py."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.widgets import OptionList, Static

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.errors import BackendError, ConfigError
from a2ia_tui.core.llm.scripted import OFFLINE, ScriptedClient
from a2ia_tui.core.tools.hub import ServerState
from a2ia_tui.tui.messages import SelectBackend
from a2ia_tui.tui.screens.dialogs import ConfirmScreen
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.sidebar import Sidebar


class FakeHubStates:
    """The two MCPHub methods the sidebar reads (states, add_listener), with a state change."""

    def __init__(self) -> None:
        self._states = {"time": ServerState("time", "starting")}
        self._listeners: list[Callable[[dict[str, ServerState]], None]] = []

    def states(self):
        return dict(self._states)

    def add_listener(self, cb):
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb)

    def set(self, state: ServerState) -> None:
        self._states[state.name] = state
        for cb in self._listeners:
            cb(self.states())


def make_services(healthy: dict[str, bool], hub=None, models=None) -> AppServices:
    loaded = load_settings(env={})
    made: list[str] = []

    def make_client(name: str, model: str | None):
        made.append(name)
        if name == "broken":
            raise BackendError("backend 'broken' is misconfigured")
        return ScriptedClient(
            name=name,
            model=model,
            healthy=healthy.get(name, True),
            models=(models or {}).get(name, (f"{name}-small", f"{name}-big")),
        )

    s = AppServices(loaded=loaded, make_client=make_client, hub=hub)
    s.extras["made"] = made
    return s


class SidebarApp(App):
    def __init__(self, services: AppServices, backend: str = "") -> None:
        super().__init__()
        self.services = services
        self.backend = backend
        self.selected: list[tuple] = []

    def compose(self):
        sb = Sidebar(self.services)
        sb.current_backend = self.backend
        yield sb

    def on_select_backend(self, message: SelectBackend) -> None:
        assert message.checked  # the sidebar asked about an offline backend itself
        if message.model is None:
            self.selected.append(("backend", message.backend))
        else:
            self.selected.append(("model", message.backend, message.model))


async def wait_for(pilot, cond, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


def prompt_of(app, name: str) -> str:
    ol = app.query_one("#backends", OptionList)
    return str(ol.get_option(name).prompt)


async def test_backend_dots_follow_health_checks():
    services = make_services({"vllm": True, "ollama": False})
    app = SidebarApp(services, backend="vllm")
    async with app.run_test(size=(40, 50)) as pilot:
        sb = app.query_one(Sidebar)
        await wait_for(pilot, lambda: {"vllm", "ollama"} <= set(sb.health))
        assert sb.health["vllm"] == (True, "scripted")
        assert sb.health["ollama"] == (False, OFFLINE)
        assert "● ▶ vllm  ready" in prompt_of(app, "vllm")
        assert "✗ ollama  offline" in prompt_of(
            app, "ollama"
        ) and "connection refused (is the server running?)" in prompt_of(app, "ollama")
        # a real client's reason starts with "offline: ", which the line above already says
        sb.health["ollama"] = (False, "offline: connection refused (is the server running?)")
        sb.refresh_backends()
        assert prompt_of(app, "ollama") == "✗ ollama  offline\n  connection refused (is the server running?)"


async def test_selecting_a_ready_backend_posts_backend_selected():
    app = SidebarApp(make_services({}), backend="vllm")
    async with app.run_test(size=(40, 50)) as pilot:
        sb = app.query_one(Sidebar)
        await wait_for(pilot, lambda: "ollama" in sb.health)
        sb.query_one("#backends", OptionList).focus()
        ol = sb.query_one("#backends", OptionList)
        ol.highlighted = list(sb.backend_names).index("ollama")
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("backend", "ollama") in app.selected)


async def test_offline_backend_asks_with_the_reason_first():
    app = SidebarApp(make_services({"ollama": False}), backend="vllm")
    async with app.run_test(size=(60, 50)) as pilot:
        sb = app.query_one(Sidebar)
        sb.select_backend("ollama")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "ollama is offline: connection refused (is the server running?)\n" in app.screen.question
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.selected == []
        sb.select_backend("ollama")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: ("backend", "ollama") in app.selected)


async def test_unchecked_backend_is_checked_before_selecting():
    services = make_services({"ollama": False})
    app = SidebarApp(services, backend="vllm")
    async with app.run_test(size=(60, 50)) as pilot:
        sb = app.query_one(Sidebar)
        sb.workers.cancel_group(sb, "health")
        sb.health.clear()
        sb.select_backend("ollama")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert sb.health["ollama"][0] is False


async def test_model_picker_lists_models_and_posts_model_selected():
    app = SidebarApp(make_services({}), backend="ollama")
    async with app.run_test(size=(40, 50)) as pilot:
        sb = app.query_one(Sidebar)
        ol = sb.query_one("#models", OptionList)
        await wait_for(pilot, lambda: ol.option_count == 2)
        assert [ol.get_option_at_index(i).id for i in range(2)] == ["ollama-small", "ollama-big"]
        sb.current_model = "ollama-big"
        await pilot.pause()
        assert ol.highlighted == 1 and "▶ ollama-big" in str(ol.get_option("ollama-big").prompt)
        ol.focus()
        ol.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("model", "ollama", "ollama-small") in app.selected)
        # switching backend refills the picker
        sb.current_backend = "vllm"
        await wait_for(pilot, lambda: ol.option_count == 2 and ol.get_option_at_index(0).id == "vllm-small")


async def test_models_are_read_again_when_the_backend_comes_up():
    """The current backend was down when its models were asked for (its engine still starting);
    the first health check that finds it up fills the picker."""
    from a2ia_tui.core.errors import BackendUnreachable

    up = {"vllm": False}

    class LateServer(ScriptedClient):
        async def list_models(self):
            if not up["vllm"]:
                raise BackendUnreachable("http://127.0.0.1:8000/v1", "connection refused")
            return await super().list_models()

    services = make_services({})
    services.make_client = lambda name, model: LateServer(
        name=name, model=model, healthy=up.get(name, True), models=("served-model",)
    )
    app = SidebarApp(services, backend="vllm")
    async with app.run_test(size=(40, 50)) as pilot:
        sb = app.query_one(Sidebar)
        note = app.query_one("#models-note", Static)
        await wait_for(pilot, lambda: "models unavailable" in str(note.render()) and "vllm" in sb.health)
        # why it is down is on the backend's line (its health check), not repeated here
        assert str(note.render()) == "models unavailable: vllm is offline"
        up["vllm"] = True
        sb.recheck()
        ol = sb.query_one("#models", OptionList)
        await wait_for(pilot, lambda: ol.option_count == 1)
        assert ol.get_option_at_index(0).id == "served-model" and not note.display


async def test_long_model_names_take_one_line_and_select_the_full_name():
    """Hugging Face ids are long: the picker shows each on one line, without its organisation,
    cut with "…" if still too long; choosing one posts the full id."""
    from a2ia_tui.tui.widgets.sidebar import short_model_name

    assert short_model_name("Qwen/Qwen2.5-7B-Instruct-AWQ") == "Qwen2.5-7B-Instruct-AWQ"
    assert short_model_name("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M") == "Llama-3.2-3B-Instruct-GGUF:Q4_K_M"
    assert short_model_name("/models/smol.gguf") == "smol.gguf" and short_model_name("llama3.1:8b") == "llama3.1:8b"
    long_ids = ("Qwen/Qwen2.5-7B-Instruct-AWQ", "meta-llama/Meta-Llama-3.1-70B-Instruct-AWQ-INT4-long")
    app = SidebarApp(make_services({}, models={"vllm": long_ids}), backend="vllm")
    async with app.run_test(size=(30, 40)) as pilot:
        sb = app.query_one(Sidebar)
        ol = sb.query_one("#models", OptionList)
        await wait_for(pilot, lambda: ol.option_count == 2)
        sb.current_model = long_ids[0]
        await pilot.pause()
        rows = [ol.render_line(y).text.rstrip() for y in range(3)]
        assert rows[0].startswith("▶ Qwen2.5-7B-Instruct-AWQ")
        assert rows[1].startswith("  Meta-Llama-3.1") and rows[1].endswith("…")
        assert not rows[2].strip()  # two options, two rows: nothing wrapped
        ol.focus()
        ol.highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("model", "vllm", long_ids[1]) in app.selected)


async def test_models_unavailable_is_one_line():
    services = make_services({})
    services.loaded.settings.backends["broken"] = services.loaded.settings.backends["vllm"]
    app = SidebarApp(services, backend="broken")
    async with app.run_test(size=(40, 50)) as pilot:
        note = app.query_one("#models-note", Static)
        await wait_for(pilot, lambda: "models unavailable" in str(note.render()))
        assert "misconfigured" in str(note.render())
        sb = app.query_one(Sidebar)
        await wait_for(pilot, lambda: "broken" in sb.health)
        assert sb.health["broken"] == (False, "backend 'broken' is misconfigured")


async def test_mcp_servers_show_state_and_tool_counts_and_a_late_hub():
    services = make_services({})
    app = SidebarApp(services, backend="vllm")
    async with app.run_test(size=(40, 50)) as pilot:
        mcp = app.query_one("#mcp", Static)
        hub = FakeHubStates()
        services.hub = hub  # the app creates the hub after the first frame
        await wait_for(pilot, lambda: "time  starting" in str(mcp.render()))
        hub.set(ServerState("time", "ready", tool_count=2))
        hub.set(ServerState("files", "failed", reason="command not found: nope"))
        await pilot.pause()
        text = str(mcp.render())
        assert "time  2 tools" in text
        assert "files  failed" in text and "command not found: nope" in text


async def test_no_services_never_crash():
    app = SidebarApp(make_services({}))

    def broken(name: str, model: str | None) -> ScriptedClient:
        raise ConfigError("settings", f"backends.{name}", "unknown kind")

    app.services.make_client = broken  # a broken factory is a reason, not a crash
    async with app.run_test(size=(40, 50)) as pilot:
        sb = app.query_one(Sidebar)
        await wait_for(pilot, lambda: "vllm" in sb.health)
        assert sb.health["vllm"][0] is False
        assert "engines are not available" in str(app.query_one("#engines-note", Static).render())


async def test_the_backend_an_answer_streams_from_is_not_health_checked():
    """The stream says it is up; and llama.cpp's server serves one request at a time, so a
    check would wait for the whole answer and time out (the sidebar then said "offline")."""
    services = make_services({"vllm": True, "ollama": False})
    app = SidebarApp(services, backend="vllm")
    async with app.run_test(size=(40, 50)) as pilot:
        sb = app.query_one(Sidebar)
        await wait_for(pilot, lambda: {"vllm", "ollama"} <= set(sb.health))
        made = services.extras["made"]
        sb.busy_backend = "ollama"
        before = len(made)
        assert await sb.check_backend("ollama") == (False, OFFLINE)  # the last verdict
        assert len(made) == before  # no client, no request
        # an answer that began while a check was out: the check's failure is no verdict
        sb.busy_backend = None
        sb.health["vllm"] = (True, "scripted")

        class Stalled(ScriptedClient):
            async def health(self):
                sb.busy_backend = "vllm"  # the answer began meanwhile...
                raise BackendError("no answer within 3 s")  # ...and held the check up

        services.make_client = lambda name, model: Stalled(name=name, model=model)
        assert await sb.check_backend("vllm") == (True, "scripted")
        assert sb.health["vllm"] == (True, "scripted")
        services.make_client = lambda name, model: ScriptedClient(name=name, model=model, healthy=False)
        sb.busy_backend = None
        assert (await sb.check_backend("vllm"))[0] is False  # not busy: a failure is a failure

"""The chat's actions: what the prompt and the chat-level keys and palette entries do.

:class:`ChatActions` is a part of the app (``A2IAApp`` inherits it); the keys themselves are
bound in ``app.py`` (``BINDINGS``), which names these actions. It holds the files attached to
the next question (the open conversation is :class:`~.appstate.AppState`'s), and does:

- sending a question (with its attachments; an image first asks Ollama whether the model sees);
- attaching a file (f3) and dropping the attachments (shift+f3);
- a new chat (ctrl+n), the saved chats (ctrl+o), open / renamed / deleted, export (ctrl+e):
  the work is :class:`~.chats.Chats`'s;
- regenerate (f5), edit a question (f4), flip alternatives (alt+left / alt+right): the work is
  :class:`~.branches.Branches`'s;
- this chat's settings (f2), its tools on or off, ReAct (ctrl+r), copying, scrolling.

A new chat-level action (a key or a palette entry that acts on the conversation) goes here,
its key in ``A2IAApp.BINDINGS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on

from ..core.errors import A2IAError
from ..core.textsafe import printable
from .appstate import AppState
from .messages import ConversationDeleted, ConversationRenamed, OpenConversation
from .widgets.attachments import AttachmentBar
from .widgets.prompt import Prompt

if TYPE_CHECKING:
    import asyncio

    from textual.worker import Worker

    from ..core.agent.attachments import Attachment
    from ..core.agent.orchestrator import Orchestrator
    from ..core.config import LoadedSettings
    from .branches import Branches
    from .chats import Chats
    from .services import AppServices
    from .widgets.chat import ChatView
    from .widgets.status import StatusBar


class ChatActions(AppState):
    if TYPE_CHECKING:
        # what these actions use of the app (A2IAApp defines them)
        services: AppServices
        loaded: LoadedSettings
        chats: Chats
        branches: Branches
        ready: asyncio.Event

        @property
        def orchestrator(self) -> Orchestrator | None: ...
        @property
        def chat(self) -> ChatView: ...
        @property
        def status(self) -> StatusBar: ...
        async def cancel_turn(self) -> None: ...
        def run_turn(self, question: str | None = None, typed: str | None = None) -> Worker[None]: ...
        def focus_prompt_if_idle(self) -> None: ...

    def __init__(self) -> None:
        super().__init__()
        #: Files attached to the next question (f3), shown above the prompt until it is sent.
        self._attachments: list[Attachment] = []

    # -- sending a question ----------------------------------------------------------------------

    def on_prompt_sent(self, message: Prompt.Sent) -> None:
        if self.turn_running:
            self.notify("An answer is still streaming: press Esc to stop it first.", severity="warning")
            return
        if any(a.image is not None for a in self.attachments):
            self.turn_running = True  # no second question while the model's vision is asked
            self.run_worker(self._send_with_images(message.text), group="attach", exit_on_error=False)
            return
        self._send(message.text)

    def _send(self, text: str) -> None:
        typed, shown = text, text
        if self.attachments:
            from ..core.agent.attachments import compose

            self.conversation.add_user(compose(text, self.attachments))
            shown = f"{text}\n{AttachmentBar.summary(self.attachments)}"
            self.action_drop_attachments()
        else:
            self.conversation.add_user(text)
        question: str | None = shown
        if self.orchestrator is None or not self.ready.is_set():
            # still starting: the question shows now, the answer's widget once a backend is ready
            self.chat.add_user(shown)
            self.query_one(Prompt).take(typed)
            question = None
        self.chats.save()
        self.turn_running = True
        self.run_turn(question, typed)

    async def _send_with_images(self, text: str) -> None:
        """Ollama says whether a model takes images (/api/show capabilities): a model that does
        not is told before the question goes; other servers answer a 400 (a hint says why)."""
        from ..core.agent.attachments import images_refused_note, vision_from_show
        from ..core.llm.ollama import OllamaClient

        await self.ready.wait()
        client = self.orchestrator.client if self.orchestrator is not None else None
        takes: bool | None = None
        if isinstance(client, OllamaClient) and client.model:
            try:
                takes = vision_from_show(await client.show())
            except A2IAError:
                takes = None  # unknown: the request itself will say
        self.turn_running = False
        if takes is False:
            self.chat.add_note(images_refused_note(client.model if client else None), "error")
            return
        self._send(text)

    # -- attachments -----------------------------------------------------------------------------

    @property
    def attachments(self) -> list[Attachment]:
        return self._attachments

    def _attachment_bar(self) -> AttachmentBar:
        bars = self.query(AttachmentBar)
        if bars:
            return bars.first()
        bar = AttachmentBar(self._attachments, id="attachments")
        self.query_one("#center").mount(bar, after=self.chat)
        return bar

    def action_attach(self) -> None:
        """A workspace file for the next question (see core/agent/attachments.py)."""
        import os

        from ..core.errors import WorkspaceError
        from ..core.tools.secrets import SecretRules
        from ..core.tools.workspace import Workspace
        from .screens.attach import AttachScreen

        settings = self.services.settings
        try:
            workspace = Workspace(settings.tools.workspace or os.getcwd())
        except WorkspaceError as exc:
            self.notify(str(exc), severity="error")
            return
        rules = SecretRules.from_env(history_db=settings.history.path, config_file=self.loaded.config_file_used)

        def done(attachment: Attachment | None) -> None:
            if attachment is None:
                return
            self._attachments = [a for a in self._attachments if a.name != attachment.name] + [attachment]
            self._attachment_bar().show(self._attachments)
            self.focus_prompt_if_idle()

        self.push_screen(AttachScreen(workspace, rules), done)

    def action_drop_attachments(self) -> None:
        self._attachments = []
        for bar in self.query(AttachmentBar):
            bar.remove()

    # -- chats (chats.py) ------------------------------------------------------------------------

    async def action_new_chat(self) -> None:
        if self.turn_running:
            await self.cancel_turn()
        self.chats.save()
        await self.chats.new()

    # -- the chat's branches (branches.py) --------------------------------------------------------

    async def action_regenerate(self) -> None:
        await self.branches.regenerate()

    def action_edit_question(self) -> None:
        self.branches.edit()

    async def action_alternative(self, step: int) -> None:
        await self.branches.flip(step)

    def action_saved_chats(self) -> None:
        self.chats.show_saved()

    @on(OpenConversation)
    async def _open_conversation(self, message: OpenConversation) -> None:
        await self.chats.open(message.conversation_id)

    async def open_conversation(self, conversation_id: str) -> None:
        await self.chats.open(conversation_id)

    @on(ConversationRenamed)
    def _conversation_renamed(self, message: ConversationRenamed) -> None:
        self.chats.renamed(message.conversation_id, message.title)

    @on(ConversationDeleted)
    async def _conversation_deleted(self, message: ConversationDeleted) -> None:
        await self.chats.deleted_from_saved(message.conversation_id)

    def export_path(self) -> Path:
        return self.chats.export_path()

    def action_export(self) -> None:
        self.chats.export()

    # -- this chat's settings and tools ----------------------------------------------------------

    def action_chat_settings(self) -> None:
        """This chat's system prompt, sampling and thinking (applied from the next request)."""
        from ..core.agent.chat_settings import ChatSettings
        from .screens.chat_settings import ChatSettingsScreen

        conversation = self.conversation
        defaults = ChatSettings.from_config(self.services.settings.agent)

        def done(result: ChatSettings | None) -> None:
            if result is None or result == conversation.settings:
                return
            conversation.settings = result
            if conversation.entries:  # an empty chat is saved with its first question
                self.chats.save()
            shown = ", ".join(f"{k} {v}" for k, v in result.to_dict().items() if k != "system_prompt")
            if result.system_prompt:
                shown = "own system prompt" + (f", {shown}" if shown else "")
            self.notify(f"Chat settings: {shown or 'none set (the defaults apply)'}")

        flags = self.services.chat_overrides
        self.push_screen(ChatSettingsScreen(conversation.settings, defaults, flags), done)

    def toggle_tools(self, key: str) -> None:
        """Turn a server ("name") or one tool ("server/tool") off for this chat, or back on."""
        conversation = self.conversation
        conversation.tools_off = conversation.tools_off ^ {key}
        if conversation.entries:
            self.chats.save()
        state = "off" if key in conversation.tools_off else "on"
        self.notify(f"{printable(key)}: {state} for this chat (from the next request)")

    def mode_label(self) -> str:
        if not self.services.settings.tools.enabled:
            return "tools: off"
        if self.orchestrator is not None:  # what this backend's model really gets (core.agent.toolsupport)
            return self.orchestrator.tool_protocol().label
        mode = self.services.settings.agent.mode
        return {"react": "ReAct", "native": "native tools", "auto": "tools: auto"}.get(mode, mode)

    def action_toggle_react(self) -> None:
        if self.orchestrator is None:
            return
        if not self.services.settings.tools.enabled:
            self.notify("Tools are off (--no-tools, or tools.enabled = false): no tool protocol to switch.")
            return
        default = self.services.settings.agent.mode
        self.orchestrator.mode = (
            ("native" if default == "react" else default) if self.orchestrator.mode == "react" else "react"
        )
        self.status.set(mode=self.mode_label())
        self.notify(f"Tool protocol: {self.mode_label()}")

    # -- copying and scrolling -------------------------------------------------------------------

    def copy(self, text: str) -> None:
        """To the system clipboard through the terminal (OSC 52; Textual's own way)."""
        self.copy_to_clipboard(text)
        lines = text.count("\n") + (not text.endswith("\n"))
        self.notify(f"Copied {lines} line{'s' if lines != 1 else ''} ({len(text):,} characters)")

    def action_scroll_chat(self, step: int) -> None:
        """A page up (-1) or down (1), or the start (-2) or end (2) of the chat. Up leaves the
        answer being streamed where it is (the view stops following it); at the end, it follows
        again."""
        chat = self.chat
        if step == -2:
            chat.scroll_home(animate=False)
        elif step == 2:
            chat.scroll_end(animate=False)
        elif step < 0:
            chat.scroll_page_up(animate=False)
        else:
            chat.scroll_page_down(animate=False)

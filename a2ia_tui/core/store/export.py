"""A conversation as Markdown: what ``ctrl+e`` and ``a2ia-tui export ID`` write.

Layout: a ``#`` title, then one ``##`` section per user message and per answer (the answer's
heading names backend/model and marks interrupted or failed answers); thinking goes in a
``<details>`` block; each tool call is a ``###`` block with its arguments as a JSON fence and its
result (the full text the UI kept, not the model's truncated copy) in a text fence. Fences are
made longer than any backtick run inside, so results containing Markdown stay readable.
"""

from __future__ import annotations

import json
import re
import time

from ..agent.conversation import Conversation, Entry, pair_tool_results
from ..textsafe import printable


def _fence(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _answer_heading(entry: Entry) -> str:
    who = ":".join(x for x in (entry.meta.backend, entry.meta.model) if x)
    head = "## Assistant" + (f" ({who})" if who else "")
    if entry.meta.status == "interrupted":
        head += " — interrupted"
    elif entry.meta.status == "failed":
        head += " — failed" + (f": {entry.meta.error}" if entry.meta.error else "")
    return head


def to_markdown(conversation: Conversation) -> str:
    created = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created_at))
    out: list[str] = [
        f"# {conversation.title}",
        "",
        f"_a2ia-tui conversation `{conversation.id}`, started {created}_",
        "",
    ]
    chat = conversation.settings
    if not chat.is_empty:
        # The chat's own settings, so a reader knows what produced the answers below.
        sampling = ", ".join(
            f"{k} {('on' if v else 'off') if isinstance(v, bool) else v}"
            for k, v in chat.to_dict().items()
            if k != "system_prompt"
        )
        out += ["## Chat settings", ""]
        if sampling:
            out += [f"- {sampling}", ""]
        if chat.system_prompt:
            out += ["System prompt:", "", _fence(chat.system_prompt), ""]
    results = pair_tool_results(conversation.entries)  # by position: call ids repeat across replies
    shown = {id(e) for e in results.values()}
    for n, entry in enumerate(conversation.entries):
        msg = entry.message
        if msg.role == "system":
            out += ["## System", "", msg.content, ""]
        elif msg.role == "user":
            out += ["## You", "", msg.content, ""]
            if msg.images:
                # the images themselves stay in the history (a Markdown file would carry megabytes)
                kinds = ", ".join(printable(img.mime) for img in msg.images)
                out += [f"*({len(msg.images)} image(s) attached: {kinds})*", ""]
        elif msg.role == "assistant":
            out += [_answer_heading(entry), ""]
            if msg.thinking:
                out += ["<details><summary>Thinking</summary>", "", msg.thinking.strip(), "", "</details>", ""]
            if msg.content:
                out += [msg.content.rstrip(), ""]
            for i, call in enumerate(msg.tool_calls):
                out += [
                    f"### Tool call: `{call.name}`",
                    "",
                    _fence(
                        call.function.raw_arguments or ""
                        if call.function.error
                        else json.dumps(call.function.arguments, ensure_ascii=False, indent=2),
                        "json",
                    ),
                    "",
                ]
                res = results.get((n, i))
                if res is not None:
                    out += _result_block(res)
        elif msg.role == "tool" and id(entry) not in shown:
            out += [f"### Tool result: `{msg.tool_name or '?'}`", "", *_result_block(entry)]
    # model text and tool output may hold terminal control sequences: `cat` of the file, or the
    # file shown by a pager, must not obey them (they appear as control pictures, nothing lost)
    return printable("\n".join(out).rstrip() + "\n")


def _result_block(entry: Entry) -> list[str]:
    label = "Error" if entry.meta.is_error else "Result"
    if entry.meta.duration_s is not None:
        label += f" ({entry.meta.duration_s:.2f} s)"
    text = entry.meta.full_result or entry.message.content
    return [f"**{label}:**", "", _fence(text, "text"), ""]

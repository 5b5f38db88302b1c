"""The status bar's text: what it shows when the server reports usage, and when it does not."""

from __future__ import annotations

from a2ia_tui.tui.widgets.status import StatusBar


def text(**fields) -> str:
    bar = StatusBar()
    bar.fields.update(backend="local", model="SmolLM2-135M-Instruct", context_max=4096, **fields)
    return bar.render_text()


def test_usage_reported_by_the_server() -> None:
    shown = text(tps=82.8, ttft=0.34, tokens_in=512, tokens_out=9)
    assert shown == "local:SmolLM2-135M-Instruct  │  82.8 tok/s  │  ttft 0.34 s  │  in 512 / out 9  │  ctx 521/4096"


def test_prompt_tokens_the_server_did_not_report_are_unknown_not_zero() -> None:
    """llama-cpp-python's streams carry no usage: the answer's tokens are counted here, the
    prompt's are not known, so neither is the context used."""
    shown = text(tokens_in=None, tokens_out=9)
    assert "in ? / out 9" in shown and "ctx ?/4096" in shown
    assert "in 0" not in shown


def test_before_any_answer_the_context_is_empty() -> None:
    assert text().endswith("ctx 0/4096")

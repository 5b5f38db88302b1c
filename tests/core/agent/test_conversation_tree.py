"""A conversation is a tree: regenerating an answer or editing a question starts a branch, and the
old one stays to flip back to (the shown branch is what is sent, drawn and exported)."""

from __future__ import annotations

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.llm.types import ImagePart, Message, ToolCall


def texts(conv: Conversation) -> list[str]:
    return [e.message.content for e in conv.entries]


def chat() -> Conversation:
    conv = Conversation()
    conv.add_user("q1")
    conv.add(Message(role="assistant", content="a1"))
    conv.add_user("q2")
    conv.add(
        Message(
            role="assistant", content="", tool_calls=[ToolCall.model_validate({"id": "c0", "function": {"name": "t"}})]
        )
    )
    conv.add(Message(role="tool", content="r", tool_name="t"))
    conv.add(Message(role="assistant", content="a2"))
    return conv


def test_a_chat_never_branched_has_no_alternatives_and_no_cost() -> None:
    conv = chat()
    assert conv.alternatives() == {} and conv.others == []


def test_regenerate_keeps_the_whole_earlier_answer_as_an_alternative() -> None:
    conv = chat()
    question = conv.regenerate()
    assert question is conv.entries[-1] and texts(conv) == ["q1", "a1", "q2"]
    assert [e.message.content for e in conv.others] == ["", "r", "a2"]  # the tool round came along
    conv.add(Message(role="assistant", content="a2-bis"))
    assert conv.alternatives() == {3: (2, 2)}
    assert conv.switch(3, -1) and texts(conv) == ["q1", "a1", "q2", "", "r", "a2"]
    assert conv.alternatives() == {3: (1, 2)}
    assert not conv.switch(3, -1)  # none further that way: nothing changes
    assert texts(conv) == ["q1", "a1", "q2", "", "r", "a2"]
    assert conv.switch(3, +1) and texts(conv) == ["q1", "a1", "q2", "a2-bis"]


def test_regenerate_again_gives_three_and_without_a_question_does_nothing() -> None:
    conv = chat()
    for n in range(2):
        conv.regenerate()
        conv.add(Message(role="assistant", content=f"again {n}"))
    assert conv.alternatives() == {3: (3, 3)} and conv.replies(2) == 3 and conv.replies(3) == 0
    assert chat().replies(2) == 1 and chat().replies(5) == 0
    assert Conversation().regenerate() is None
    only_system = Conversation()
    only_system.add(Message(role="system", content="s"))
    assert only_system.regenerate() is None and texts(only_system) == ["s"]


def test_edit_an_earlier_question_keeps_its_old_continuation() -> None:
    conv = chat()
    new = conv.edit(0, "q1, said better")
    assert new is conv.entries[-1] and texts(conv) == ["q1, said better"]
    assert conv.alternatives() == {0: (2, 2)}
    conv.add(Message(role="assistant", content="b1"))
    assert conv.switch(0, -1)
    assert texts(conv) == ["q1", "a1", "q2", "", "r", "a2"]  # the whole old continuation
    assert conv.switch(0, +1) and texts(conv) == ["q1, said better", "b1"]


def test_edit_keeps_the_question_s_attachments_and_refuses_an_answer() -> None:
    conv = Conversation()
    conv.add_user(Message(role="user", content="what is this?", images=[ImagePart(data="aGk=", mime="image/png")]))
    conv.add(Message(role="assistant", content="a cat"))
    conv.edit(0, "what animal is this?")
    assert conv.entries[0].message.images == [ImagePart(data="aGk=", mime="image/png")]
    conv.add(Message(role="assistant", content="a dog"))
    with pytest.raises(ValueError, match="only a question"):
        conv.edit(1, "not a question")
    assert texts(conv) == ["what animal is this?", "a dog"]


def test_flipping_inside_an_older_branch_follows_its_newest_entries() -> None:
    conv = chat()
    conv.edit(2, "q2 edited")
    conv.add(Message(role="assistant", content="e1"))
    conv.regenerate()
    conv.add(Message(role="assistant", content="e2"))
    assert conv.alternatives() == {2: (2, 2), 3: (2, 2)}
    assert conv.switch(3, -1) and texts(conv) == ["q1", "a1", "q2 edited", "e1"]
    assert conv.switch(2, -1) and texts(conv)[2:] == ["q2", "", "r", "a2"]
    assert conv.switch(2, +1) and texts(conv)[2:] == ["q2 edited", "e2"]  # its newest answer
    assert len(conv.entries) + len(conv.others) == 6 + 3  # nothing lost, nothing doubled


def test_clear_forgets_the_tree() -> None:
    conv = chat()
    conv.regenerate()
    conv.clear()
    assert conv.entries == [] and conv.others == []

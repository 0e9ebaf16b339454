"""Random and mangled input at both doors: every one accepted or refused cleanly, never a 5xx."""

import json

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bench.fuzz import main
from bot.core.wire.chatra import CHAT_EVENTS, NotAWebhook, parse_webhook_body, read_webhook
from handlers.messages import MessageEvent, thread_change

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
webhook_like = st.fixed_dictionaries(
    {"eventName": st.sampled_from(["chatStarted", "chatFragment", "chatTranscript"]) | json_values},
    optional={
        "client": st.fixed_dictionaries({}, optional={"id": json_values, "name": json_values})
        | json_values,
        "messages": st.lists(
            st.dictionaries(st.sampled_from(["id", "type", "message", "createdAt"]), json_values)
        )
        | json_values,
    },
)


@given(webhook_like)
def test_a_webhook_intake_accepts_can_always_be_read_by_the_worker(data):
    try:
        parsed = parse_webhook_body(json.dumps(data).encode())
    except NotAWebhook as refused:
        assert 400 <= refused.status < 500
        return
    if parsed["eventName"] not in CHAT_EVENTS:
        return
    webhook, skipped = read_webhook(parsed)
    assert webhook.client.id and all(m.key for m in webhook.messages)
    assert len(webhook.messages) + len(skipped) == len(
        data["messages"] if isinstance(data.get("messages"), list) else []
    )
    webhook.messages_in_order()
    webhook.client.display_name()
    webhook.summary()


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "subtype",
                "user",
                "text",
                "ts",
                "thread_ts",
                "message",
                "previous_message",
                "deleted_ts",
                "bot_id",
                "files",
            ]
        ),
        json_values,
    )
)
def test_slack_message_parsing_accepts_or_refuses_but_never_crashes(event):
    try:
        message = MessageEvent.model_validate(event)
    except ValidationError:
        return
    thread_change(message)


def test_fuzz_pass_over_both_endpoints(capsys):
    code = main(["--inputs", "400", "--seed", "3", "--settle-within", "60"])
    printed = capsys.readouterr().out
    print(printed)
    assert code == 0, printed
    assert "400 inputs tried" in printed and "broken" not in printed
    assert "events not settled                           0" in printed
    counts = {
        line[2:42].strip(): int(line[42:]) for line in printed.splitlines() if line.startswith("  ")
    }
    doors = [n for outcome, n in counts.items() if outcome.startswith(("webhook:", "slack:"))]
    assert sum(doors) == 400  # every input answered and counted once
    assert counts["webhook: accepted"] and counts["slack: rejected cleanly"]

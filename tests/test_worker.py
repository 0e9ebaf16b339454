"""The worker: order within a conversation, conversations side by side, bounded memory, retries."""

import asyncio

from storage import InboxEvent, Store
from tests.helpers import wait_for, worker_over


async def none_pending(inbox) -> bool:
    return await inbox.count("pending") == 0


async def run_worker(store: Store, handle, **options) -> None:
    inbox = store.inbox
    worker = worker_over(store, handle, **options)
    task = asyncio.create_task(worker.run())
    try:
        await wait_for(lambda: none_pending(inbox))
        await worker.drain()
    finally:
        task.cancel()


async def test_events_run_in_order_per_conversation_and_side_by_side_across(store):
    inbox = store.inbox
    for n in range(6):
        await inbox.add("chatra", f"k{n}", f"chat-{n % 2}", str(n))
    seen: list[tuple[str, str]] = []
    running = 0
    most = 0

    async def handle(event: InboxEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.02)
        seen.append((event.conversation, event.payload))
        running -= 1

    await run_worker(store, handle)

    assert [p for c, p in seen if c == "chat-0"] == ["0", "2", "4"]
    assert [p for c, p in seen if c == "chat-1"] == ["1", "3", "5"]
    assert most == 2  # the two chats ran side by side, each one event at a time


async def test_an_event_told_of_goes_after_the_one_before_it_that_nobody_told_of(store):
    """As when a webhook answered 503 was stored all the same, after its request gave up."""
    seen: list[str] = []

    async def handle(event: InboxEvent) -> None:
        seen.append(event.payload)

    worker = worker_over(store, handle, rescan_interval=3600)
    task = asyncio.create_task(worker.run())
    try:
        worker._arrivals.stored(await store.inbox.add("chatra", "k0", "chat-1", "opening"))
        await wait_for(lambda: seen == ["opening"])  # the chat's lane is this bridge's now
        await store.inbox.add("chatra", "k1", "chat-1", "first")
        second = await store.inbox.add("chatra", "k2", "chat-1", "second")
        worker._arrivals.stored(second)
        await wait_for(lambda: none_pending(store.inbox))
        await worker.drain()
    finally:
        task.cancel()
    assert seen == ["opening", "first", "second"]


async def test_a_burst_keeps_a_bounded_number_of_events_in_memory(store):
    inbox = store.inbox
    for n in range(200):
        await inbox.add("chatra", f"k{n}", f"chat-{n}", str(n))
    running = 0
    most = 0

    async def handle(event: InboxEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.005)
        running -= 1

    await run_worker(store, handle, max_in_flight=10)

    assert most == 10 and await inbox.count("done") == 200


async def test_a_failing_event_is_retried_then_marked_failed_without_blocking_others(store):
    inbox = store.inbox
    await inbox.add("chatra", "bad", "chat-bad", "boom")
    await inbox.add("chatra", "good", "chat-good", "fine")
    tries: dict[str, int] = {}

    async def handle(event: InboxEvent) -> None:
        tries[event.payload] = tries.get(event.payload, 0) + 1
        if event.payload == "boom":
            raise RuntimeError("Slack said no")

    await run_worker(store, handle, max_attempts=3)

    assert tries == {"boom": 3, "fine": 1}
    assert await inbox.count("failed") == 1 and await inbox.count("done") == 1

"""The Membrane client: tokens, the wire format, errors in words."""

import asyncio
import time

import aiohttp
import jwt
import pytest

from bot.clients.membrane import HttpTransport, MembraneClient, TokenSource
from bot.clients.membrane_cli import CliTransport
from bot.core.errors import MembraneError
from bot.core.ports import Writer
from sandbox.membrane_cli import install
from tests.conftest import CONNECTION

WORKSPACE_SECRET = "workspace-secret-of-thirty-two-bytes!"


def test_minted_token_is_an_hs256_jwt_for_the_tenant():
    source = TokenSource(
        workspace_key="ws-key", workspace_secret=WORKSPACE_SECRET, tenant_key="tenant-7"
    )
    claims = jwt.decode(source.token(), WORKSPACE_SECRET, algorithms=["HS256"])
    assert claims["id"] == "tenant-7" and claims["iss"] == "ws-key"
    assert claims["exp"] > time.time() + 3000


def test_minted_token_is_reminted_before_it_expires(monkeypatch):
    source = TokenSource(workspace_key="k", workspace_secret=WORKSPACE_SECRET, tenant_key="t")
    first = source.token()
    assert source.token() == first
    monkeypatch.setattr(
        time, "time", lambda: jwt.decode(first, WORKSPACE_SECRET, algorithms=["HS256"])["exp"] - 30
    )
    assert source.token() != first


def test_ready_token_is_used_as_given():
    assert TokenSource("a.b.c").token() == "a.b.c"


@pytest.fixture(params=["http", "cli"])
async def client(request, membrane, tmp_path, monkeypatch):
    """The same client over Membrane's HTTP API and over the `membrane` command (a stand-in on
    PATH that runs the action on the same fake)."""
    if request.param == "cli":
        command = install(tmp_path)
        monkeypatch.setenv("FAKE_MEMBRANE_URL", membrane.url)
        yield MembraneClient(
            CliTransport(str(command), connection_id=CONNECTION, timeout=10, processes=2),
            received_from="chatra-bridge",
            attempts=2,
            base_delay=0,
        )
        return
    async with aiohttp.ClientSession() as session:
        tokens = TokenSource(workspace_key="k", workspace_secret=WORKSPACE_SECRET, tenant_key="t")
        transport = HttpTransport(
            session, base_url=membrane.url, connection_id=CONNECTION, tokens=tokens, timeout=10
        )  # no test here is about a timeout: a loaded machine must not retry a run
        yield MembraneClient(transport, attempts=2, base_delay=0, received_from="chatra-bridge")


async def test_every_seed_action_runs_with_chatras_input_names(client, membrane):
    """The fake refuses a missing `membrane-api-version` or a token that is not a JWT."""
    membrane.clients["c1"] = {"id": "c1", "name": "Jane"}
    message_id = await client.send_agent_message("c1", "hello", Writer(agent_id="a9"))
    await client.edit_agent_message(message_id, "hello!")
    assert (await client.get_message(message_id)).body == "hello!"
    await client.delete_agent_message(message_id)
    assert (await client.get_client("c1"))["basicInfo"]["name"] == "Jane"
    updated = await client.update_client("c1", email="j@example.org", name=None)
    assert updated["basicInfo"] == {"email": "j@example.org"}  # null removed the name
    pushed_id = await client.send_pushed_message("c1", "promo", group_id="g1")
    await client.edit_pushed_message(pushed_id, "promo!")
    assert (await client.get_pushed_message(pushed_id)).body == "promo!"
    await client.delete_pushed_message(pushed_id)

    assert [key for key, _ in membrane.runs] == [
        "send-agent-message",
        "edit-agent-message",
        "get-message",
        "delete-agent-message",
        "get-client",
        "update-client",
        "send-pushed-message",
        "edit-pushed-message",
        "get-pushed-message",
        "delete-pushed-message",
    ]
    assert membrane.runs[0][1] == {
        "clientId": "c1",
        "text": "hello",
        "agentId": "a9",
        "receivedFrom": "chatra-bridge",
    }
    assert membrane.runs[5][1] == {"clientId": "c1", "email": "j@example.org", "name": None}


async def test_errors_are_sentences(client, membrane):
    with pytest.raises(MembraneError) as error:
        await client.get_client("nobody")
    assert str(error.value) == "Chatra answered with an error: Chatra: client not found"
    assert not error.value.transient

    with pytest.raises(MembraneError) as error:
        await client.send_agent_message("c1", "", Writer(agent_id="a9"))
    assert "Chatra refused the send-agent-message input" in str(error.value)

    membrane.fail_next(times=2, status=503)
    with pytest.raises(MembraneError) as error:
        await client.get_message("x")
    assert str(error.value).startswith("Membrane did not run get-message after 2 tries")
    assert error.value.transient


async def test_the_cli_transport_runs_at_most_its_pool_of_processes_at_once(
    membrane, tmp_path, monkeypatch
):
    monkeypatch.setenv("FAKE_MEMBRANE_URL", membrane.url)
    membrane.clients["c1"] = {"id": "c1", "name": "Jane"}
    membrane.latency = 1.0  # longer than a process takes to start, even under load
    command = str(install(tmp_path))
    transport = CliTransport(command, connection_id=CONNECTION, timeout=10, processes=2)
    client = MembraneClient(transport, attempts=1, base_delay=0, received_from="chatra-bridge")
    found = await asyncio.gather(*(client.get_client("c1") for _ in range(6)))
    assert [visitor["basicInfo"]["name"] for visitor in found] == ["Jane"] * 6
    assert membrane.most_in_flight == 2


def http_client(
    session: aiohttp.ClientSession, membrane, action_ids: dict[str, str] | None = None
) -> MembraneClient:
    transport = HttpTransport(
        session,
        base_url=membrane.url,
        connection_id=CONNECTION,
        tokens=TokenSource("a.b.c"),
        timeout=10,
        action_ids=action_ids,
    )
    return MembraneClient(transport, attempts=1, base_delay=0, received_from="our-bridge")


async def test_inputs_go_under_the_names_each_actions_schema_gives(membrane):
    membrane.rename("send-agent-message", clientId="client_id", text="message")
    membrane.rename("edit-agent-message", messageId="id")
    membrane.rename_output("send-agent-message", id="messageId")
    async with aiohttp.ClientSession() as session:
        client = http_client(session, membrane)
        message_id = await client.send_agent_message("c1", "hello", Writer(agent_id="a9"))
        await client.edit_agent_message(message_id, "hello!")

    assert message_id.startswith("msg")  # read from `messageId`, where the output keeps it
    assert membrane.runs == [
        (
            "send-agent-message",
            {"client_id": "c1", "message": "hello", "agentId": "a9", "receivedFrom": "our-bridge"},
        ),
        ("edit-agent-message", {"id": message_id, "text": "hello!"}),
    ]
    assert membrane.visible_messages("c1") == ["hello!"]


async def test_an_input_refused_as_wrong_makes_the_schema_be_read_again(membrane):
    membrane.clients["c1"] = {"id": "c1", "name": "Jane"}
    async with aiohttp.ClientSession() as session:
        client = http_client(session, membrane)
        await client.learn_actions()
        reads = membrane.schema_reads
        membrane.rename("get-client", clientId="id")  # the connector changed under us
        found = await client.get_client("c1")
        again = await client.get_client("c1")

    assert found["basicInfo"]["name"] == again["basicInfo"]["name"] == "Jane"
    assert membrane.schema_reads == reads + 1  # read once more, then kept
    assert [payload for _, payload in membrane.runs] == [{"id": "c1"}, {"id": "c1"}]


async def test_an_action_without_a_key_runs_by_its_id_over_http_and_the_cli(
    membrane, tmp_path, monkeypatch
):
    membrane.clients["c1"] = {"id": "c1", "name": "Jane"}
    membrane.keyless.add("get-client")
    ids = {"get-client": membrane.action_ids["get-client"]}
    async with aiohttp.ClientSession() as session:
        assert (await http_client(session, membrane, ids).get_client("c1"))["basicInfo"]
        with pytest.raises(MembraneError, match="does not know connection"):
            await http_client(session, membrane).get_client("c1")  # by key: not found
    monkeypatch.setenv("FAKE_MEMBRANE_URL", membrane.url)
    command = install(tmp_path)
    cli = CliTransport(
        str(command), connection_id=CONNECTION, timeout=10, processes=1, action_ids=ids
    )
    by_cli = MembraneClient(cli, attempts=1, base_delay=0, received_from="chatra-bridge")
    assert (await by_cli.get_client("c1"))["basicInfo"]["name"] == "Jane"
    assert [key for key, _ in membrane.runs] == ["get-client", "get-client"]

"""The Chatra actions as a connection really has them: under which input name each field of the
bridge goes, and where the output keeps an id.

No Membrane schema for Chatra's actions is published, so the names are learnt from each action's
`inputSchema` / `outputSchema` on the connection; with no schema to read, Chatra's REST names
stand. Names are compared without case, `_` or `-`: `clientId`, `client_id` and `ClientID` match.
"""

import re
from dataclasses import dataclass
from typing import Any

from bot.core.wire.chatra import VISITOR_FIELDS

# A field of the bridge -> the input names an action may give it, the preferred (REST) one first.
CANDIDATES = {
    "client": ("clientId", "id"),
    "message": ("messageId", "id"),
    "text": ("text", "message", "body"),
    "agent": ("agentId",),
    "agent_email": ("agentEmail",),
    "agent_name": ("agentName",),
    "received_from": ("receivedFrom",),
    "group": ("groupId",),
    "name": ("name",),
    "email": ("email",),
    "phone": ("phone",),
    "notes": ("notes",),
}


@dataclass(frozen=True)
class ActionFields:
    needed: tuple[str, ...]  # the action cannot do its job without them
    sent: tuple[str, ...] = ()  # sent when given, under the REST name when there is no schema
    if_declared: tuple[str, ...] = ()  # sent only when the action's schema has a home for them


ACTIONS = {
    "send-agent-message": ActionFields(
        ("client", "text"), ("agent", "agent_email", "agent_name", "received_from")
    ),
    "edit-agent-message": ActionFields(("message", "text")),
    "delete-agent-message": ActionFields(("message",)),
    "get-message": ActionFields(("message",)),
    "get-client": ActionFields(("client",)),
    "update-client": ActionFields(("client",), VISITOR_FIELDS),
    "send-pushed-message": ActionFields(("client", "text"), ("agent", "group"), ("received_from",)),
    "get-pushed-message": ActionFields(("message",)),
    "edit-pushed-message": ActionFields(("message", "text")),
    "delete-pushed-message": ActionFields(("message",)),
}
# CHATRA_ONLINE_ACTION, under whatever key the operator made it: an agent, by id or by email
# and name (Chatra's successor API: `POST /conversations/agentOnlinePing`).
ONLINE = ActionFields((), ("agent", "agent_email", "agent_name", "received_from"))
OUTPUT_IDS = ("id", "messageId", "_id")


def fields_of(action: str) -> ActionFields:
    """What the bridge sends an action: a Chatra action's fields, or the online action's."""
    return ACTIONS.get(action, ONLINE)


@dataclass(frozen=True)
class ActionShape:
    action: str
    names: dict[str, str]  # field of the bridge -> the action's input name
    unplaced: tuple[str, ...] = ()  # needed fields the schema has no home for
    unsent: tuple[str, ...] = ()  # inputs the schema requires that the bridge never sends
    id_keys: tuple[str, ...] = OUTPUT_IDS  # where the output keeps the id of what it made
    learnt: bool = False  # from the action's schema (False: Chatra's REST names)

    def input(self, values: dict[str, Any]) -> dict[str, Any]:
        """The action's input: each value under the action's name for it. A value the action has
        no home for is left out; a needed one goes under its REST name, to be refused in words."""
        named = {}
        for field, value in values.items():
            if field in self.names:
                named[self.names[field]] = value
            elif field in self.unplaced:
                named[CANDIDATES[field][0]] = value
        return named

    def can_send(self, field: str) -> bool:
        return field in self.names

    def names_agents_by_email(self) -> bool:
        """The action takes an agent as Chatra's email and name (not only by id)."""
        return self.can_send("agent_email") and self.can_send("agent_name")

    def describe(self) -> str:
        """`client→clientId, text→message`: what `chatra-bridge check` prints."""
        mapping = ", ".join(f"{field}→{name}" for field, name in self.names.items())
        return f"{mapping} ({'from its schema' if self.learnt else 'Chatra REST names'})"


def default_shape(action: str) -> ActionShape:
    """Chatra's REST names: what stands when the action publishes no schema."""
    fields = fields_of(action)
    return ActionShape(action, {f: CANDIDATES[f][0] for f in (*fields.needed, *fields.sent)})


def shape_from_definition(action: str, definition: Any) -> ActionShape:
    """The action as its definition (`{inputSchema, outputSchema, ...}`) describes it."""
    schema = definition.get("inputSchema") if isinstance(definition, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return default_shape(action)
    declared = {_plain(name): name for name in properties}
    fields = fields_of(action)
    names: dict[str, str] = {}
    for field in (*fields.needed, *fields.sent, *fields.if_declared):
        found = [declared[_plain(c)] for c in CANDIDATES[field] if _plain(c) in declared]
        free = [name for name in found if name not in names.values()]
        if free:
            names[field] = free[0]
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    return ActionShape(
        action,
        names,
        unplaced=tuple(f for f in fields.needed if f not in names),
        unsent=tuple(str(r) for r in required if r not in names.values()),
        id_keys=_output_ids(definition.get("outputSchema")),
        learnt=True,
    )


def _output_ids(schema: Any) -> tuple[str, ...]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return OUTPUT_IDS
    declared = {_plain(name): name for name in properties}
    found = [declared[_plain(key)] for key in OUTPUT_IDS if _plain(key) in declared]
    return tuple(dict.fromkeys(found)) or OUTPUT_IDS


def _plain(name: str) -> str:
    return re.sub(r"[\W_]", "", str(name)).lower()

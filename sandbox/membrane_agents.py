"""Chatra's agents in the fake Membrane: those Chatra knows, who is online (the successor API's
agentOnlinePing, run as the action Membrane makes from a description), and the agents a ping by
an unknown email makes up, as Chatra does."""

import time
from typing import Any

from sandbox.membrane_wire import ONLINE_ACTION, ONLINE_FOR, ActionFailure


class ChatraAgents:
    """The online action; the fake Membrane keeps `agents`, `dummy_agents`, `online_until`,
    `absent` and makes ids with `_new_id`."""

    agents: dict[str, dict[str, Any]]
    dummy_agents: list[str]
    online_until: dict[str, float]
    absent: set[str]

    def _new_id(self, prefix: str) -> str:
        raise NotImplementedError

    def make_online_action(self) -> str:
        """`membrane action create "..."`: the connection has the online action now."""
        self.absent.discard(ONLINE_ACTION)
        return ONLINE_ACTION

    def online_agents(self) -> list[str]:
        """The agents Chatra shows online now: the widget is online while there is one."""
        return sorted(a for a, until in self.online_until.items() if until > time.time())

    def _agent_online_ping(self, data: dict[str, Any]) -> dict[str, Any]:
        """Online for 2-3 minutes: the agent by id, or by email and name, as Chatra's successor
        API takes it: an email Chatra does not know makes up a new (dummy) agent."""
        agent_id = data.get("agentId")
        if agent_id is None:
            email, name = data.get("agentEmail"), data.get("agentName")
            if not (email and name and data.get("receivedFrom")):
                raise ActionFailure(
                    400, "bad_request", "agentId, or agentEmail, agentName and receivedFrom"
                )
            found = [a for a, known in self.agents.items() if known["email"] == email]
            agent_id = found[0] if found else self._new_id("dummy")
            if not found:
                self.agents[agent_id] = {"name": name, "email": email}
                self.dummy_agents.append(agent_id)
        elif agent_id not in self.agents:
            raise ActionFailure(404, "dependency_error", "Chatra: agent not found")
        self.online_until[agent_id] = time.time() + ONLINE_FOR
        return {"agentId": agent_id, "online": True}

"""Running actions through the `membrane` command, for teams that authenticate only with
`membrane login`: `membrane action run <action id or key> --connectionId=<id> --input '<json>'
--json`, the result under `output`. The CLI serves no action schema: Chatra's REST names stand.
A process per call costs hundreds of milliseconds, so at most `processes` run at once and the
rest wait their turn.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any

from bot.clients.membrane import failure
from bot.core.errors import MembraneError

log = logging.getLogger(__name__)


class CliTransport:
    def __init__(
        self,
        command: str,
        *,
        connection_id: str,
        timeout: float,
        processes: int,
        action_ids: dict[str, str] | None = None,
    ) -> None:
        self._action_ids = action_ids or {}
        self._command = command
        self.connection_id = connection_id
        self._timeout = timeout
        self._slots = asyncio.Semaphore(processes)

    async def definition(self, action: str) -> Any:
        return None

    async def run_once(self, action: str, payload: dict[str, Any]) -> Any:
        args = [
            *("action", "run", self._action_ids.get(action, action)),
            f"--connectionId={self.connection_id}",
            *("--input", json.dumps(payload)),
            "--json",
        ]
        async with self._slots:
            try:
                process = await asyncio.create_subprocess_exec(
                    self._command,
                    *args,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError:
                raise MembraneError(
                    "configuration",
                    f"The membrane command ({self._command}) cannot be run: install it"
                    " (npm install -g @membranehq/cli) and log in, or set MEMBRANE_TRANSPORT=http",
                    transient=False,
                ) from None
            try:
                out, err = await asyncio.wait_for(process.communicate(), self._timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise MembraneError(
                    "network", "The membrane command timed out", transient=True, in_doubt=True
                ) from None
        answer = _json(out)
        if process.returncode == 0 and isinstance(answer, dict) and "output" in answer:
            return answer["output"]
        return self._failed(action, process.returncode, answer or _json(err), err)

    def _failed(self, action: str, code: int | None, answer: Any, err: bytes) -> Any:
        problem = answer.get("error", answer) if isinstance(answer, dict) else {}
        if not isinstance(problem, dict) or not (problem.get("type") or problem.get("message")):
            said = err.decode(errors="replace").strip().splitlines()
            log.warning("membrane %s exited %s: %s", action, code, said[-1:] or "no message")
            problem = {"type": "internal", "message": said[-1] if said else f"exit code {code}"}
        status = problem.get("status") or problem.get("statusCode") or _status(problem)
        raise failure(action, self.connection_id, int(status), problem)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode(errors="replace"))
    except ValueError:
        return None


def _status(problem: dict[str, Any]) -> int:
    """The HTTP status an error type stands for, when the CLI does not say."""
    kind = problem.get("type")
    if kind in ("bad_request", "configuration", "connection"):
        return 400
    if kind == "unauthorized":
        return 401
    if kind == "not_found":
        return 404
    return 500 if kind in (None, "internal", "dependency_error") else 400

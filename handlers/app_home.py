"""The App Home tab."""

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.door import FrontDoor


class AppHome:
    def __init__(self, door: FrontDoor) -> None:
        self._home = door.home

    async def opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            user = str(event["user"])
            await client.views_publish(user_id=user, view=await self._home.view(user))


def register(app: AsyncApp, door: FrontDoor) -> None:
    app.event("app_home_opened")(AppHome(door).opened)

"""The App Home tab."""

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.people.home import Home


class AppHome:
    def __init__(self, home: Home) -> None:
        self._home = home

    async def opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            user = str(event["user"])
            await client.views_publish(user_id=user, view=await self._home.view(user))


def register(app: AsyncApp, home: Home) -> None:
    app.event("app_home_opened")(AppHome(home).opened)

"""The App Home tab."""

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.people.home import Home


def register(app: AsyncApp, home: Home) -> None:
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            await client.views_publish(user_id=event["user"], view=await home.view())

    app.event("app_home_opened")(on_home_opened)

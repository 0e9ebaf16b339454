"""Which Slack channel a new chat goes to: the first rule of CHANNEL_ROUTES that fits the visitor
(their Chatra group, the page they started on, their country or language, or the hour: outside
business hours), else SLACK_CHANNEL_ID. Each channel is paced on its own, so routing also spreads
a busy day over more than one channel's posting budget.

    {"routes": [
      {"queue": "Sales", "page": "*/pricing*", "channel": "C0SALES"},
      {"queue": "DACH", "country": ["Germany", "Austria", "Switzerland"], "channel": "C0DACH"},
      {"queue": "Night", "after_hours": true, "channel": "C0NIGHT"}
    ]}
"""

import fnmatch
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.wire.chatra import ChatraClient

Words = tuple[str, ...]  # a rule's field fits when the visitor's value is any of them


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    queue: str = Field(min_length=1, max_length=80)  # what the card calls it
    group: Words = ()  # Chatra group ids
    page: Words = ()  # patterns of the page the chat started on: `*` is any run of characters
    country: Words = ()
    language: Words = ()  # `de` fits `de` and `de-AT`
    after_hours: bool | None = None  # true: only outside BUSINESS_HOURS; false: only inside

    @field_validator("group", "page", "country", "language", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _says_something(self) -> "Route":
        if not (self.group or self.page or self.country or self.language) and (
            self.after_hours is None
        ):
            raise ValueError("a route needs a group, page, country, language or after_hours")
        return self

    def fits(self, client: ChatraClient, *, after_hours: bool) -> bool:
        page = (client.chatStartUrl or "").casefold()
        language = (client.language or "").casefold()
        return (
            (not self.group or client.groupId in self.group)
            and (not self.page or any(fnmatch.fnmatchcase(page, p.casefold()) for p in self.page))
            and (not self.country or (client.country or "").casefold() in _folded(self.country))
            and (not self.language or any(_speaks(language, w) for w in _folded(self.language)))
            and (self.after_hours is None or self.after_hours == after_hours)
        )


class Routes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: tuple[Route, ...] = ()
    default_queue: str = Field(default="General", min_length=1, max_length=80)

    def route(self, client: ChatraClient, *, after_hours: bool) -> Route | None:
        """The first rule that fits; None: the default channel."""
        return next((r for r in self.routes if r.fits(client, after_hours=after_hours)), None)

    def queue(self, route: Route | None) -> str | None:
        """What a chat's card says of its queue; None when there are no routes."""
        if not self.routes:
            return None
        return route.queue if route else self.default_queue

    @property
    def channels(self) -> list[str]:
        return list(dict.fromkeys(route.channel for route in self.routes))

    @property
    def use_hours(self) -> bool:
        return any(route.after_hours is not None for route in self.routes)


def read_routes(path: str) -> Routes:
    """CHANNEL_ROUTES, read and checked: a mistake is said at startup, not at the first chat."""
    try:
        return Routes.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise ValueError(f"{path}: {where}: {first['msg']}") from None
        raise ValueError(f"cannot read JSON routes from {path}: {type(error).__name__}") from None


def _speaks(language: str, rule: str) -> bool:
    return language == rule or language.startswith(f"{rule}-")


def _folded(words: Words) -> set[str]:
    return {word.casefold() for word in words}

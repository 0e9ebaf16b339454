"""Models of what comes from outside that take any field as it comes: the base of Chatra's."""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class Lenient(BaseModel):
    """Any known field may come missing, null, as a number where text was expected, or as
    something else entirely: text stays text, numbers become text, the rest is left out.
    Unknown fields are kept."""

    model_config = ConfigDict(extra="allow")
    TEXT: ClassVar[tuple[str, ...]] = ()
    NUMBERS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _tolerate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = cls.prepare(dict(data))
        for name in cls.TEXT:
            if name in data:
                data[name] = _text_or_none(data[name])
        for name in cls.NUMBERS:
            if name in data:
                data[name] = _number_or_none(data[name])
        return data

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        return data


def _text_or_none(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return None


def _number_or_none(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    return None

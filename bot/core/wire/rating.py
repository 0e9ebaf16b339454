"""A visitor's rating of a chat, in whatever form Chatra's transcript carries it. No sample has
one (*assumed*): a number, a word ("good", "bad"), or an object with its value and a comment, at
the webhook's top level or in its `client`. Every form is placed on one scale, 1 to 5, so "the
lowest two" (RATING_ALERT_AT=2) means the same whatever Chatra sends."""

from dataclasses import dataclass
from typing import Any

from bot.core.wire.text import shorten, without_control_characters

SCALE = 5
WORDS = {
    "awful": 1, "terrible": 1, "very bad": 1, "👎👎": 1,
    "bad": 2, "poor": 2, "negative": 2, "dislike": 2, "thumbs_down": 2, "no": 2, "👎": 2,
    "ok": 3, "okay": 3, "neutral": 3, "average": 3,
    "good": 4, "positive": 4, "like": 4, "thumbs_up": 4, "yes": 4, "👍": 4,
    "great": 5, "excellent": 5, "very good": 5, "amazing": 5,
}  # fmt: skip
VALUE_KEYS = ("value", "rating", "rate", "score", "mark")
COMMENT_KEYS = ("comment", "ratingComment", "feedback", "text", "message")
COMMENT_MOST = 500  # characters of a comment shown in Slack


@dataclass(frozen=True)
class Rating:
    shown: str  # as the visitor chose it: "2", "bad"
    score: int | None  # on 1 to 5; None when the form is unknown (never low)
    comment: str  # what they wrote with it, plain text ("" when nothing)

    def low(self, alert_at: int) -> bool:
        return self.score is not None and self.score <= alert_at


def rating_of(*places: dict[str, Any] | None) -> Rating | None:
    """The rating found first among `places` (the webhook's fields, then its client's)."""
    for place in places:
        value = (place or {}).get("rating")
        if value in (None, "", {}):
            continue
        comment = next((place[k] for k in COMMENT_KEYS[1:3] if place and place.get(k)), "")
        if isinstance(value, dict):
            comment = next((value[k] for k in COMMENT_KEYS if value.get(k)), comment)
            value = next((value[k] for k in VALUE_KEYS if value.get(k) not in (None, "")), None)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            continue
        shown = shorten(without_control_characters(str(value)).strip(), 40)
        text = comment if isinstance(comment, str) else ""
        return Rating(shown, _score(value), shorten(without_control_characters(text), COMMENT_MOST))
    return None


def _score(value: str | int | float) -> int | None:
    """The rating on 1 to 5: a number as it is (out of 5, or out of 10 halved), a word by WORDS."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in WORDS:
            return WORDS[word]
        try:
            value = float(word)
        except ValueError:
            return None
    if 1 <= value <= SCALE:
        return round(value)
    if SCALE < value <= 2 * SCALE:
        return max(1, round(value / 2))
    return None

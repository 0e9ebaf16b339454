"""The bridge's log lines: secrets redacted in every form, one line per record, JSON when asked."""

import json
import logging
import time
from urllib.parse import quote, quote_plus

from bot.config import Settings


class RedactingFormatter(logging.Formatter):
    """Replaces every configured secret in a log line, whether from our code or a library, also
    as JSON-escaped or percent-encoded; and writes a message's line breaks as \\n, so that nothing
    a stranger sends can forge a line of its own."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        forms = set()
        for secret in (s for s in secrets if len(s) >= 4):
            forms |= {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
        self._forms = sorted(forms, key=len, reverse=True)  # the longest form first

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, line: str) -> str:
        for form in self._forms:
            line = line.replace(form, "[redacted]")
        return line


def one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(RedactingFormatter):
    """One JSON object per line, with the chat id and Slack ts of what the line is about;
    secrets are redacted before the line is escaped, and after."""

    CONTEXT = ("chat", "slack_ts", "user", "action")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
            **{key: getattr(record, key) for key in self.CONTEXT if hasattr(record, key)},
        }
        if record.exc_info:
            line["error"] = self.redact(self.formatException(record.exc_info))
        return self.redact(json.dumps(line, ensure_ascii=False))


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    formatter = JsonFormatter if settings.log_format == "json" else RedactingFormatter
    text = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(formatter(text, settings.secrets()))
    logging.Formatter.converter = time.gmtime
    logging.captureWarnings(True)  # Python's warnings as log records: JSON too, when asked
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

"""A stand-in for the `membrane` command: `membrane action run <action id or key>
--connectionId=<id> --input '<json>' --json` runs the action on the fake Membrane at
$FAKE_MEMBRANE_URL (`POST /actions/{selector}/run`) and prints `{"output": ...}`; a failure prints
`{"error": {"type", "message", "status"}}` and exits 1."""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sandbox.membrane import API_VERSION

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImNsaSJ9.c2ln"  # what `membrane login` stored


def install(directory: Path) -> Path:
    """Put a `membrane` command that runs this stand-in into `directory`; returns its path."""
    command = directory / "membrane"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sandbox.membrane_cli "$@"\n')
    command.chmod(0o755)
    return command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="membrane")
    parser.add_argument("noun", choices=["action"])
    parser.add_argument("verb", choices=["run"])
    parser.add_argument("selector")
    parser.add_argument("--connectionId", required=True)
    parser.add_argument("--input", default="{}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    base = os.environ["FAKE_MEMBRANE_URL"]
    request = urllib.request.Request(
        f"{base}/actions/{args.selector}/run?connectionId={args.connectionId}",
        data=json.dumps({"input": json.loads(args.input)}).encode(),
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "membrane-api-version": API_VERSION,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as error:
        body = json.loads(error.read() or b"{}")
        print(json.dumps({"error": {**body, "status": error.code}}))
    except OSError as error:
        print(f"Error: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

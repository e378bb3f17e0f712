"""The command-line hand-off (`samlfed login --method browser`), shared by the server and the client.

The client makes a random state value and names it, with its loopback port, in the link it opens. The server
hands the verified response to that port only when the user presses a button, after comparing a verification
code shown on the page with the one the command prints (as in a device-authorization flow). Both sides derive
the code from the state, so a link made by someone else shows a code that no terminal of the user's shows.
"""

from __future__ import annotations

import base64
import hashlib
import re

CLI_RELAY = re.compile(r"samlfed-cli:(?P<port>\d{4,5}):(?P<state>[A-Za-z0-9_-]{16,64})", re.ASCII)
"""RelayState of a `samlfed login --method browser` sign-in: the loopback port and the client's state value."""


def verification_code(state: str) -> str:
    """`XXXX-XXXX`: the first 8 base32 characters of SHA-256(state), easy to compare by eye."""
    code = base64.b32encode(hashlib.sha256(state.encode()).digest()).decode()[:8]
    return f"{code[:4]}-{code[4:]}"

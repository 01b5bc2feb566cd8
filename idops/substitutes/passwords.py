"""Random passwords idops generates: never stored, never logged.

Graph requires a password on every new user (even one who will sign in with a Temporary Access
Pass), and the one-time-password fallback hands one to the substitute.
"""

from __future__ import annotations

import secrets
import string


def random_password() -> str:
    """16 random letters and digits plus a symbol, a digit, an upper- and a lower-case letter
    (Graph's complexity rules are met whatever the random part is)."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(16))
    return core[:8] + secrets.choice("!#%+-=?") + secrets.choice(string.digits) + core[8:] + "Aa"

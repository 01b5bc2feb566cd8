"""Random passwords idops generates: never stored, never logged.

Graph requires a password on every new user (even one who will sign in with a Temporary Access
Pass), and the one-time-password fallback hands one to the substitute.
"""

from __future__ import annotations

import secrets

# Characters a principal can read aloud and a substitute type without confusing them: no 0/O/o,
# 1/l/I/i, 5/S/s, 2/Z/z, 8/B, and only symbols every keyboard layout shows plainly.
UNAMBIGUOUS_UPPER = "ACDEFGHJKLMNPQRTUVWXY"
UNAMBIGUOUS_LOWER = "abcdefghjkmnpqrtuvwxy"
UNAMBIGUOUS_DIGITS = "3469"
UNAMBIGUOUS_SYMBOLS = "#%+=?"
PASSWORD_LENGTH = 16


def random_password() -> str:
    """A strong password from an unambiguous alphabet: 16 characters (~90 bits), always holding all
    four of Graph's complexity classes (upper, lower, digit, symbol) at secret places."""
    classes = (UNAMBIGUOUS_UPPER, UNAMBIGUOUS_LOWER, UNAMBIGUOUS_DIGITS, UNAMBIGUOUS_SYMBOLS)
    alphabet = "".join(classes)
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH - len(chars))]
    for i in range(len(chars) - 1, 0, -1):  # Fisher-Yates with the CSPRNG
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)

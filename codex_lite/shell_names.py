"""Names of shell programs, defined once, by what codex-lite may assume about them.

    POSIX_SHELLS   understand `-c SCRIPT` with POSIX syntax: the shell tool may run scripts with them
                   (tools/shells.py) and finds a replacement among them when one is missing
    READ_SHELLS    the common ones whose `-c` scripts the read-only classifier reads (read_only.py);
                   a script for any other shell is never called read-only
    ALL_SHELLS     every shell, POSIX or not (fish, csh, tcsh too): arguments to them are code, so an
                   approval "for the session" is remembered only for the exact command (approvals.py)

Why apart: a leaf module with no imports, so the approval layer, the classifier and the shell
tool agree on the names without importing each other.
"""

POSIX_SHELLS = ("bash", "zsh", "ksh", "mksh", "ash", "dash", "sh", "yash", "loksh", "oksh", "posh")
READ_SHELLS = ("bash", "sh", "ash", "dash", "zsh", "ksh", "mksh")
ALL_SHELLS = frozenset((*POSIX_SHELLS, "fish", "csh", "tcsh"))

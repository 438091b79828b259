"""Which errors a retry cannot heal: a full disk, a refused login, a config error fail the task at once."""

from __future__ import annotations

import errno

import pymysql

from drdrill.errors import ConfigError

NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})
# ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
LOGIN_REFUSED = frozenset({1044, 1045, 1698})


def cannot_heal(exc: BaseException) -> bool:
    """True for an error that is the same on every retry (retrying only delays the verdict)."""
    seen: BaseException | None = exc
    while seen is not None:  # the cause chain: a wrapped ENOSPC or access denied counts too
        if isinstance(seen, ConfigError):
            return True
        if isinstance(seen, OSError) and seen.errno in NO_ROOM:
            return True
        if isinstance(seen, pymysql.err.OperationalError) and seen.args and seen.args[0] in LOGIN_REFUSED:
            return True
        seen = seen.__cause__ or seen.__context__
    return False

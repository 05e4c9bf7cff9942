# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Option names as in community.postgresql; environment fallbacks are libpq's (PGHOST, PGPASSWORD...)
    # so AWX credentials injected as environment variables work unchanged.
    DOCUMENTATION = r"""
options:
  login_host:
    description: Database host. Falls back to E(PGHOST).
    type: str
    aliases: [host]
  login_port:
    description: Database port. Falls back to E(PGPORT), then 5432.
    type: int
    aliases: [port]
  login_user:
    description: Database user. Falls back to E(PGUSER).
    type: str
    aliases: [user]
  login_password:
    description: Password. Falls back to E(PGPASSWORD). Never logged.
    type: str
    aliases: [password]
  db:
    description: Database name. Falls back to E(PGDATABASE).
    type: str
    aliases: [database]
  ssl_mode:
    description: libpq sslmode.
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: prefer
  connect_timeout:
    description: Seconds to wait for a connection.
    type: int
    default: 10
  statement_timeout:
    description: Seconds a statement may run or wait for a lock before it is cancelled.
    type: int
    default: 30
requirements:
  - psycopg2
"""

    # Modules that run pg_dump, pg_restore or psql.
    CLIENT_TOOLS = r"""
options:
  client_bin_dir:
    description:
      - Folder of the PostgreSQL client tools (pg_dump, pg_restore, psql).
      - By default the binaries of the server's major version (C(/usr/lib/postgresql/<major>/bin) on Debian), else
        the ones on E(PATH). A client newer than the server, or older than the archive needs, is refused.
    type: path
notes:
  - The client tools get the connection through libpq's environment (E(PGHOST), E(PGPASSWORD), ...), never on their
    command line, and are run with argument lists, never through a shell.
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: text_table
short_description: Rows (mappings) as the lines of a fixed-width text table
version_added: 0.1.0
description:
  - Like C(psql)'s output, for results such as M(easymo.rollback.sql_query)'s C(rows).
options:
  _input:
    description: Rows, each a mapping of column to value.
    type: list
    elements: dict
    required: true
  columns:
    description: Columns in order (default, the keys of the first row).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Affected users
  ansible.builtin.debug:
    msg: "{{ users.rows | easymo.rollback.text_table(users.columns) }}"
"""

RETURN = r"""
_value:
  description: Header, separator and one line per row; C((0 rows)) when empty.
  type: list
  elements: str
"""

import typing as t


def text_table(rows: list[dict], columns: list[str] | None = None) -> list[str]:
    columns = list(columns or (list(rows[0].keys()) if rows else []))
    if not columns:
        return ["(0 rows)"]
    cells = [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    lines.append("(%d row%s)" % (len(rows), "" if len(rows) == 1 else "s"))
    return lines


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"text_table": text_table}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The Supabase Management API connection, with the environment variables the Supabase CLI and AWX
    # credential types already use.
    DOCUMENTATION = r"""
options:
  project_ref:
    description:
      - The project ref (20 lowercase letters), as in C(https://<ref>.supabase.co).
    type: str
    required: true
  access_token:
    description:
      - A Supabase personal access token (C(sbp_...)). Never logged.
      - Falls back to the environment variable E(SUPABASE_ACCESS_TOKEN).
    type: str
  api_url:
    description:
      - Base URL of the Management API.
      - Falls back to the environment variable E(SUPABASE_API_URL), then V(https://api.supabase.com).
    type: str
  request_timeout:
    description: Seconds to wait for one API answer.
    type: float
    default: 30
  rate_limit_budget:
    description:
      - Seconds this task may spend waiting on rate limits (HTTP 429), honouring C(Retry-After) and
        C(X-RateLimit-Reset). Past the budget the task fails and says when to try again.
    type: float
    default: 60
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How every probing module (one HTTP prober: many endpoints at once, one deadline) is timed.
    DOCUMENTATION = r"""
options:
  timeout:
    description: One deadline in seconds for all endpoints together. V(0) probes each once.
    type: int
    default: 60
  interval:
    description: Seconds between probes of an endpoint that is not healthy yet.
    type: float
    default: 2
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 5
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  fail_on_unhealthy:
    description: Fail the task when any endpoint is not healthy at the deadline.
    type: bool
    default: true
requirements:
  - requests
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How every Deployment module picks its Deployments; selections that would silently widen are refused.
    DOCUMENTATION = r"""
options:
  namespace:
    description: Namespace of the Deployments. An empty or invalid name is refused (it would mean every namespace).
    type: str
    required: true
  names:
    description:
      - Deployments, acted on in this order. An empty list or a name given twice is refused.
      - Mutually exclusive with O(label_selector); one of the two is required.
    type: list
    elements: str
    aliases: [name]
  label_selector:
    description:
      - Select Deployments by label (for example V(tier=web)); each is handled by its own name.
      - An empty selector is refused, and one that matches nothing is an error.
    type: str
"""

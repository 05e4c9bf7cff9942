# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The same option names and K8S_AUTH_* variables as kubernetes.core, so AWX's Kubernetes
    # credential type and existing habits carry over unchanged.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file.
      - When no auth option is given, the default kubeconfig (C(KUBECONFIG) or C(~/.kube/config)) is used,
        then the in-cluster service account.
      - Falls back to the environment variable E(K8S_AUTH_KUBECONFIG).
    type: path
  context:
    description:
      - The kubeconfig context to use.
      - Falls back to the environment variable E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://k8s.example.com:6443).
      - With O(api_key) or O(client_cert), no kubeconfig is read at all, so a least-privileged token is never
        combined with a kubeconfig's credentials.
      - Falls back to the environment variable E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. It replaces any credentials from a kubeconfig.
      - Falls back to the environment variable E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Falls back to the environment variable E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA bundle used to verify the API server.
      - Falls back to the environment variable E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate for TLS client authentication.
      - Falls back to the environment variable E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Falls back to the environment variable E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
requirements:
  - kubernetes (the official Python client) >= 30.1.0
"""

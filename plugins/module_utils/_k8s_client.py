# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Kubernetes client factory of the collection.

Options and environment fallbacks follow kubernetes.core so AWX credentials work unchanged.
"""

from __future__ import annotations

import os
import traceback
import typing as t

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # type: ignore[no-redef]
        """Placeholder so callers can name the exception when the client is missing."""

        status = 0
        reason = ""
        body = ""

    class ConfigException(Exception):  # type: ignore[no-redef]
        """Placeholder so callers can name the exception when the client is missing."""


try:
    from urllib3.exceptions import HTTPError as TransportError  # noqa: F401 (re-exported for the modules)  pylint: disable=unused-import
except ImportError:
    TransportError = OSError  # type: ignore[misc,assignment]

# Talking to the API server raises ApiException (an answer with an error status) or TransportError /
# OSError (no answer at all); modules catch those three and report them with describe_k8s_error.

K8S_AUTH_ARG_SPEC: dict[str, dict[str, t.Any]] = {
    "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"], "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"])},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": (env_fallback, ["K8S_AUTH_CERT_FILE"])},
    "client_key": {"type": "path", "aliases": ["key_file"], "fallback": (env_fallback, ["K8S_AUTH_KEY_FILE"])},
}


class K8sAuthError(Exception):
    """The auth options do not lead to a usable client; the message says what to fix."""


def build_api_client(params: dict[str, t.Any]) -> "k8s_client.ApiClient":
    """Return an ApiClient from the auth options.

    ``host`` with ``api_key`` or ``client_cert`` is self-contained: no kubeconfig is read, so a token meant
    to be least-privileged is never mixed with a kubeconfig's admin certificate. Otherwise the kubeconfig
    (given, K8S_AUTH_KUBECONFIG, KUBECONFIG or ~/.kube/config) is read, the in-cluster service account is
    the last resort, and ``api_key`` (if given) replaces the kubeconfig's credentials.
    """
    if not HAS_KUBERNETES:
        raise K8sAuthError(missing_required_lib("kubernetes"))
    for option in ("kubeconfig", "ca_cert", "client_cert", "client_key"):
        path = params.get(option)
        if path and not os.path.isfile(path):
            raise K8sAuthError("%s file %s does not exist or is not a file." % (option, path))
    configuration = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    self_contained = bool(params.get("host") and (params.get("api_key") or params.get("client_cert")))
    if not self_contained:
        try:
            k8s_config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
        except ConfigException as exc:
            if kubeconfig or context:
                raise K8sAuthError("Cannot use kubeconfig %s (context %s): %s" % (kubeconfig or "(default)", context or "(current)", exc)) from exc
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except ConfigException:
                raise K8sAuthError(
                    "No Kubernetes configuration found: set kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG), "
                    "or host and api_key (K8S_AUTH_HOST, K8S_AUTH_API_KEY)."
                ) from exc
        except (OSError, ValueError, TypeError) as exc:
            raise K8sAuthError("Cannot read kubeconfig %s: %s" % (kubeconfig or "(default)", exc)) from exc

    if params.get("host"):
        configuration.host = params["host"]
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer " + params["api_key"]}
        # The token is the identity: drop a client certificate that came from the kubeconfig.
        configuration.cert_file = configuration.key_file = None
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        configuration.cert_file = params["client_cert"]
    if params.get("client_key"):
        configuration.key_file = params["client_key"]
    return k8s_client.ApiClient(configuration)


def api_error_message(exc: "ApiException") -> str:
    """A one-line message from an API error: the server's own message when it sent one."""
    import json

    body = getattr(exc, "body", None)
    if body:
        try:
            return json.loads(body).get("message") or str(body)
        except (ValueError, AttributeError):
            return str(body)[:500]
    return "%s %s" % (getattr(exc, "status", ""), getattr(exc, "reason", ""))


def describe_k8s_error(exc: BaseException) -> str:
    """One line for an API or transport error, with the next step for the usual causes."""
    if isinstance(exc, ApiException):
        status = getattr(exc, "status", None)
        hint = {
            401: " (not authenticated: check api_key / client_cert / kubeconfig)",
            403: " (forbidden: the credentials lack RBAC permission for this)",
        }.get(status, "")
        return "HTTP %s: %s%s" % (status, api_error_message(exc), hint)
    return "cannot reach the Kubernetes API server (%s: %s); check host / kubeconfig and that the cluster is up" % (
        type(exc).__name__, exc)

"""Microsoft Graph for idops: the ``Directory`` port, its msgraph-sdk adapter, and OData helpers.

Importing this package is cheap: the adapter (which imports msgraph, ~0.3 s) is loaded only when
``GraphDirectory`` / ``GraphDirectoryProvider`` / ``build_auth_provider`` are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idops.graph import odata
from idops.graph.errors import (
    AccessPassPolicyDisabled,
    GraphAuthError,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphLicenceError,
    GraphNoSeats,
    GraphNotFound,
    GraphPremiumRequired,
    GraphThrottled,
    GraphUnavailable,
)
from idops.graph.odata import Filter, ODataValueError
from idops.graph.port import (
    UNSET,
    AccessPass,
    BatchRequest,
    BatchResponse,
    Directory,
    DirectoryObjectRef,
    DirectoryProvider,
    DirectoryUser,
    NewUser,
    RegistrationDetail,
    ServicePrincipal,
    SignIn,
    SubscribedSku,
    TapPolicy,
    UserPatch,
)
from idops.graph.priority import graph_priority, low_priority

if TYPE_CHECKING:
    from idops.graph.credentials import GraphConfigError, build_auth_provider, build_credential
    from idops.graph.sdk import GraphDirectory, GraphDirectoryProvider

_LAZY = {
    "GraphDirectory": "idops.graph.sdk",
    "GraphDirectoryProvider": "idops.graph.sdk",
    "GraphConfigError": "idops.graph.credentials",
    "build_auth_provider": "idops.graph.credentials",
    "build_credential": "idops.graph.credentials",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'idops.graph' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "UNSET",
    "AccessPass",
    "AccessPassPolicyDisabled",
    "BatchRequest",
    "BatchResponse",
    "Directory",
    "DirectoryObjectRef",
    "DirectoryProvider",
    "DirectoryUser",
    "Filter",
    "GraphAuthError",
    "GraphBadRequest",
    "GraphConfigError",
    "GraphConflict",
    "GraphDirectory",
    "GraphDirectoryProvider",
    "GraphError",
    "GraphForbidden",
    "GraphLicenceError",
    "GraphNoSeats",
    "GraphNotFound",
    "GraphPremiumRequired",
    "GraphThrottled",
    "GraphUnavailable",
    "NewUser",
    "ODataValueError",
    "RegistrationDetail",
    "ServicePrincipal",
    "SignIn",
    "SubscribedSku",
    "TapPolicy",
    "UserPatch",
    "build_auth_provider",
    "build_credential",
    "graph_priority",
    "low_priority",
    "odata",
]

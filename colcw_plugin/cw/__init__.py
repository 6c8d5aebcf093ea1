"""ConnectWise Manage REST client for colcw (plain requests; no Flask, no database).

from colcw_plugin.cw import ClientSettings, ConnectWiseClient, conditions as C

client = ConnectWiseClient(ClientSettings(site_url="https://na.myconnectwise.net",
                                          company_id="acme", client_id="...",
                                          public_key="...", private_key="..."))
for company in client.companies.iterate(conditions=C.eq("deletedFlag", False), fields=["id", "name"]):
    ...
"""

from . import conditions
from .client import ConnectWiseClient, Record
from .connection_check import CheckStep, ConnectionReport, check_connection
from .create_once import create_once, unacknowledged
from .discovery import CompanyInfo
from .errors import (
    AuthenticationFailed,
    BadRequest,
    BadResponse,
    ClientError,
    Conflict,
    ConnectWiseError,
    DiscoveryError,
    FieldError,
    NetworkError,
    NotFound,
    PagingStalled,
    PermissionDenied,
    RateLimited,
    ServerError,
    TLSFailed,
    ValidationFailed,
)
from .patch import diff_patch, patch_ops
from .ratelimit import TokenBucket
from .resources import ForecastResource, Resource, default_communication
from .settings import ClientSettings
from .stats import RequestStats

__all__ = [
    "create_once",
    "unacknowledged",
    "check_connection",
    "AuthenticationFailed",
    "BadRequest",
    "BadResponse",
    "CheckStep",
    "ClientError",
    "ClientSettings",
    "CompanyInfo",
    "Conflict",
    "ConnectWiseClient",
    "ConnectWiseError",
    "ConnectionReport",
    "DiscoveryError",
    "FieldError",
    "ForecastResource",
    "NetworkError",
    "NotFound",
    "PagingStalled",
    "PermissionDenied",
    "RateLimited",
    "Record",
    "RequestStats",
    "Resource",
    "ServerError",
    "TLSFailed",
    "TokenBucket",
    "ValidationFailed",
    "conditions",
    "default_communication",
    "diff_patch",
    "patch_ops",
]

"""IP profile: the address class with the RFC that defines it, and GeoIP from local MaxMind files.

Needs no network and no key. The class comes from a table of the IANA special-purpose registries
(RFC 6890 and the RFCs it lists); GeoIP from MaxMind-format databases (GeoLite2/GeoIP2 City or
Country, and ASN) at the paths in ``GEOIP_CITY_DB`` and ``GEOIP_ASN_DB``, each opened once per process.
A missing or unreadable database never fails the result: the ``geoip`` notes say what happened.
The verdict is always ``unknown``: an address class is context, not reputation.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import maxminddb

from plugins.spec import Context, Finding, PluginSpec
from shared.iocs.ipclass import IpAddress, classify
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="ip_profile",
    display_name="IP profile (offline)",
    ioc_types=frozenset({"ip"}),
    categories=("local", "geolocation"),
    url_var="",
    default_url=None,
    key="none",
    auth="none",
    options=("GEOIP_CITY_DB", "GEOIP_ASN_DB"),
    remote=False,
)


_GEO_FIELDS = ("country_code", "country", "city", "asn", "as_organization")
_DATABASES = (("GEOIP_CITY_DB", "city"), ("GEOIP_ASN_DB", "asn"))
_MAX_OPEN_DATABASES = 8


def lookup(ctx: Context, ioc: Ioc) -> Finding:
    """Classify the address and add country, city and ASN from the configured GeoIP databases."""
    address = ipaddress.ip_address(ioc.value)
    summary: dict[str, Any] = {"version": address.version, **classify(address)}
    summary.update(geoip(ctx.options, address))
    return Finding(verdict="unknown", summary=summary)


def geoip(options: Mapping[str, str], address: IpAddress) -> dict[str, Any]:
    """Return country, city and ASN fields from the configured databases, with notes on each."""
    found: dict[str, Any] = dict.fromkeys(_GEO_FIELDS)
    notes: list[str] = []
    paths = {var: (options.get(var) or "").strip() for var, _ in _DATABASES}
    if not any(paths.values()):
        return {**found, "geoip": ["no GeoIP database configured"]}
    for var, kind in _DATABASES:
        if not paths[var]:
            notes.append(f"{var} is not set")
            continue
        record, problem = read_record(paths[var], str(address))
        if problem:
            notes.append(f"{var} could not be read ({problem})")
        elif record is None:
            notes.append(f"{address} is not in the {var} database")
        else:
            found.update(_FIELDS_OF[kind](record))
    return {**found, "geoip": notes}


def _city_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Return country and city from a GeoIP2/GeoLite2 City or Country record."""
    country = record.get("country") or record.get("registered_country") or {}
    return {
        "country_code": country.get("iso_code"),
        "country": (country.get("names") or {}).get("en"),
        "city": ((record.get("city") or {}).get("names") or {}).get("en"),
    }


def _asn_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Return the autonomous system number and organisation from a GeoLite2 ASN record."""
    return {
        "asn": record.get("autonomous_system_number"),
        "as_organization": record.get("autonomous_system_organization"),
    }


_FIELDS_OF = {"city": _city_fields, "asn": _asn_fields}


def read_record(path: str, address: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return the database record for an address (None: not in it) or why the file could not be read."""
    try:
        stat = os.stat(path)
        record = open_database(path, stat.st_mtime_ns, stat.st_size).get(address)
    except FileNotFoundError:
        return None, "no such file"
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as ex:
        return None, _problem(ex)
    return (record if isinstance(record, dict) else None), None


def _problem(ex: Exception) -> str:
    """Describe why a database could not be read, without the exception's own text."""
    if isinstance(ex, maxminddb.InvalidDatabaseError | ValueError):
        return "not a valid MaxMind database"
    if isinstance(ex, PermissionError):
        return "permission denied"
    return type(ex).__name__


@lru_cache(maxsize=_MAX_OPEN_DATABASES)
def open_database(path: str, mtime_ns: int, size: int) -> maxminddb.Reader:
    """Open a MaxMind database once per path and version (a replaced file is opened anew)."""
    return maxminddb.open_database(path)

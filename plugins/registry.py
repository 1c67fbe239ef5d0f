"""The explicit plugin registry and the rules that decide which plugins are enabled."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from plugins.spec import PluginSpec
from shared.config import Settings
from shared.iocs.normalize import Ioc

# The registry, in display order: one module per provider, each named here explicitly.
MODULE_NAMES: tuple[str, ...] = (
    # Reputation, OSINT and lookup providers (fast)
    "virustotal",
    "abuseipdb",
    "shodan",
    "shodan_internetdb",
    "greynoise",
    "otx",
    "urlhaus",
    "threatfox",
    "malwarebazaar",
    "ipinfo",
    "urlscan_search",
    "google_safe_browsing",
    "pulsedive",
    "circl_hashlookup",
    "crtsh",
    "rdap",
    "emailrep",
    "hibp",
    "misp",
    "ipqualityscore",
    "doh_resolve",
    "cloudflare_security_dns",
    # Sandboxes (slow: submit, then poll)
    "virustotal_url_scan",
    "urlscan_scan",
    "joe_sandbox",
    "hybrid_analysis",
    "anyrun",
    "triage",
    # Local analysers (no network, no key)
    "watchlist",
    "domain_profile",
    "ip_profile",
)
PLUGINS: tuple[ModuleType, ...] = tuple(importlib.import_module(f"plugins.{name}") for name in MODULE_NAMES)
BY_NAME: dict[str, ModuleType] = {module.SPEC.name: module for module in PLUGINS}


@dataclass(frozen=True)
class Status:
    """Whether a plugin is enabled under some settings, and why not."""

    enabled: bool
    reason: str


def spec(name: str) -> PluginSpec:
    """Return the spec of a registered plugin (KeyError for an unknown name)."""
    return BY_NAME[name].SPEC


def status(plugin: PluginSpec, settings: Settings) -> Status:
    """Decide whether a plugin is enabled: operator switches first, then its variables."""
    if settings.plugins_allow is not None and plugin.name not in settings.plugins_allow:
        return Status(False, "not listed in SOCBUDDY_PLUGINS")
    if plugin.name in settings.plugins_deny:
        return Status(False, "listed in SOCBUDDY_DISABLED_PLUGINS")
    if plugin.key_var and plugin.key != "none" and not settings.var(plugin.key_var):
        return Status(False, f"{plugin.key_var} is not set")
    if plugin.remote and (plugin.needs_url or not plugin.default_url) and not settings.var(plugin.url_var):
        return Status(False, f"{plugin.url_var} is not set")
    return Status(True, "enabled")


def enabled(settings: Settings) -> list[PluginSpec]:
    """Return the enabled plugins in registry order."""
    return [m.SPEC for m in PLUGINS if status(m.SPEC, settings).enabled]


def choose(settings: Settings, ioc: Ioc, requested: list[str] | None) -> list[PluginSpec]:
    """Return the plugins to run: requested (or all), known, enabled and supporting the IOC."""
    wanted = _wanted(requested)
    return [p for p in enabled(settings) if (wanted is None or p.name in wanted) and p.supports(ioc)]


def _wanted(requested: list[str] | None) -> set[str] | None:
    """Return the requested plugin names (None: all).

    A name is a plugin's ``name`` exactly, as an IOC type is a type exactly (API.md: "IP" is no
    type): "VirusTotal" or " virustotal " is an unknown name, which is skipped.
    """
    return None if requested is None else set(requested)


def why_none(settings: Settings, ioc: Ioc, requested: list[str] | None) -> str:
    """Say why ``choose`` found no plugin: the disabled ones that would take the IOC, and why."""
    kind = f"{ioc.hash_kind} hash" if ioc.type == "hash" else ioc.type
    wanted = _wanted(requested)
    fitting = [m.SPEC for m in PLUGINS if m.SPEC.supports(ioc) and (wanted is None or m.SPEC.name in wanted)]
    if wanted is not None and not wanted:
        return "the plugins list is empty"
    if not fitting:
        asked = "" if wanted is None else " among the requested plugins"
        unknown = [name for name in dict.fromkeys(requested or ()) if name not in BY_NAME]
        named = ", ".join(repr(name if len(name) <= 40 else name[:37] + "...") for name in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        note = f"; unknown names (matched exactly): {named}{more}" if unknown else ""
        return f"no plugin{asked} supports this {kind} (see GET /api/v1/plugins){note}"
    disabled = [(p.name, state.reason) for p in fitting if not (state := status(p, settings)).enabled]
    # Plugins that miss a key or setting first: the operator's switches left the others out on purpose.
    disabled.sort(key=lambda item: "SOCBUDDY_" in item[1])
    reasons = [f"{name} ({reason})" for name, reason in disabled[:8]]
    more = f" and {len(disabled) - 8} more" if len(disabled) > 8 else ""
    return f"no enabled plugin supports this {kind}; disabled: {', '.join(reasons)}{more}"


def base_url(plugin: PluginSpec, settings: Settings) -> str:
    """Return the plugin's API root from its URL variable or default, without a trailing slash."""
    return (settings.var(plugin.url_var) or plugin.default_url or "").rstrip("/")

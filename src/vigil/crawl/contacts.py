"""The user's table of abuse contacts: which provider hosts a domain or an address range.

A CSV file with a header and the columns ``match,provider,email`` (more columns are
ignored): ``match`` is a domain (it covers its sub-domains), an IP address or a CIDR
network. A find is assigned by its address first (the most specific network that
holds it: hosting providers own address ranges, whatever names point at them), then
by its host name (the longest domain that covers it: for ``.onion`` services and for
finds fetched through a proxy, which have no address). Vigil ships no such table:
which contact a hotline writes to is its own knowledge and agreements.
"""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from vigil.crawl import CrawlUsageError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Contact:
    """A hosting provider and where its abuse desk takes notices."""

    provider: str
    email: str | None


UNKNOWN = Contact("unknown provider", None)


@dataclass(frozen=True)
class Contacts:
    """Domains and networks mapped to contacts."""

    domains: dict[str, Contact]
    networks: tuple[tuple[Network, Contact], ...]

    @classmethod
    def load(cls, path: Path) -> Contacts:
        """Read the CSV table at ``path``; CrawlUsageError names a bad line."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CrawlUsageError(f"{path}: cannot read the contacts table ({exc})") from None
        reader = csv.DictReader(text.splitlines())
        needed = {"match", "provider", "email"}
        if not reader.fieldnames or not needed <= {f.strip().lower() for f in reader.fieldnames}:
            raise CrawlUsageError(f"{path}: the header must name the columns match,provider,email")
        domains: dict[str, Contact] = {}
        networks: list[tuple[Network, Contact]] = []
        for line, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            match, provider = row.get("match", ""), row.get("provider", "")
            if not match or not provider:
                raise CrawlUsageError(f"{path}, line {line}: match and provider are required")
            contact = Contact(provider, row.get("email") or None)
            try:
                networks.append((ipaddress.ip_network(match, strict=False), contact))
            except ValueError:
                domains[match.lower().strip(".")] = contact
        networks.sort(key=lambda n: -n[0].prefixlen)
        return cls(domains, tuple(networks))

    def lookup(self, host: str, ip: str | None) -> Contact:
        """The contact for a find on ``host`` at address ``ip`` (UNKNOWN if none applies)."""
        if ip:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                address = None
            if address is not None:
                for network, contact in self.networks:
                    if address.version == network.version and address in network:
                        return contact
        labels = host.lower().strip(".").split(".")
        for start in range(len(labels)):
            contact = self.domains.get(".".join(labels[start:]))
            if contact is not None:
                return contact
        return UNKNOWN

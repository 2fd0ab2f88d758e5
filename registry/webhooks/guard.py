"""Server-side request forgery guard: a webhook may not point into the platform's own networks.

Every address the host name resolves to must be globally routable (not private, loopback, link-local,
shared, multicast or reserved: ipaddress.is_global), unless the operator listed its network in
KYODO_WEBHOOK_ALLOW_NETWORKS. The check runs when a subscription is saved and again before each
delivery, so a name that later resolves inward (DNS rebinding) is refused at delivery too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from registry.i18n import tr


class TargetRefused(ValueError):
    pass


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow: tuple[str, ...]) -> bool:
    if address.is_global:
        return True
    return any(address in ipaddress.ip_network(n, strict=False) for n in allow)


async def check_target(url: str, allow: tuple[str, ...]) -> None:
    """Raise TargetRefused saying why `url` may not receive webhooks."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise TargetRefused(tr("a webhook URL starts with https:// (or http://)"))
    if not parts.hostname:
        raise TargetRefused(tr("the URL has no host"))
    if parts.username or parts.password:
        raise TargetRefused(tr("put no credentials in the URL; verify the signature instead"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(tr("the port is not a number between 0 and 65535")) from exc
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(tr("the host {hostname} does not resolve", hostname=f"{parts.hostname!r}")) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _allowed(address, allow):
            raise TargetRefused(tr("{hostname} resolves to {address}, a private, loopback or link-local "
                                   "address; webhooks go to public addresses only",
                                   hostname=parts.hostname, address=address))

"""Who a buyer is, for limits: one person must not become many by spelling their address anew.

`cap+1@example.com`, `cap+2@example.com` and `c.a.p@example.com` reach one mailbox at most
providers, so the per-buyer cap counts them as one address. Folding dots for every domain may
join two real people at a company that tells `j.smith` from `jsmith`; for a cap of tickets per
event that costs little, and the opposite lets anyone multiply the cap at will.

A client's network address is kept only as a keyed hash (HMAC under the order-token secret),
an IPv6 client by its /64, which is what one subscriber gets."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

#: Providers that answer to two domains.
_SAME_MAILBOX = {"googlemail.com": "gmail.com"}


def normalised_email(address: str) -> str:
    """The mailbox an address reaches: lower case, no `+tag`, no dots in the local part."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return address.strip().casefold()
    domain = domain.casefold().rstrip(".")
    domain = _SAME_MAILBOX.get(domain, domain)
    base = local.casefold().split("+", 1)[0].replace(".", "")
    return f"{base or local.casefold()}@{domain}"


def buyer_key(account: str | None, email: str) -> str:
    """Who a buyer is for the per-buyer rate limit: their account, or their mailbox."""
    return f"sub:{account}" if account else f"email:{normalised_email(email)}"


def client_network(host: str) -> str:
    """The network one client sends from: the address itself, or an IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_key(secret: bytes, host: str) -> str:
    """A client's network as a keyed hash: enough to count its holds, not to say who it is."""
    digest = hmac.new(secret, f"client:{client_network(host)}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]

"""Who is behind a pixel load or a click: a person, a machine, or a privacy proxy.

The rules and their limits (README, "Engagement tracking"):
- ``HEAD`` never reaches these functions: the views answer it without recording.
- A User-Agent naming a security scanner, link checker, preview bot or HTTP library, or
  no User-Agent at all, is a machine.
- Apple Mail Privacy Protection fetches every image through Apple's proxy when mail
  arrives, whether or not anyone reads it. It sends the bare ``Mozilla/5.0`` User-Agent
  from Apple's network (17.0.0.0/8); such opens are counted apart from people's.
- By behaviour (``behaviour_machine_visitors``, at flush): clicks on several different
  links of one message within seconds of its delivery are a scanner following every
  link, not a reader.
Scanners that copy a browser's User-Agent and follow one link slowly pass as people:
no rule can tell them apart from a reader without more data than we keep.
"""

from __future__ import annotations

import ipaddress
import re

from mailer.engagement.models import Actor, Kind

MACHINE_AGENTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scan|preview|barracuda|mimecast|proofpoint|ironport|"
    r"cisco|fortinet|fortiguard|sophos|symantec|messagelabs|trend ?micro|forcepoint|zscaler|"
    r"fireeye|check ?point|safelinks|existence discovery|linkchecker|link checker|validator|"
    r"curl/|wget/|python|go-http-client|java/|okhttp|libwww|httpclient|headless|phantomjs|"
    r"axios/|node-fetch|facebookexternalhit|whatsapp|skypeuripreview",
    re.IGNORECASE)
APPLE_PROXY_AGENT = "Mozilla/5.0"
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")


def _apple_network(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip) in APPLE_NETWORK
    except ValueError:
        return False


def actor_classify(kind: str, user_agent: str, ip: str | None) -> str:
    agent = user_agent.strip()
    if not agent or MACHINE_AGENTS.search(agent):
        return Actor.MACHINE
    if agent == APPLE_PROXY_AGENT or (kind == Kind.OPEN and _apple_network(ip)):
        # A bare "Mozilla/5.0" click is no mail client either.
        return Actor.PROXY if kind == Kind.OPEN else Actor.MACHINE
    return Actor.PERSON

"""The CLI's way into a node: its config, and its HTTP API with the node's token (or a person's,
from ``DETENTE_API_TOKEN``), its certificate when the API serves TLS, and bounded retries for
requests that are safe to repeat."""

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path
from typing import Any

import click
import httpx2

from detente import config as cfgmod


def _load(home: Path) -> cfgmod.Config:
    try:
        return cfgmod.load(home)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


class Unanswered(click.ClickException):
    """The node could not be reached or answered 503: whether a send was stored is not known."""


def _api(home: Path, method: str, path: str, *, retries: int = 0, raw: bool = False, **kw: Any) -> Any:
    """Call the node's API. With ``retries``, a transport error or a 503 is tried again (after
    0.5 s, 1 s, 2 s, … at most 8 s): only for a request that is safe to repeat, such as a send
    with an idempotency key."""
    cfg = _load(home)
    url = f"{cfgmod.api_url(cfg)}{path}"
    tls = cfgmod.api_tls(cfg)
    # A person's own token (detente token add) when DETENTE_API_TOKEN holds one; else the
    # node's, which acts as the admin node-admin.
    token = os.environ.get("DETENTE_API_TOKEN") or cfgmod.api_token(cfg)
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers_extra", {})}
    timeout = kw.pop("timeout", 30.0)
    for attempt in range(retries + 1):
        last = attempt == retries
        pause = min(0.5 * 2**attempt, 8.0)
        try:
            r = httpx2.request(
                method,
                url,
                # A node's API certificate is the operator's own: trust exactly it (or its CA).
                verify=ssl.create_default_context(cafile=str(tls[0])) if tls else True,
                headers=headers,
                timeout=timeout,
                **kw,
            )
        except httpx2.TransportError as exc:
            if last:
                raise Unanswered(
                    f"cannot reach the node's API at {cfg.api} ({exc.__class__.__name__}); is 'detente serve {home}' running?"
                ) from exc
            click.echo(
                f"the node's API did not answer ({exc.__class__.__name__}); trying again in {pause:g} s",
                err=True,
            )
            time.sleep(pause)
            continue
        if r.status_code == 503 and not last:
            click.echo(f"the node answered 503 ({_detail(r)}); trying again in {pause:g} s", err=True)
            time.sleep(pause)
            continue
        if r.status_code == 503:
            raise Unanswered(_detail(r))
        if r.status_code >= 400:
            raise click.ClickException(_detail(r))
        return r.content if raw else r.json()
    raise AssertionError("unreachable: the last attempt returns or raises")


def _detail(r: httpx2.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))
    except ValueError:
        return r.text

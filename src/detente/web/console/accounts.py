"""The accounts of one exchange side by side: ``/reconcile?ref=…`` (issue 14.5).

Every signed exchange-reconciliation account this node holds for the exchange, whoever signed
it (a party, a mediator, an observer, or a quoted public statement relayed and marked as such),
in columns; a row whose figures differ is marked in words and a sign, never corrected.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from detente.core.formats.exchange import account_words, category_name
from detente.web.api import EXCHANGE_REF, accounts_view
from detente.web.console.deps import Con, SignedIn
from detente.web.i18n import lang_or_default, t

router = APIRouter(include_in_schema=False)


@router.get("/reconcile")
async def reconcile(con: Con, s: SignedIn, ref: Annotated[str, Query(max_length=100)] = "") -> Response:
    lang = lang_or_default(s.user.lang)
    ref = ref.strip()
    view = None
    error = None
    if ref and re.fullmatch(EXCHANGE_REF, ref):
        view = accounts_view(ref, await con.node.exchange_accounts(ref))
    elif ref:
        error = t(lang, "exchange_ref_bad")
    words = account_words(lang)
    return con.render(
        "reconcile.html",
        con.ctx(
            s,
            lang,
            active="",
            banner=None,
            ref=ref,
            view=view,
            error=error,
            words=words,
            category=lambda c: category_name(c, lang),
        ),
        400 if error else 200,
    )

"""Where the console's tables used to be defined; they are the store's now (``store/schema.py``).

Kept so that the console (``web/console.py``) imports them unchanged until the console split
moves its SQL into the store; nothing new should import from here.
"""

from __future__ import annotations

from detente.core.terms import LANGS as LANGS  # re-exported: the user CLI checks against them
from detente.core.terms import ROLES as ROLES
from detente.store.accounts import ensure_tables as ensure_tables
from detente.store.schema import web_drafts as web_drafts
from detente.store.schema import web_prefs as web_prefs
from detente.store.schema import web_sessions as web_sessions
from detente.store.schema import web_users as web_users

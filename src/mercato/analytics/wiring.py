"""Connects analytics to the domains it observes: installs the SQL sink behind
``kit/events.py`` and registers the capture handlers in the lower domains' hook registries
(``orders/hooks.py``, the LIVE room's presence, ``live/gifts/hooks.py``). ``app.create_app`` calls :func:`install` (so
does the demo seeding); installing twice changes nothing."""

from __future__ import annotations

from mercato.analytics.capture import on_gift, on_live_watch, on_order_money
from mercato.analytics.sink import SqlSink
from mercato.config import Settings
from mercato.kit import events
from mercato.live.gifts import hooks as gift_hooks
from mercato.live.room import presence
from mercato.orders import hooks as order_hooks


def install(settings: Settings) -> None:
    current = events.sink()
    if not isinstance(current, SqlSink) or current.attribution.days != settings.analytics_attribution_days:
        events.install_sink(SqlSink(settings.analytics_attribution_days))
    order_hooks.register_order_money(on_order_money)
    presence.register_watch_recorder(on_live_watch)
    gift_hooks.register_gift_listener(on_gift)

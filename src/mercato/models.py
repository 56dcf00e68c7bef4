"""Imports every domain's models so that ``metadata`` knows all tables (Alembic, tests)."""

from mercato.accounts import models as accounts_models
from mercato.affiliate import models as affiliate_models
from mercato.affiliate import money_models as affiliate_money_models
from mercato.analytics import models as analytics_models
from mercato.catalog import models as catalog_models
from mercato.community import models as community_models
from mercato.connections import models as connections_models
from mercato.content import models as content_models
from mercato.feed import models as feed_models
from mercato.inventory import models as inventory_models
from mercato.kit import models as kit_models
from mercato.kit.db import Base
from mercato.ledger import models as ledger_models
from mercato.live import models as live_models
from mercato.live.fanclub import models as live_fanclub_models
from mercato.live.gifts import models as live_gifts_models
from mercato.live.room import models as live_room_models
from mercato.live.selling import models as live_selling_models
from mercato.orders import models as orders_models
from mercato.payments import models as payments_models
from mercato.promotions import models as promotions_models

metadata = Base.metadata

__all__ = [
    "accounts_models", "affiliate_models", "affiliate_money_models", "analytics_models", "catalog_models",
    "community_models", "connections_models", "content_models", "feed_models", "inventory_models", "kit_models",
    "ledger_models", "live_fanclub_models", "live_gifts_models", "live_models", "live_room_models",
    "live_selling_models", "metadata", "orders_models", "payments_models", "promotions_models",
]

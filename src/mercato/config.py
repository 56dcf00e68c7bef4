"""Settings read from the environment (``MERCATO_*``, ``DATABASE_URL``, ``REDIS_URL``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every tunable of the platform. Defaults give the embedded single-process setup."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{ROOT / 'var' / 'mercato.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "MERCATO_DATABASE_URL"),
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "MERCATO_REDIS_URL"))
    media_dir: Path = ROOT / "var" / "media"
    secure_cookies: bool = False
    session_days: int = 30
    # Login throttling: failures counted in a sliding window, per email and per client address.
    login_window_seconds: int = 900
    login_max_failures_per_email: int = 5
    login_max_failures_per_ip: int = 50
    minimum_age: int = 13
    adult_age: int = 18
    # Cap on every request body (kit/limits.py); upload routes declare larger ones from the caps below.
    max_body_bytes: int = 1024 * 1024
    max_image_bytes: int = 10 * 1024 * 1024
    max_import_bytes: int = 20 * 1024 * 1024
    page_size_default: int = 24
    page_size_max: int = 100
    # Anonymous catalog reads are answered from a per-process cache for this long (kit/cache.py;
    # 0 turns it off). Catalog writes in the same process empty it at once.
    catalog_cache_seconds: float = 15.0
    demo_password: str = "mercato-demo"
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    # --- buying loop (TikTok Shop defaults; docs/orders.md) ---
    reservation_ttl_seconds: int = 15 * 60
    buyer_cancel_window_seconds: int = 60 * 60
    return_window_days: int = 30
    return_answer_hours: int = 48
    review_window_days: int = 60
    settlement_days: int = 7
    payout_hold_hours: int = 48
    platform_fee_bps: int = 600  # 6 % referral fee
    max_cart_quantity: int = 99
    idempotency_lock_seconds: int = 60
    payment_provider: str = "sandbox"  # sandbox | stripe
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    # Standard Webhooks secret the sandbox provider signs its webhooks with ("whsec_" + base64).
    sandbox_webhook_secret: str = "whsec_bWVyY2F0by1zYW5kYm94LXdlYmhvb2stc2VjcmV0LTAx"
    sandbox_webhook_delay_seconds: float = 1.0
    public_base_url: str = "http://127.0.0.1:8000"  # where providers reach this app (webhooks)
    fault_point: str | None = None  # crash-safety tests only: see kit/faults.py
    run_jobs: bool = True
    settle_heap: bool = True  # freeze startup's objects, raise the GC threshold (kit/heap.py)
    job_interval_scale: float = 1.0  # tests shrink every job interval
    slow_statement_ms: float = 200.0  # a SQL statement this slow is logged (kit/sql/observer.py)
    loop_lag_warn_ms: float = 250.0  # event-loop lag above this is logged (kit/loop_lag.py)
    loop_lag_interval_seconds: float = 0.5  # how often the loop's lag is measured

    # --- videos (docs/videos.md) ---
    max_video_bytes: int = 200 * 1024 * 1024
    max_video_seconds: int = 10 * 60
    max_video_anchors: int = 6
    max_caption_chars: int = 2200
    max_comment_chars: int = 500

    # --- For You feed (docs/feed.md explains every weight) ---
    feed_page_size: int = 10
    feed_seen_window_hours: int = 72  # a seen (watched or skipped) video is not shown again within this
    feed_affinity_half_life_hours: float = 72.0
    feed_trending_half_life_hours: float = 6.0
    feed_fresh_hours: int = 48  # videos younger than this with few impressions get exposure
    feed_fresh_impressions: int = 200
    feed_candidates_per_source: int = 200
    feed_index_refresh_seconds: float = 2.0  # in-process index picks up new videos and scores
    feed_candidates_ttl_seconds: float = 5.0  # a viewer's ranked candidate list is reused this long
    feed_body_cache_seconds: float = 60.0  # viewer-independent VideoOut parts (creator, products) cached
    feed_served_flush_seconds: float = 0.1  # served pages' impressions written in one batch this often
    feed_cursor_served_max: int = 200  # ids already served in this session carried in the For You cursor
    feed_neighbours_refresh_seconds: float = 300.0  # collaborative neighbour table rebuilt in the background
    feed_neighbours_days: int = 14  # engagement this recent feeds the neighbour table
    feed_neighbours_events: int = 200_000  # at most this many recent engagement rows read per rebuild
    feed_weight_affinity: float = 1.0
    feed_weight_creator: float = 0.8
    feed_weight_following: float = 0.6
    feed_weight_collaborative: float = 0.9
    feed_weight_trending: float = 0.5
    feed_weight_quality: float = 0.3
    feed_weight_fresh: float = 0.4
    feed_exploration_share: float = 0.1  # share of a page given to exploration
    feed_personalised_default: bool = True
    # Client-reported engagement (POST /feed/events): a signed-in viewer's events of one kind on one
    # video count toward its views and scores at most this many times per window; anonymous events
    # never count (docs/feed.md, "What a script cannot buy").
    feed_counted_events_per_video: int = 2
    feed_count_window_hours: int = 24
    # The learned ranker (docs/feed.md, "The learned ranker"): a share of logged-in pages is logged
    # with the features of every item and its slot's propensity; a job retrains on that log.
    feed_training_log_share: float = 0.2  # share of logged-in viewers' pages logged for training
    feed_ranker_retrain_seconds: float = 3600.0  # the training job's period
    feed_ranker_days: int = 14  # logged pages this recent train the model
    feed_ranker_label_hours: float = 2.0  # engagement this soon after an impression makes it positive
    feed_ranker_min_examples: int = 1000  # fewer logged impressions: keep the hand weights
    feed_ranker_min_positives: int = 30  # in each of the training and the validation part
    feed_ranker_validation_share: float = 0.2  # the most recent share of the log validates
    feed_model_check_seconds: float = 30.0  # how often a process looks for a newer promoted model

    # Credentials kept for users (connected stores' tokens) are sealed with this key (kit/secrets.py):
    # a Fernet key, or several comma-separated (the first seals); empty: one generated in the key file.
    secret_key: str = ""
    secret_key_file: Path = ROOT / "var" / "secret.key"

    # --- LIVE (docs/live.md) ---
    live_host_min_followers: int = 1000  # an adult creator needs this many followers to go LIVE (PRODUCT.md C1)
    live_grace_seconds: int = 60  # a publisher that reconnects within this resumes the same LIVE
    live_ingest: bool = True  # the app runs the RTMP ingest (one process binds the port; the others serve HLS only)
    rtmp_host: str = "127.0.0.1"  # 0.0.0.0 to accept OBS from other machines
    rtmp_port: int = 1935
    # The RTMP URL publishers are told (``ingest_url`` is this + "/<stream key>"); empty: rtmp://<rtmp_host>:<port>/live
    rtmp_public_url: str = ""
    hls_segment_seconds: float = 2.0  # target segment length (cut on the publisher's keyframes)
    hls_list_size: int = 6  # segments in the sliding live playlist
    live_demo: bool = False  # `mercato serve --demo` sets it: a demo creator's LIVE loops a clip into the ingest
    # The room (docs/live.md, "Room"): chat length, recent chat kept for a (re)joining client,
    # the frames a member may fall behind before it gets a snapshot instead, likes burst period.
    live_chat_max_chars: int = 200
    live_recent_chat: int = 50
    live_member_queue_frames: int = 256
    live_likes_interval_ms: int = 250
    live_bag_page: int = 20
    live_schedule_max_days: int = 90  # how far ahead a LIVE may be scheduled

    # --- analytics capture (docs/analytics.md) ---
    analytics_raw_retention_days: int = 30  # raw events kept, then pruned (rollups are kept)
    analytics_attribution_days: int = 7  # a product-card click credits the add to cart / purchase after it

    # --- Fan Club and community events (live/fanclub, community; docs/community.md) ---
    fan_points_per_watch_minute: int = 1
    fan_watch_points_cap_per_live: int = 60  # watch points a fan earns in one LIVE at most
    fan_points_per_comment: int = 1
    fan_comment_points_cap_per_day: int = 20  # comment points a fan earns per host and UTC day at most
    fan_points_per_coin: int = 1  # gift coins → points
    # Points needed for levels 1..10 (level 1 from joining); ten increasing numbers.
    fan_level_thresholds: list[int] = [0, 50, 150, 400, 800, 1500, 3000, 6000, 12000, 25000]
    fan_lapse_days: int = 7  # a member with no points within this many days of a host's LIVE lapses
    fan_page_size: int = 50

    # Creator earnings (docs/ledger.md, "Creator earnings"): the smallest creator payout, in minor
    # units of the payout's currency (below it the payout is refused: 409 below_payout_minimum).
    creator_payout_minimum: int = 1000

    # --- coins and gifts (docs/gifts.md) ---
    # Coin packs: key → (coins, price in minor units of ``coin_currency``); MERCATO_COIN_PACKS as JSON overrides them.
    coin_packs: dict[str, tuple[int, int]] = {
        "coins_65": (65, 99), "coins_330": (330, 499), "coins_1321": (1321, 1999), "coins_3303": (3303, 4999)}
    coin_currency: str = "USD"
    gift_host_share_bps: int = 5000  # the host's share of a gift's money value (the rest is platform gift revenue)
    gift_combo_seconds: float = 5.0  # the same gift again from the same sender within this counts up the combo

    # --- affiliate plans (docs/affiliate.md, "Plans", "Eligibility", "Samples", "Showcase") ---
    affiliate_min_followers: int = 1000  # an adult creator needs this many followers to join a plan (PRODUCT.md)
    affiliate_default_rate_bps: int = 1000  # a new open plan's proposed commission (10 %)
    affiliate_rate_cut_days: int = 30  # promoting a product this long keeps a creator's rate through a cut
    affiliate_sample_post_days: int = 14  # an approved sample's creator is reminded to post within this
    affiliate_showcase_max: int = 2000  # products on one showcase (PRODUCT.md)

    # --- affiliate attribution (docs/affiliate.md, "Attribution"; branch affiliate-money) ---
    affiliate_click_window_days: int = 7  # a click older than this at payment earns nothing
    affiliate_view_window_hours: int = 24  # a view (showcase visit) counts only this long, and only without a click
    affiliate_dedupe_seconds: int = 30 * 60  # same visitor, creator, product and kind within this: one touchpoint
    affiliate_visitor_cookie_days: int = 30


    # --- rate limits (kit/ratelimit.py; the syntax of the ``limits`` package, every rate must hold) ---
    rate_limit_signup: str = "20/hour;100/day"  # per client address
    rate_limit_password: str = "10/hour"  # per user: current-password guessing
    rate_limit_comment: str = "20/minute;500/day"
    rate_limit_share: str = "30/minute;500/day"
    rate_limit_follow: str = "60/minute;1000/day"  # follow, unfollow, block, unblock
    rate_limit_report: str = "20/hour"
    rate_limit_coupon: str = "20/minute;200/day"  # coupon codes tried (preview, quote): code guessing
    rate_limit_search: str = "60/minute"
    rate_limit_feed_events: str = "60/minute"  # calls, each with up to 100 events
    rate_limit_checkout: str = "20/minute;300/day"
    # per user, checkouts carrying live_id: a person taps "buy" a few times; a script bursts (anti-scalping)
    rate_limit_live_buy: str = "3/10 seconds;10/minute"
    rate_limit_shop_import: str = "60/hour"  # per shop
    rate_limit_live_chat: str = "5/10second;60/minute"  # room chat, per user: answered with an error frame
    rate_limit_live_like: str = "20/second"  # like frames (each up to 50 taps), per user
    rate_limit_analytics_beacons: str = "120/minute"  # beacon calls (each up to 100 events), per user or address

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

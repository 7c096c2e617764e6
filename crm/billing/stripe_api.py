"""The one door to Stripe: a ``StripeClient`` for the configured key and API base (Stripe itself,
or the local fake of tests/fake_stripe.py), answers turned into plain dicts, and the webhook
signature check. Nothing else in the app imports ``stripe``."""

import json
from functools import lru_cache
from urllib.parse import urlsplit

import stripe
from flask import current_app

StripeError = stripe.StripeError
InvalidRequestError = stripe.InvalidRequestError
REAL_API = "api.stripe.com"
# Where Stripe's hosted pages live (Checkout, Customer Portal): the billing page's forms are
# allowed to navigate there (CSP form-action), as a plain form POST answered with a redirect.
STRIPE_HOSTED_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")
# Seconds to connect and to read: a webhook must answer quickly, and so must the billing page.
TIMEOUT = (5, 20)


def client() -> stripe.StripeClient:
    config = current_app.config
    return _client(config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"].rstrip("/"))


@lru_cache(maxsize=8)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    """One client (and its HTTP connection pool) per key and base; retries stay with the caller:
    Stripe retries webhooks, and a person clicks again."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
        max_network_retries=0,
    )


def plain(obj) -> dict:
    """A Stripe answer as plain dicts and lists (``StripeObject`` is not a dict)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def live_mode() -> bool:
    """Whether the configured key is a live one (its events say ``livemode: true``)."""
    return current_app.config["STRIPE_SECRET_KEY"].startswith(("sk_live_", "rk_live_"))


def hosted_origins() -> tuple[str, ...]:
    """Origins of the hosted pages: Stripe's, or the fake's own (it serves them at its API base)."""
    base = urlsplit(current_app.config["STRIPE_API_BASE"])
    if base.hostname == REAL_API:
        return STRIPE_HOSTED_ORIGINS
    return (f"{base.scheme}://{base.netloc}",)


class BadWebhook(ValueError):
    """The body is not a Stripe event signed with our endpoint secret, recently."""


def verified_event(payload: bytes, signature: str | None, tolerance: int = 300) -> dict:
    """The event of a webhook request, after checking its ``Stripe-Signature`` (HMAC of the raw
    body with STRIPE_WEBHOOK_SECRET, timestamp within ``tolerance`` seconds). Raises BadWebhook."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret:  # an empty secret would make anyone's HMAC valid
        raise BadWebhook("STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
        raise BadWebhook(str(error)) from error
    if not isinstance(event, dict) or event.get("object") != "event":
        raise BadWebhook("not a Stripe event")
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadWebhook("event without id or type")
    if not isinstance(event.get("created"), int) or isinstance(event["created"], bool):
        raise BadWebhook("event without created")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise BadWebhook("event without data.object")
    return event

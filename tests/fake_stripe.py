"""A small fake of Stripe's API and hosted pages, for tests and offline demos (no internet, no
stripe-mock). stripe-python is pointed at it with ``StripeClient(key, base_addresses={"api": url})``
(the app's ``STRIPE_API_BASE``).

It implements exactly what Kehu calls, with Stripe's object shapes (API version 2025-03-31 and
later: the billing period lives on the subscription items, an invoice names its subscription
under ``parent.subscription_details``) and Stripe's form-encoded requests:

* ``POST /v1/customers``, ``GET /v1/customers/<id>`` (with ``Idempotency-Key`` honoured)
* ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/<id>``
* ``POST /v1/billing_portal/sessions``
* ``GET|POST|DELETE /v1/subscriptions/<id>``, ``POST /v1/subscription_items/<id>``
* ``GET /v1/invoices/<id>``, ``GET /v1/prices/<id>``

and the pages a customer sees: Checkout (``/checkout/<session>``, with a Pay button that creates
the subscription, sends the signed webhooks and goes to the session's success_url), the Customer
Portal (``/portal/<session>``: cancel, resume, change plan, and for demos a failed and a paid
renewal) and hosted invoices (``/invoices/<id>``).

Webhooks are signed as Stripe signs them (``Stripe-Signature: t=...,v1=<HMAC-SHA256>``) and sent
to ``webhook_url`` when one is set; every event is also kept in ``events`` for tests.

Run it for ``make run`` demos::

    python -m tests.fake_stripe --port 12111 \\
        --webhook-url http://127.0.0.1:5000/billing/webhook --webhook-secret whsec_demo
"""

import argparse
import contextlib
import copy
import html
import itertools
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe

log = logging.getLogger("fake_stripe")

API_VERSION = "2025-03-31.basil"
MONTH = 30 * 24 * 3600
DEFAULT_PRICES = {
    "price_team": {"name": "Team", "unit_amount": 1500, "currency": "usd"},
    "price_business": {"name": "Business", "unit_amount": 4000, "currency": "usd"},
}


class StripeHTTPError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    def body(self) -> dict:
        kind = "authentication_error" if self.status == 401 else "invalid_request_error"
        return {"error": {"type": kind, "message": self.message, "code": self.code, "param": self.param}}


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding back to nested values: ``a[b][0][c]=v`` -> {"a": {"b": [{"c": "v"}]}}."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key) or [key]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {key: _lists(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


def _flag(value) -> bool:
    return str(value).lower() == "true"


class FakeStripe:
    """The fake's state and operations; ``start()`` serves them over HTTP on 127.0.0.1."""

    def __init__(self, port: int = 0, webhook_url: str | None = None, webhook_secret: str = "whsec_fake_stripe",  # noqa: S107
                 prices: dict | None = None, host: str = "127.0.0.1"):  # fmt: skip
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.base_prices = prices or DEFAULT_PRICES
        self.lock = threading.RLock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStripe":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict] = {}
            self.checkout_sessions: dict[str, dict] = {}
            self.portal_sessions: dict[str, dict] = {}
            self.subscriptions: dict[str, dict] = {}
            self.invoices: dict[str, dict] = {}
            self.events: list[dict] = []
            self.deliveries: list[tuple[str, int | None]] = []  # (event id, HTTP status or None)
            self.requests: list[tuple[str, str, dict]] = []  # (method, path, params) of API calls
            self.idempotent: dict[str, tuple[int, dict]] = {}
            self.clock_offset = 0
            self.prices = {pid: self._price(pid, **values) for pid, values in self.base_prices.items()}
            self.fail_api = False  # True: every API call answers 500, as an outage would
            self._numbers = itertools.count(1)

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def calls(self, method: str, path_prefix: str) -> list[dict]:
        """Params of the API calls made so far with this method and path prefix."""
        return [params for m, path, params in self.requests if m == method and path.startswith(path_prefix)]

    # --- objects -----------------------------------------------------------------------------

    @staticmethod
    def new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    def _price(self, price_id: str, name: str, unit_amount: int, currency: str = "usd") -> dict:
        return {
            "id": price_id, "object": "price", "active": True, "billing_scheme": "per_unit", "created": self.now(),
            "currency": currency, "livemode": False, "lookup_key": None, "metadata": {}, "nickname": name,
            "product": f"prod_{price_id.removeprefix('price_')}", "recurring": {
                "interval": "month", "interval_count": 1, "meter": None, "usage_type": "licensed"},
            "tax_behavior": "unspecified", "type": "recurring", "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        }  # fmt: skip

    def create_customer(self, params: dict) -> dict:
        customer = {
            "id": self.new_id("cus"), "object": "customer", "address": None, "balance": 0, "created": self.now(),
            "currency": None, "default_source": None, "delinquent": False, "description": params.get("description"),
            "email": params.get("email"), "invoice_prefix": secrets.token_hex(4).upper(), "livemode": False,
            "metadata": params.get("metadata") or {}, "name": params.get("name"), "phone": None,
            "preferred_locales": [], "tax_exempt": "none",
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
        }  # fmt: skip
        self.customers[customer["id"]] = customer
        return customer

    def create_checkout_session(self, params: dict) -> dict:
        if params.get("mode") != "subscription":
            raise StripeHTTPError(400, "This fake only knows mode=subscription.", param="mode")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise StripeHTTPError(400, f"No such customer: '{customer}'", "resource_missing", "customer")
        items = params.get("line_items") or []
        if not items:
            raise StripeHTTPError(400, "line_items is required in subscription mode.", param="line_items")
        for index, item in enumerate(items):
            if item.get("price") not in self.prices:
                raise StripeHTTPError(400, f"No such price: '{item.get('price')}'", "resource_missing",
                                      f"line_items[{index}][price]")  # fmt: skip
        if not params.get("success_url"):
            raise StripeHTTPError(400, "success_url is required.", param="success_url")
        session_id = self.new_id("cs_test")
        session = {
            "id": session_id, "object": "checkout.session", "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"), "created": self.now(),
            "currency": self.prices[items[0]["price"]]["currency"], "customer": customer,
            "customer_email": params.get("customer_email"), "expires_at": self.now() + 24 * 3600,
            "invoice": None, "livemode": False, "locale": params.get("locale"),
            "metadata": params.get("metadata") or {}, "mode": "subscription", "payment_status": "unpaid",
            "status": "open", "subscription": None, "success_url": params["success_url"],
            "url": f"{self.url}/checkout/{session_id}",
            "amount_total": sum(self.prices[i["price"]]["unit_amount"] * int(i.get("quantity", 1)) for i in items),
        }  # fmt: skip
        # Kept aside, as Stripe keeps them (line_items is only returned when expanded).
        session["_line_items"] = [{"price": i["price"], "quantity": int(i.get("quantity", 1))} for i in items]
        session["_subscription_data"] = params.get("subscription_data") or {}
        self.checkout_sessions[session_id] = session
        return session

    def create_portal_session(self, params: dict) -> dict:
        customer = params.get("customer")
        if customer not in self.customers:
            raise StripeHTTPError(400, f"No such customer: '{customer}'", "resource_missing", "customer")
        session_id = self.new_id("bps")
        session = {
            "id": session_id, "object": "billing_portal.session", "configuration": "bpc_fake", "created": self.now(),
            "customer": customer, "flow": None, "livemode": False, "locale": params.get("locale"),
            "on_behalf_of": None, "return_url": params.get("return_url"), "url": f"{self.url}/portal/{session_id}",
        }  # fmt: skip
        self.portal_sessions[session_id] = session
        return session

    def _subscription(self, customer: str, price_id: str, quantity: int, metadata: dict, trial_end: int | None) -> dict:
        now = self.now()
        subscription_id = self.new_id("sub")
        period_end = trial_end or now + MONTH
        item = {
            "id": self.new_id("si"), "object": "subscription_item", "created": now,
            "current_period_start": now, "current_period_end": period_end, "discounts": [], "metadata": {},
            "price": copy.deepcopy(self.prices[price_id]), "quantity": quantity, "subscription": subscription_id,
            "tax_rates": [],
        }  # fmt: skip
        return {
            "id": subscription_id, "object": "subscription", "application": None,
            "billing_cycle_anchor": period_end, "cancel_at": None, "cancel_at_period_end": False,
            "canceled_at": None, "collection_method": "charge_automatically", "created": now,
            "currency": self.prices[price_id]["currency"], "customer": customer, "days_until_due": None,
            "default_payment_method": self.new_id("pm"), "description": None, "discounts": [], "ended_at": None,
            "items": {"object": "list", "data": [item], "has_more": False, "total_count": 1,
                      "url": f"/v1/subscription_items?subscription={subscription_id}"},
            "latest_invoice": None, "livemode": False, "metadata": metadata, "pause_collection": None,
            "start_date": now, "status": "trialing" if trial_end else "active", "trial_end": trial_end,
            "trial_start": now if trial_end else None,
        }  # fmt: skip

    def _invoice(self, subscription: dict, paid: bool, reason: str, amount: int | None = None) -> dict:
        item = subscription["items"]["data"][0]
        if amount is None:
            amount = 0 if subscription["status"] == "trialing" else item["price"]["unit_amount"] * item["quantity"]
        invoice_id = self.new_id("in")
        customer = self.customers.get(subscription["customer"], {})
        invoice = {
            "id": invoice_id, "object": "invoice", "account_country": "US", "amount_due": amount,
            "amount_paid": amount if paid else 0, "amount_remaining": 0 if paid else amount,
            "attempt_count": 1, "attempted": True, "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": self.now(), "currency": subscription["currency"], "customer": subscription["customer"],
            "customer_email": customer.get("email"), "customer_name": customer.get("name"),
            "hosted_invoice_url": f"{self.url}/invoices/{invoice_id}",
            "invoice_pdf": f"{self.url}/invoices/{invoice_id}.pdf",
            "livemode": False, "metadata": {},
            "number": f"{customer.get('invoice_prefix', 'FAKE')}-{next(self._numbers):04d}",
            "parent": {"type": "subscription_details", "quote_details": None, "subscription_details": {
                "metadata": subscription["metadata"], "subscription": subscription["id"]}},
            "period_start": item["current_period_start"], "period_end": item["current_period_end"],
            "status": "paid" if paid else "open", "subtotal": amount, "total": amount,
            "lines": {"object": "list", "has_more": False, "total_count": 1, "url": f"/v1/invoices/{invoice_id}/lines",
                      "data": [{"id": self.new_id("il"), "object": "line_item", "amount": amount,
                                "currency": subscription["currency"], "quantity": item["quantity"],
                                "pricing": {"price_details": {"price": item["price"]["id"]},
                                            "type": "price_details"}}]},
        }  # fmt: skip
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def event(self, kind: str, obj: dict, previous: dict | None = None, created: int | None = None) -> dict:
        """An event as Stripe sends it (a snapshot of ``obj``), kept in ``events``."""
        data = {"object": {k: v for k, v in copy.deepcopy(obj).items() if not k.startswith("_")}}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"), "object": "event", "api_version": API_VERSION,
            "created": self.now() if created is None else created, "data": data, "livemode": False,
            "pending_webhooks": 1, "request": {"id": self.new_id("req"), "idempotency_key": None}, "type": kind,
        }  # fmt: skip
        self.events.append(event)
        return event

    # --- what customers do on the hosted pages ------------------------------------------------

    def complete_checkout(self, session_id: str) -> list[dict]:
        """The customer paid: the subscription and its first invoice exist; returns the events."""
        with self.lock:
            session = self.checkout_sessions[session_id]
            if session["status"] != "open":
                raise StripeHTTPError(400, "This Checkout session is no longer open.")
            customer = session["customer"] or self.create_customer({"email": session["customer_email"]})["id"]
            line = session["_line_items"][0]
            data = session["_subscription_data"]
            trial_end = int(data["trial_end"]) if data.get("trial_end") else None
            subscription = self._subscription(customer, line["price"], line["quantity"], data.get("metadata") or {},
                                              trial_end)  # fmt: skip
            self.subscriptions[subscription["id"]] = subscription
            invoice = self._invoice(subscription, paid=True, reason="subscription_create")
            session.update(status="complete", payment_status="paid", subscription=subscription["id"],
                           customer=customer, invoice=invoice["id"], url=None)  # fmt: skip
            return [
                self.event("customer.subscription.created", subscription),
                self.event("invoice.paid", invoice),
                self.event("checkout.session.completed", session),
            ]

    def subscription_of(self, customer: str) -> dict | None:
        """The customer's newest subscription."""
        mine = [s for s in self.subscriptions.values() if s["customer"] == customer]
        return max(mine, key=lambda s: s["created"], default=None)

    def _updated(self, subscription: dict, before: dict) -> dict:
        previous = {key: before[key] for key in before if before[key] != subscription.get(key)}
        return self.event("customer.subscription.updated", subscription, previous)

    def set_cancel_at_period_end(self, subscription_id: str, cancel: bool) -> list[dict]:
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            before = {
                "cancel_at_period_end": subscription["cancel_at_period_end"],
                "canceled_at": subscription["canceled_at"],
            }
            subscription["cancel_at_period_end"] = cancel
            subscription["canceled_at"] = self.now() if cancel else None
            return [self._updated(subscription, before)]

    def cancel_now(self, subscription_id: str) -> list[dict]:
        """The subscription ends (at once, or because its period ran out while canceling)."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            now = self.now()
            subscription.update(status="canceled", ended_at=now, canceled_at=subscription["canceled_at"] or now)
            return [self.event("customer.subscription.deleted", subscription)]

    def change_price(self, subscription_id: str, price_id: str) -> list[dict]:
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            item = subscription["items"]["data"][0]
            before = {"items": copy.deepcopy(subscription["items"])}
            item["price"] = copy.deepcopy(self.prices[price_id])
            return [self._updated(subscription, before)]

    def fail_renewal(self, subscription_id: str) -> list[dict]:
        """The renewal's payment fails: an open invoice, the subscription past due."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            before = {"status": subscription["status"], "latest_invoice": subscription["latest_invoice"]}
            self._advance_period(subscription)
            invoice = self._invoice(subscription, paid=False, reason="subscription_cycle")
            subscription["status"] = "past_due"
            return [self.event("invoice.payment_failed", invoice), self._updated(subscription, before)]

    def pay_open_invoice(self, subscription_id: str) -> list[dict]:
        """The customer updated the card and the open invoice is paid: active again."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            invoice = self.invoices[subscription["latest_invoice"]]
            invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
            before = {"status": subscription["status"]}
            if subscription["status"] == "canceled":  # an ended subscription stays ended; its debt is paid
                return [self.event("invoice.paid", invoice)]
            subscription["status"] = "active"
            return [self.event("invoice.paid", invoice), self._updated(subscription, before)]

    def _advance_period(self, subscription: dict) -> None:
        item = subscription["items"]["data"][0]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] = item["current_period_start"] + MONTH

    # --- the API ------------------------------------------------------------------------------

    def api(self, method: str, path: str, params: dict, idempotency_key: str | None) -> tuple[int, dict]:
        with self.lock:
            self.requests.append((method, path, params))
            if self.fail_api:
                return 500, {"error": {"type": "api_error", "message": "The fake is down, as asked."}}
            if idempotency_key and (method, path, idempotency_key) in self.idempotent:
                return self.idempotent[(method, path, idempotency_key)]
            try:
                answer = 200, self._route(method, path, params)
            except StripeHTTPError as error:
                answer = error.status, error.body()
            if idempotency_key and method == "POST":
                self.idempotent[(method, path, idempotency_key)] = answer
            return answer

    def _route(self, method: str, path: str, params: dict) -> dict:
        routes = [
            ("POST", r"/v1/customers", lambda: self.create_customer(params)),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", lambda id: self._get(self.customers, id, "customer")),
            ("POST", r"/v1/checkout/sessions", lambda: self.create_checkout_session(params)),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)",
             lambda id: self._get(self.checkout_sessions, id, "checkout.session")),
            ("POST", r"/v1/billing_portal/sessions", lambda: self.create_portal_session(params)),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", lambda id: self._get(self.subscriptions, id, "subscription")),
            ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", lambda id: self._update_subscription(id, params)),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", lambda id: self._api_cancel(id)),
            ("POST", r"/v1/subscription_items/(?P<id>[^/]+)", lambda id: self._update_item(id, params)),
            ("GET", r"/v1/invoices/(?P<id>[^/]+)", lambda id: self._get(self.invoices, id, "invoice")),
            ("GET", r"/v1/prices/(?P<id>[^/]+)", lambda id: self._get(self.prices, id, "price")),
        ]  # fmt: skip
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return self._public(action(**match.groupdict()))
        raise StripeHTTPError(404, f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in copy.deepcopy(obj).items() if not k.startswith("_")}

    @staticmethod
    def _get(table: dict, object_id: str, kind: str) -> dict:
        if object_id not in table:
            raise StripeHTTPError(404, f"No such {kind}: '{object_id}'", "resource_missing", "id")
        return table[object_id]

    def _update_subscription(self, subscription_id: str, params: dict) -> dict:
        subscription = self._get(self.subscriptions, subscription_id, "subscription")
        if subscription["status"] == "canceled":
            raise StripeHTTPError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        before = {"items": copy.deepcopy(subscription["items"]),
                  "cancel_at_period_end": subscription["cancel_at_period_end"],
                  "metadata": copy.deepcopy(subscription["metadata"])}  # fmt: skip
        for change in params.get("items") or []:
            item = next((i for i in subscription["items"]["data"] if i["id"] == change.get("id")), None)
            if item is None:
                raise StripeHTTPError(
                    400, f"No such subscription item: '{change.get('id')}'", "resource_missing", "items"
                )
            self._change_item(item, change)
        if "cancel_at_period_end" in params:
            subscription["cancel_at_period_end"] = _flag(params["cancel_at_period_end"])
        if "metadata" in params:
            subscription["metadata"].update(params["metadata"])
        self._emit_later([self._updated(subscription, before)])
        return subscription

    def _update_item(self, item_id: str, params: dict) -> dict:
        for subscription in self.subscriptions.values():
            for item in subscription["items"]["data"]:
                if item["id"] == item_id:
                    before = {"items": copy.deepcopy(subscription["items"])}
                    self._change_item(item, params)
                    self._emit_later([self._updated(subscription, before)])
                    return item
        raise StripeHTTPError(404, f"No such subscription item: '{item_id}'", "resource_missing", "id")

    def _change_item(self, item: dict, change: dict) -> None:
        if "quantity" in change:
            quantity = int(change["quantity"])
            if quantity < 1:
                raise StripeHTTPError(400, "Quantity must be at least 1.", param="quantity")
            item["quantity"] = quantity
        if "price" in change:
            if change["price"] not in self.prices:
                raise StripeHTTPError(400, f"No such price: '{change['price']}'", "resource_missing", "price")
            item["price"] = copy.deepcopy(self.prices[change["price"]])

    def _api_cancel(self, subscription_id: str) -> dict:
        self._get(self.subscriptions, subscription_id, "subscription")
        self._emit_later(self.cancel_now(subscription_id))
        return self.subscriptions[subscription_id]

    # --- webhooks -----------------------------------------------------------------------------

    def sign(self, payload: str, timestamp: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header Stripe would send with this body."""
        return stripe.WebhookSignature.generate_signature_header(payload, secret or self.webhook_secret, timestamp)

    def deliver(self, events: list[dict]) -> None:
        """POSTs the events, signed, to ``webhook_url`` (if set), one after the other."""
        if not self.webhook_url:
            return
        for event in events:
            payload = json.dumps(event)
            request = urllib.request.Request(  # noqa: S310  (an http URL we set)
                self.webhook_url,
                data=payload.encode(),
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": self.sign(payload),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  (an http URL we set)
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                log.warning("webhook %s not delivered: %s", event["id"], error)
                status = None
            self.deliveries.append((event["id"], status))

    def _emit_later(self, events: list[dict]) -> None:
        """Events caused by an API call reach the app after the call's answer, as with Stripe."""
        if self.webhook_url:
            threading.Timer(0.05, self.deliver, args=(events,)).start()

    # --- HTTP ---------------------------------------------------------------------------------

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                log.debug("%s " + format, self.address_string(), *args)

            def do_GET(self):
                self._dispatch("GET")

            def do_POST(self):
                self._dispatch("POST")

            def do_DELETE(self):
                self._dispatch("DELETE")

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(body if method == "POST" else parts.query, keep_blank_values=True)
                if parts.path.startswith("/v1/"):
                    self._api(method, parts.path, unflatten(pairs))
                else:
                    self._page(method, parts.path, dict(pairs))

            def _api(self, method: str, path: str, params: dict) -> None:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer sk_"):
                    status, answer = 401, StripeHTTPError(401, "Invalid API Key provided.").body()
                else:
                    status, answer = fake.api(method, path, params, self.headers.get("Idempotency-Key"))
                self._send(status, json.dumps(answer), "application/json",
                           {"Request-Id": fake.new_id("req"), "Stripe-Version": API_VERSION})  # fmt: skip

            def _page(self, method: str, path: str, form: dict) -> None:
                try:
                    status, content, headers = fake.page(method, path, form)
                except StripeHTTPError as error:
                    status, content, headers = error.status, _html("Error", f"<p>{html.escape(error.message)}</p>"), {}
                self._send(status, content, "text/html; charset=utf-8", headers)

            def _send(self, status: int, content: str, content_type: str, headers: dict) -> None:
                data = content.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def page(self, method: str, path: str, form: dict) -> tuple[int, str, dict]:
        """The hosted pages: Checkout, the Customer Portal, invoices."""
        if match := re.fullmatch(r"/checkout/(cs_test_\w+)", path):
            session = self._get(self.checkout_sessions, match[1], "checkout session")
            if method == "POST":
                return self._pay(session)
            return 200, self._checkout_page(session), {}
        if match := re.fullmatch(r"/portal/(bps_\w+)", path):
            session = self._get(self.portal_sessions, match[1], "portal session")
            if method == "POST":
                return self._portal_action(session, form)
            return 200, self._portal_page(session), {}
        if match := re.fullmatch(r"/invoices/(in_\w+?)(\.pdf)?", path):
            invoice = self._get(self.invoices, match[1], "invoice")
            return 200, self._invoice_page(invoice), {}
        raise StripeHTTPError(404, "Nothing here.")

    def _pay(self, session: dict) -> tuple[int, str, dict]:
        events = self.complete_checkout(session["id"])
        self.deliver(events)  # before the redirect: the page it leads to shows the new plan
        target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        return 303, "", {"Location": target}

    def _checkout_page(self, session: dict) -> str:
        line = session["_line_items"][0]
        price = self.prices[line["price"]]
        amount = price["unit_amount"] * line["quantity"] / 100
        if session["status"] != "open":
            return _html("Checkout", "<p>This Checkout session is complete.</p>")
        body = f"""
<p>Kehu CRM (test mode): <strong>{html.escape(price["nickname"])}</strong>,
{line["quantity"]} x {price["unit_amount"] / 100:.2f} {price["currency"].upper()} a month
= {amount:.2f} {price["currency"].upper()} a month.</p>
<form method="post" action="/checkout/{session["id"]}">
  <p><label for="card">Card number</label> <input id="card" name="card" value="4242 4242 4242 4242"
     autocomplete="cc-number" inputmode="numeric"></p>
  <p><button type="submit">Pay</button></p>
</form>
<p><a href="{html.escape(session["cancel_url"] or "/")}">Back</a></p>"""
        return _html("Checkout", body)

    def _portal_action(self, session: dict, form: dict) -> tuple[int, str, dict]:
        subscription = self.subscription_of(session["customer"])
        if subscription is None:
            raise StripeHTTPError(400, "This customer has no subscription.")
        actions = {
            "cancel": lambda: self.set_cancel_at_period_end(subscription["id"], True),
            "resume": lambda: self.set_cancel_at_period_end(subscription["id"], False),
            "cancel_now": lambda: self.cancel_now(subscription["id"]),
            "fail_renewal": lambda: self.fail_renewal(subscription["id"]),
            "pay": lambda: self.pay_open_invoice(subscription["id"]),
        }
        if form.get("action") == "change" and form.get("price") in self.prices:
            events = self.change_price(subscription["id"], form["price"])
        elif form.get("action") in actions:
            events = actions[form["action"]]()
        else:
            raise StripeHTTPError(400, "Unknown action.")
        self.deliver(events)
        return 303, "", {"Location": f"/portal/{session['id']}"}

    def _portal_page(self, session: dict) -> str:
        subscription = self.subscription_of(session["customer"])
        back = f'<p><a href="{html.escape(session["return_url"] or "/")}">Return to Kehu</a></p>'
        if subscription is None:
            return _html("Billing portal", "<p>No subscription.</p>" + back)
        item = subscription["items"]["data"][0]
        period_end = time.strftime("%Y-%m-%d", time.gmtime(item["current_period_end"]))

        def button(action: str, label: str, extra: str = "") -> str:
            return (f'<form method="post" action="/portal/{session["id"]}"><input type="hidden" name="action" '
                    f'value="{action}">{extra}<button type="submit">{html.escape(label)}</button></form>')  # fmt: skip

        buttons = []
        if subscription["status"] != "canceled":
            if subscription["cancel_at_period_end"]:
                buttons.append(button("resume", "Don't cancel"))
                buttons.append(button("cancel_now", "End the period now"))
            else:
                buttons.append(button("cancel", "Cancel plan"))
            for price in self.prices.values():
                if price["id"] != item["price"]["id"]:
                    hidden = f'<input type="hidden" name="price" value="{price["id"]}">'
                    buttons.append(button("change", f"Change to {price['nickname']}", hidden))
            if subscription["status"] == "past_due":
                buttons.append(button("pay", "Pay the open invoice"))
            else:
                buttons.append(button("fail_renewal", "Simulate a failed renewal"))
        ending = " (cancels at period end)" if subscription["cancel_at_period_end"] else ""
        body = (f"<p>Plan: <strong>{html.escape(item['price']['nickname'])}</strong> x {item['quantity']}, "
                f"status <strong>{subscription['status']}</strong>{ending}, period ends {period_end}.</p>"
                + "".join(buttons) + back)  # fmt: skip
        return _html("Billing portal", body)

    def _invoice_page(self, invoice: dict) -> str:
        amount = f"{invoice['amount_due'] / 100:.2f} {invoice['currency'].upper()}"
        return _html(f"Invoice {invoice['number']}", f"<p>Amount {amount}, status {invoice['status']}.</p>")


def _html(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · Fake Stripe'
            f'</title></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>')  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake Stripe API and hosted pages for Kehu demos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="http://127.0.0.1:5000/billing/webhook")
    parser.add_argument("--webhook-secret", default="whsec_fake_stripe")
    parser.add_argument("--price", action="append", default=[], metavar="ID=NAME:CENTS",
                        help="a price on sale, e.g. price_team=Team:1500 (default: team, business)")  # fmt: skip
    args = parser.parse_args()
    prices = {}
    for spec in args.price:
        price_id, _, rest = spec.partition("=")
        name, _, cents = rest.partition(":")
        prices[price_id] = {"name": name or price_id, "unit_amount": int(cents or 1000), "currency": "usd"}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    fake = FakeStripe(port=args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret,
                      prices=prices or None, host=args.host)  # fmt: skip
    print(f"Fake Stripe on {fake.url}: STRIPE_API_BASE={fake.url} STRIPE_WEBHOOK_SECRET={args.webhook_secret}")
    print(f"Prices: {', '.join(fake.prices)}; webhooks to {args.webhook_url}")
    with contextlib.suppress(KeyboardInterrupt):
        fake._server.serve_forever()


if __name__ == "__main__":
    main()

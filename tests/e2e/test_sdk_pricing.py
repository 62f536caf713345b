"""runapi-core 0.10.1's pricing and account clients, unmodified, against `runapi-mock serve` started with no flags.

One server for the module, configured only by RUNAPI_MOCK_PORT=0 (a free port), so what RunAPI's own local
smoke test expects of a default mock (Demo User, demo@example.com, 5000 cents) is checked as a user gets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from runapi.core import PricingClient, RequestOptions, ValidationError
from runapi.flux_2 import Flux2Client
from runapi.flux_kontext import FluxKontextClient

from runapi_mock.settings import SERVE_OPTIONS
from tests.e2e.sdk_support import closed_after_test


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    env = {name: value for name, value in os.environ.items()
           if not any(name in option.env for option in SERVE_OPTIONS) and name != "RUNAPI_CALLBACK_SECRET"}
    env.update(PYTHONUNBUFFERED="1", RUNAPI_MOCK_PORT="0")
    process = subprocess.Popen([str(Path(sys.executable).parent / "runapi-mock"), "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner
        yield banner.split()[3]
    finally:
        process.terminate()
        process.wait(timeout=15)
        process.stdout.close()  # an open pipe warns when collected (PytestUnraisableExceptionWarning)


def fresh_key() -> str:
    return f"sdk-{uuid.uuid4().hex}"


def test_the_local_smoke_test_s_account(base_url: str) -> None:
    client = closed_after_test(FluxKontextClient(api_key=fresh_key(), base_url=base_url))
    info = client.account.info()
    assert (info.name, info.email) == ("Demo User", "demo@example.com")
    assert isinstance(info.id, int) and info.account.id == info.id
    balance = client.account.balance()
    assert (balance.balance_cents, balance.paid_balance_cents, balance.bonus_balance_cents,
            balance.spent_cents_today, balance.spent_cents_total) == (5000, 5000, 0, 0, 0)


def test_schedules_through_a_provider_client_and_a_keyless_pricing_client(base_url: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNAPI_API_KEY", raising=False)
    keyed = closed_after_test(Flux2Client(api_key=fresh_key(), base_url=base_url)).pricing.list_schedules(
        service="flux_2")
    keyless = closed_after_test(PricingClient(base_url=base_url)).list_schedules(
        service="flux-2", action="text_to_image", model="flux-2-pro-text-to-image")
    assert keyed is not None and keyless is not None
    assert len(keyed.price_schedules) == 6 and keyed.as_of == keyless.as_of
    schedule, = keyless.price_schedules
    assert (schedule.service, schedule.model, schedule.unit_price_cents, schedule.pricing_status) == \
        ("flux_2", "flux-2-pro-text-to-image", 5, "public")
    assert schedule.billing_config["unit_price_cents_by_resolution"]["2k"] == 7


def test_list_schedules_returns_none_on_304(base_url: str) -> None:
    pricing = closed_after_test(PricingClient(base_url=base_url))
    first = pricing.list_schedules(service="flux")
    assert first is not None
    etag = first.response_header("ETag")
    assert etag
    assert pricing.list_schedules(service="flux", options=RequestOptions(headers={"If-None-Match": etag})) is None


def test_a_quote_is_what_the_create_then_reserves(base_url: str) -> None:
    client = closed_after_test(FluxKontextClient(api_key=fresh_key(), base_url=base_url))
    quote = client.pricing.create_quote("flux_kontext", "text_to_image", model="flux-kontext-pro",
                                        params={"prompt": "a fox at dawn"}).price_quote
    assert (quote.reservation_amount_cents, quote.estimate_basis, quote.currency) == (3, "request", "USD")
    before = client.account.balance().balance_cents
    client.text_to_image.create(model="flux-kontext-pro", prompt="a fox at dawn")
    assert before - client.account.balance().balance_cents == quote.reservation_amount_cents
    with pytest.raises(ValidationError):
        client.pricing.create_quote("flux_kontext", "text_to_image", model="flux-kontext-pro",
                                    params={"prompt": "x", "safety_tolerance": 9})

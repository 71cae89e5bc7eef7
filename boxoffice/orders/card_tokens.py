"""A card the buyer typed into Stripe.js's card fields, as the payment method the order's run
charges. The card number goes from the browser to Stripe alone: our page gets a one-time
token (`stripe.createToken`), and this turns it into a PaymentMethod id for `OrderService.pay`.

Stripe makes a PaymentMethod from a token. The local emulator cannot (it wants the number),
but charges the token's card itself, so against it the card's id is the payment method."""

from __future__ import annotations

import re

import stripe

from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.orders.activities.payments import make_stripe_client
from boxoffice.orders.domain import OrderError

_TOKEN = re.compile(r"tok_[A-Za-z0-9_]{1,200}")
BAD_TOKEN = "The card details did not reach Stripe; please enter them again."


class CardTokens:
    def __init__(self, settings: Settings) -> None:
        self._stripe = make_stripe_client(settings)
        self._emulated = settings.stripe_api_key is None

    async def payment_method(self, token: str) -> str:
        """The id to charge for a card token; OrderError INVALID for a token Stripe does not
        know (or one already used), UNAVAILABLE while Stripe cannot be reached."""
        if not _TOKEN.fullmatch(token):
            raise OrderError(ErrorKind.INVALID, BAD_TOKEN)
        try:
            if self._emulated:
                found = await self._stripe.v1.tokens.retrieve_async(token)
                return str(found.card.id) if found.card is not None else _refuse()
            method = await self._stripe.v1.payment_methods.create_async(
                {"type": "card", "card": {"token": token}}
            )
            return str(method.id)
        except stripe.InvalidRequestError:
            raise OrderError(ErrorKind.INVALID, BAD_TOKEN) from None
        except stripe.CardError as declined:
            raise OrderError(
                ErrorKind.REFUSED, declined.user_message or "Your card was declined."
            ) from None
        except stripe.APIConnectionError:
            raise OrderError(
                ErrorKind.UNAVAILABLE, "Payments are unreachable just now; try again shortly."
            ) from None


def _refuse() -> str:
    raise OrderError(ErrorKind.INVALID, BAD_TOKEN)

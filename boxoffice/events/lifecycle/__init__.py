"""An event's life after it is on sale: cancelled (every buyer refunded through their own
order's run) or postponed (every order's run told the new date), each by a durable run that
pages the event's orders and keeps a bounded number in flight."""

"""What leaves Loom after the commit that causes it: the outbox and its delivery.

* :mod:`~engine.delivery.outbox`: write a side effect in the caller's transaction;
  claim, mark delivered, back off.
* :mod:`~engine.delivery.dispatcher`: the one loop that claims due outbox rows and hands
  each to the handler of its kind, with retries and backoff.
* :mod:`~engine.delivery.relay` (kind ``dead_letter``) with :mod:`~engine.delivery.amqp`:
  dead letters to RabbitMQ; :mod:`~engine.delivery.notifications` (kind
  ``notification``): alerts by e-mail and webhook.
* :mod:`~engine.delivery.errors`: how a delivery fails.
"""

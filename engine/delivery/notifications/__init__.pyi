from engine.delivery.notifications.events import SCHEMA_VERSION as SCHEMA_VERSION
from engine.delivery.notifications.events import Event as Event
from engine.delivery.notifications.events import EventType as EventType
from engine.delivery.notifications.notifier import build_notifier as build_notifier
from engine.delivery.notifications.webhook import sign as sign
from engine.delivery.notifications.webhook import verify_signature as verify_signature

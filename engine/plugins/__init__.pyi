from engine.plugins.base import AirflowPlugin as AirflowPlugin
from engine.plugins.base import LoomPlugin as LoomPlugin
from engine.plugins.base import TaskInstanceEvent as TaskInstanceEvent
from engine.plugins.base import UiLink as UiLink
from engine.plugins.listeners import notify_listeners as notify_listeners
from engine.plugins.loading import load_plugins as load_plugins
from engine.plugins.registry import PluginRegistry as PluginRegistry
from engine.plugins.registry import active_plugins as active_plugins

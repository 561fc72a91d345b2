"""Loom's REST API: :mod:`webui.api.v2` (Airflow 3's public API and Loom's own
resources) under ``/api/v2``, Swagger UI on it (:mod:`webui.api.docs`), the blueprint
class every area uses (:mod:`webui.api.blueprint`) and the schemas they share
(:mod:`webui.api.schemas`)."""

"""Where tools.loadgen.asgi serves the floor consumer (importable without Django)."""

FLOOR_PATH = "/ws/floor/{widget}/"

__all__ = ["FLOOR_PATH"]

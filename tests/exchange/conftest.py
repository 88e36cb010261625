from tests.stores import store_url

__all__ = ["store_url"]

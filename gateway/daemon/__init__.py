"""Running the gateway daemon: the supervisor and its worker processes."""

from gateway._daemon import ServeInfo, serve
from gateway._tls import pin_tls13_environment

__all__ = ["ServeInfo", "pin_tls13_environment", "serve"]

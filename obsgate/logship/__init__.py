"""The gate's log shipper, a named stand-in for Fluent Bit: the seed's config, applied."""

from obsgate.logship.fluentbit import ShipperSettings, shipper_settings
from obsgate.logship.shipper import LogShipper, ShipReport

__all__ = ["LogShipper", "ShipReport", "ShipperSettings", "shipper_settings"]

"""The capture server that stands in for Slack, PagerDuty and webhook receivers."""

from obsgate.sinks.capture import CaptureSink, Notification

__all__ = ["CaptureSink", "Notification"]

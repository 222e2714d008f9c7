"""Outage Desk: a social-media incident-response desk for small teams."""

__version__ = "0.1.0"

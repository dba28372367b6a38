"""Shared test machinery: real servers on free loopback ports, and seeding helpers."""

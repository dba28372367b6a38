"""The dashboard (SPEC §7): a single page of plain ES modules and SVG, served by `routes.py`."""

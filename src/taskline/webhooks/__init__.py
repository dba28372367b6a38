"""Webhook delivery (SPEC §6): signing, the target rule after DNS, and the dispatcher."""

"""Payments behind a provider protocol: the sandbox provider by default, Stripe as a drop-in."""

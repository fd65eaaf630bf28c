"""Additions: API moto lacks (a whole service, operations, accepted parameters) and the
private routes through which the local engines read what AWS keeps but does not return and
report what AWS's own machinery would show (client side: `harness.local.private_api`)."""

"""The embedded cloud of the `local` target: PostgreSQL, moto and (later) the local engines."""

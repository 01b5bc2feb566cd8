"""Limits shared by every process of a deployment, kept in its PostgreSQL database: the Graph budget
per (tenant, throttle class) and the API's per-caller rate limits."""

"""The rows behind the shared limits: one per (tenant, Graph throttle class), one per (action, caller)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base


class GraphBudgetRow(Base):
    """``idops.graph.budget.BucketState`` of one tenant's throttle class; times are the database's
    clock in epoch seconds, so every process and host reads the same time."""

    __tablename__ = "graph_budgets"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cls: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0)
    recent: Mapped[list[float]] = mapped_column(JSON, default=list)


class RateLimitRow(Base):
    """The hits of one caller on one rate-limited action within the last window (epoch seconds)."""

    __tablename__ = "rate_limits"

    action: Mapped[str] = mapped_column(String(32), primary_key=True)
    who: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]

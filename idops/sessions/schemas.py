"""What the API answers about page sessions."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SessionsEnded(BaseModel):
    ended: int = Field(ge=0, description="how many of your page sessions were still live and are now ended")

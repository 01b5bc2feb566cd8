"""The application catalogue ("sovelluskartoitus"): ``config/apps.toml``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idops.config.region import KEY_RE, _guid

SignIn = Literal["entra-sso", "mpassid", "separate-account"]
Role = Literal["staff", "pupil"]


class App(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_RE)
    name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1)
    sign_in: SignIn
    app_ids: list[str] = []  # Entra appIds identifying the app in sign-in logs
    municipalities: list[str] = []  # where the app is used; empty = every municipality
    sign_in_overrides: dict[str, SignIn] = {}  # per municipality key, e.g. Wilma OpenID bought
    notes: str = ""

    @field_validator("app_ids")
    @classmethod
    def _guids(cls, v: list[str]) -> list[str]:
        return [_guid(x) for x in v]


class AppCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    apps: list[App] = []

    @model_validator(mode="after")
    def _unique(self) -> AppCatalogue:
        keys: set[str] = set()
        app_ids: dict[str, str] = {}
        for i, app in enumerate(self.apps):
            if app.key in keys:
                raise ValueError(f"apps[{i}].key {app.key!r} is used twice")
            keys.add(app.key)
            for aid in app.app_ids:
                if aid in app_ids:
                    raise ValueError(f"apps[{i}]: appId {aid} already belongs to {app_ids[aid]!r}")
                app_ids[aid] = app.key
        return self

    def sign_in_for(self, app: App, municipality: str) -> SignIn:
        return app.sign_in_overrides.get(municipality, app.sign_in)

    def by_app_id(self) -> dict[str, App]:
        return {aid: app for app in self.apps for aid in app.app_ids}

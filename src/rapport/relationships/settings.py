"""Settings of relationship health, read from the environment.

Every weight and window can be changed without code: for example
`RAPPORT_HEALTH_WEIGHT_SENTIMENT=0.3` or `RAPPORT_HEALTH_TREND_DAYS=14`.
Weights need not sum to 1: the score is the weighted mean of the factor
values, times 100. The meaning of each factor is in docs/RELATIONSHIPS.md.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HealthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_HEALTH_", extra="ignore")

    #: How much each factor counts in the score (≥ 0).
    weight_recency: float = Field(default=0.20, ge=0)
    weight_frequency: float = Field(default=0.10, ge=0)
    weight_sentiment: float = Field(default=0.20, ge=0)
    weight_sentiment_trend: float = Field(default=0.10, ge=0)
    weight_our_responsiveness: float = Field(default=0.15, ge=0)
    weight_their_responsiveness: float = Field(default=0.05, ge=0)
    weight_mutual_value: float = Field(default=0.20, ge=0)
    #: Recency halves every this many days without a message from them.
    recency_half_life_days: float = Field(default=30.0, gt=0)
    #: Frequency counts messages over this window; this many count as full.
    frequency_window_days: int = Field(default=90, ge=1)
    frequency_full_at: int = Field(default=8, ge=1)
    #: We answered in this many minutes: the speed half of responsiveness is 0.5.
    response_half_minutes: float = Field(default=60.0, gt=0)
    #: The trend compares today's score with the score this many days earlier.
    trend_days: int = Field(default=30, ge=1)
    #: `people at-risk`: a fall of at least this many points is a churn warning.
    at_risk_drop: float = Field(default=10.0, ge=0)
    #: Health older than this (against the data clock) is recomputed before lists.
    max_age_hours: float = Field(default=24.0, gt=0)

    def weights(self) -> dict[str, float]:
        return {
            "recency": self.weight_recency,
            "frequency": self.weight_frequency,
            "sentiment": self.weight_sentiment,
            "sentiment_trend": self.weight_sentiment_trend,
            "our_responsiveness": self.weight_our_responsiveness,
            "their_responsiveness": self.weight_their_responsiveness,
            "mutual_value": self.weight_mutual_value,
        }


@lru_cache(maxsize=1)
def get_health_settings() -> HealthSettings:
    return HealthSettings()


def reset_health_settings() -> None:
    get_health_settings.cache_clear()

"""``conf/training.yml`` read once and checked: the gate, the cleaning floor, the split, the seed and
the model's hyper-parameters, typed, so that no stage reads the raw YAML (a wrong value is a
one-line ConfigError naming the file and the key, before any work starts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .settings import ConfigError, Settings, flag


@dataclass(frozen=True)
class Gate:
    """What a candidate must meet to become @challenger (see ``evaluation.gate``)."""

    primary_metric: str
    threshold: float
    secondary_thresholds: dict[str, float] = field(default_factory=dict)
    min_improvement_over_champion: float = 0.0
    # A candidate that misses the thresholds may still replace a champion that misses them further
    # on the same holdout (see ``evaluation.gate``), with an alert.
    replace_failing_champion: bool = True

    @property
    def thresholds(self) -> dict[str, float]:
        """Every metric with a floor (or a ceiling), the primary one first."""
        return {self.primary_metric: self.threshold, **self.secondary_thresholds}


@dataclass(frozen=True)
class TrainingRules:
    gate: Gate
    min_pass_rate: float
    holdout_fraction: float
    window_batches: int | None
    seed: int
    model_params: dict[str, Any]

    @classmethod
    def from_settings(cls, settings: Settings) -> TrainingRules:
        from .evaluation import scorers

        conf, where = settings.training, settings.conf_dir / "training.yml"

        def section(name: str) -> dict[str, Any]:
            value = conf.get(name) or {}
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {name} must be a mapping, got {value!r}")
            return value

        def number(value: Any, key: str, kind=float, low: float | None = None, high: float | None = None):
            try:
                value = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {key} must be a number, got {value!r}") from None
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = " and ".join(part for part in (f"at least {low}" if low is not None else "",
                                                        f"at most {high}" if high is not None else "") if part)
                raise ConfigError(f"{where}: {key} must be {bounds}, got {value}")
            return value

        known = list(scorers(settings.problem_type))

        def metric(name: Any, key: str) -> str:
            if name not in known:
                raise ConfigError(f"{where}: {key} {name!r} is not a {settings.problem_type} metric; "
                                  f"choose one of {', '.join(known)}")
            return name

        gate, split = section("gate"), section("split")
        secondary = gate.get("secondary_thresholds") or {}
        if not isinstance(secondary, dict):
            raise ConfigError(f"{where}: gate.secondary_thresholds must be a mapping of metric: value")
        window = split.get("window_batches")
        params = section("model").get("params") or {}
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: model.params must be a mapping, got {params!r}")
        return cls(
            gate=Gate(
                primary_metric=metric(gate.get("primary_metric"), "gate.primary_metric"),
                threshold=number(gate.get("threshold"), "gate.threshold"),
                secondary_thresholds={
                    metric(name, "gate.secondary_thresholds"): number(value, f"gate.secondary_thresholds.{name}")
                    for name, value in secondary.items()
                },
                min_improvement_over_champion=number(gate.get("min_improvement_over_champion") or 0,
                                                     "gate.min_improvement_over_champion", low=0),
                replace_failing_champion=flag(gate.get("replace_failing_champion", True), where,
                                             "gate.replace_failing_champion"),
            ),
            min_pass_rate=number(section("clean").get("min_pass_rate", 0.0), "clean.min_pass_rate", low=0, high=1),
            holdout_fraction=number(split.get("holdout_fraction", 0.1), "split.holdout_fraction", low=0.001, high=0.999),
            window_batches=None if window is None else number(window, "split.window_batches", int, low=1),
            seed=number(conf.get("seed", 42), "seed", int),
            model_params=dict(params),
        )

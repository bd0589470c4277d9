"""Old home of the scenario recipes, kept because docs and scripts import it: see :mod:`synprobe.scenarios.recipe`."""

from synprobe.scenarios.recipe import KINDS, ScenarioSpec, build, list_scenarios, load_scenario, scenario_from_dict

__all__ = ["KINDS", "ScenarioSpec", "build", "list_scenarios", "load_scenario", "scenario_from_dict"]

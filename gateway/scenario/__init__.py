"""Driving the scenarios through a running gateway: transactions, objects, demos."""

from gateway._scenario_client import (
    DocumentSet,
    ScenarioClient,
    list_objects,
    listing,
    load_object,
    precheck,
    prepare,
    step,
    submit_tx,
)
from gateway._scenario_demo import run_all_demos, run_scenario_demo

__all__ = [
    "DocumentSet",
    "ScenarioClient",
    "list_objects",
    "listing",
    "load_object",
    "precheck",
    "prepare",
    "run_all_demos",
    "run_scenario_demo",
    "step",
    "submit_tx",
]

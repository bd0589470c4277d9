"""Every public import path of synprobe keeps working across refactors.

The list was taken from the package on 2026-12-02, before the move to packages (issue 13): the
package face, the package faces below it and every module the docs import from. A name may move
to another module; its old import path must still give the same object.
"""

from __future__ import annotations

import importlib
import sys

import pytest

PUBLIC = {
    "synprobe": (
        "Dataset FontCoverageError FontError FormatError IncompleteFileError InvalidRecipe "
        "LoadError NoiseError NoisyLabels OcclusionSpec PatternSpec Recipe SymbolSpec SynprobeError "
        "__version__ apply_noise dists fetch generate list_recipes load load_recipe scenarios "
        "set_resolver"
    ),
    "synprobe.errors": (
        "FontCoverageError FontError FormatError IncompleteFileError InvalidRecipe NotEnoughMemory SynprobeError"
    ),
    "synprobe.dists": "Bernoulli Choice Const DISTS Dist Func LogNormal Mixture Normal RandInt Uniform",
    "synprobe.recipe": (
        "FONT_TIERS OCCLUDER_KINDS OcclusionSpec PATTERN_KINDS PatternSpec Recipe SymbolSpec "
        "list_recipes load_recipe recipe_from_dict recipe_to_dict resolve_recipe"
    ),
    "synprobe.fonts": (
        "COVERAGE_FORMAT FontEntry FontRegistry MANIFEST_FORMAT add_fonts audit_dir verify write_coverage"
    ),
    "synprobe.sampling": "COLUMNS Column Vocab sample_table",
    "synprobe.generator": "GenerateResult generate render_samples",
    "synprobe.splits": (
        "DEFAULT_SPLITS KINDS RATIOS SplitError check_ratios check_writable compositional_split "
        "compute_split default_name default_splits environments_split extrapolation_split "
        "interpolation_split percentile_split random_split split_attrs stratified_split summarize "
        "write_split"
    ),
    "synprobe.noise": (
        "MODELS NoiseError NoisyLabels apply_noise asymmetric attribute_dependent "
        "confusion_from_prototypes difficulty flip_count from_matrix instance_dependent pair_flip "
        "uniform_all uniform_other"
    ),
    "synprobe.load": "Dataset LoadError load read_table resolver set_resolver",
    "synprobe.datasets": (
        "CatalogEntry DownloadError InvalidCatalog UnknownDataset VerificationError cache_path "
        "cache_status catalog_entry entry_dict fetch list_catalog"
    ),
    "synprobe.io": "",
    "synprobe.io.h5": "FORMAT H5Writer SAMPLES_VERSION chunk_rows open_dataset read_info",
    "synprobe.scenarios": (
        "CIR Cycle Forgetting Incremental Law ProbReduction ScenarioError ScoleEntropy Stream Task "
        "Uniform Weights Zipf attach_eval_sets class_incremental domain_incremental drift "
        "eval_sets_from_file instance_incremental law_from_spec recurring train_from_file "
        "with_eval_sets"
    ),
    "synprobe.scenarios.laws": (
        "CIR Cycle Forgetting Incremental Law ProbReduction ScoleEntropy Uniform Weights Zipf law_from_spec"
    ),
    "synprobe.scenarios.builders": (
        "attach_eval_sets class_incremental domain_incremental drift eval_sets_from_file "
        "instance_incremental recur recurring train_from_file"
    ),
    "synprobe.scenarios.stream": "Stream Task with_eval_sets",
    "synprobe.scenario_recipe": "KINDS ScenarioSpec build list_scenarios load_scenario scenario_from_dict",
    "synprobe.view": "DEFAULT_BY view_file",
    "synprobe.preview": "grid preview_file preview_recipe",
    "synprobe.info": "describe format_text",
    "synprobe.rng": "Draws name_key stream_seed",
    "synprobe.harness": "HarnessError",
    "synprobe.harness.train": "resolve_stream run",
    "synprobe.harness.config": "AMPS AUGMENTS LOSSES MASKINGS OPTIMIZERS SCHEDULES TAILS TrainConfig",
    "synprobe.harness.rundir": "FORMAT Rows Run read_run",
    "synprobe.harness.plots": "MATPLOTLIB_MISSING need_matplotlib plot_overlay plot_run",
    "synprobe.harness.memorization": "FORMAT draw_subsets estimate filter_stream plot_memorization",
    "synprobe.harness.metrics": (
        "MetricError accuracy_matrix accuracy_vs_frequency average_accuracy backward_transfer "
        "elr_fractions feldman_zhang forgetting_avalanche forgetting_chaudhry forgetting_events "
        "forward_transfer ka_summary min_acc ood_gap per_class_accuracy seen_class_accuracy "
        "spearman wc_acc"
    ),
    "synprobe.harness.models": (
        "Classifier MaxPool2x2 build_model count_parameters list_models model_info register_model"
    ),
    "synprobe.harness.device": "Resolved cuda_problem resolve resolve_amp resolve_device",
    "synprobe.harness.syncs": "SyncCount count_syncs",
    "synprobe.harness.scatter": "PresentationEvents last_occurrence",
    "synprobe.harness.seeds": "parse_seeds run_seeds",
    "synprobe.harness.report": "LEVELS format_table group_rows report row_of rows_json",
    "synprobe.cli": "friendly_errors main",
}


def _module(path: str):
    importlib.import_module(path)
    return sys.modules[path]  # ``synprobe.load`` the module, not the function of that name


@pytest.mark.parametrize(("path", "name"), [(p, n) for p, ns in PUBLIC.items() for n in ns.split()])
def test_public_name_still_imports(path, name):
    assert hasattr(_module(path), name), f"from {path} import {name} no longer works"


def test_the_load_function_is_the_face():
    import synprobe
    from synprobe.load import load

    assert synprobe.load is load and callable(load)

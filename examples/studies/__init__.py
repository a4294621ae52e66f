"""Studies of trained models: what the examples' models learned, measured.

Not tutorials and not speed benchmarks (those are `benchmarks/`): each study
loads the examples' data (through the example's own `load_data`) or their
trained `model.keras` files and prints a Markdown table for the docs.

- `cell_state`: how large NRNM's cell state `c_t` grows, fresh and trained
  (docs/results.md, "Why the initialisation: the cell state before training");
- `memory_off`: trained NRNM models scored on the test split as trained and
  with the memory term switched off (docs/results.md, "Where NRNM trails: the
  trained memory switched off").

They import the examples (`_common`, `time_series_classification`, ...) the
way the examples import each other: from the `examples` folder on the path.
Run them from the repository root as modules of that folder:

    PYTHONPATH=examples python -m studies.cell_state --dataset OSULeaf
    PYTHONPATH=examples python -m studies.memory_off runs/study/ucr_*-nrnm-*/
"""

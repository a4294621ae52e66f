"""Every Python block of the pages a newcomer reads first runs as written:
the README's usage, the home page and the quickstart (each page's blocks in
order, in one namespace, as a reader pastes them into one session)."""

import re
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/index.md", "docs/quickstart.md"]

pytestmark = pytest.mark.core


def python_blocks(path):
    return re.findall(r"^```python\n(.*?)^```", path.read_text(),
                      flags=re.MULTILINE | re.DOTALL)


def run_page(page):
    """Runs the page's blocks in one namespace; returns the namespace."""
    # An NRNM built earlier in the process must not change what the
    # snippets find (model.get_layer by an automatic name would).
    from keras_nrnm import NRNM

    NRNM(4, num_heads=1)
    namespace = {"__name__": "__snippet__"}
    for number, block in enumerate(python_blocks(ROOT / page), 1):
        try:
            exec(compile(block, f"{page} block {number}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(
                f"{page}, python block {number} failed: {error!r}\n{block}"
            ) from error
    return namespace


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    assert python_blocks(ROOT / page), f"{page} has no python block"
    monkeypatch.chdir(tmp_path)  # files the snippets write land here
    namespace = run_page(page)
    if page == "docs/quickstart.md":  # what the snippets say they give
        assert len(namespace["states"]) == 6
        assert [tuple(namespace[name].shape)
                for name in ("h", "c")] == [(2, 64)] * 2
        assert [m["step"] for m in namespace["maps"][:2]] == [3, 7]
        assert namespace["figure"].axes[0].get_title() == (
            "memory update after step 7 (stride 4)")
        assert (tmp_path / "attention.png").stat().st_size > 5_000
    keras.backend.clear_session()

"""Same run, same numbers: two executions compared output by output; claims measured over
seeds; notebooks executed on a dask cluster."""

from __future__ import annotations

import nbformat
import pytest
from course_fixtures import SLUGS
from nbformat.v4 import new_code_cell, new_notebook, new_output
from test_execute import tiny_assignments  # noqa: F401

from autograder import execute
from autograder.reproduce import compare, mask_timings
from autograder.spread import Claim, Config, format_report, record_book_asserts, run_config


def page(*texts: str, tags: list[str] | None = None):
    cells = [new_code_cell("x", outputs=[new_output("stream", name="stdout", text=t)])
             for t in texts]
    for cell in cells:
        cell.metadata["tags"] = tags or []
    return new_notebook(cells=cells)


def test_are_timings_masked_but_other_numbers_kept():
    assert mask_timings("epoch 3: loss 0.4213, 12.5 s, 850 img/s, 41ms [00:03<00:00]") == \
        "epoch 3: loss 0.4213, <time>, <time>, <time> [<clock><<clock>]"
    assert mask_timings("accuracy 0.93 on 300 images, 5 layers, 7 x 7 maps") == \
        "accuracy 0.93 on 300 images, 5 layers, 7 x 7 maps"
    assert mask_timings("Shap-CAM 330 ms (11 x); BN: 1.7 times as long <Legend at 0x7f0c>") == \
        "Shap-CAM <time> (<ratio>); BN: <ratio> <Legend at <address>>"


def test_does_compare_report_a_changed_number_and_ignore_a_changed_timing():
    first = page("loss 0.4213 after 3.1 s\n", "accuracy 0.90\n")
    assert compare(first, page("loss 0.4213 after 2.7 s\n", "accuracy 0.90\n")) == []
    differences = compare(first, page("loss 0.4213 after 3.1 s\n", "accuracy 0.91\n"))
    assert [(d.cell, d.what) for d in differences] == [(1, "stream stdout")]
    assert "-accuracy 0.90" in differences[0].detail and "+accuracy 0.91" in differences[0].detail


def test_is_a_cell_tagged_timing_skipped_whole():
    first = page("speed-up 1.21\n", tags=["timing"])
    assert compare(first, page("speed-up 1.17\n", tags=["timing"])) == []


def test_does_compare_see_a_changed_figure():
    def figure(data: str):
        output = new_output("display_data", data={"image/png": data, "text/plain": "<Figure>"})
        return new_notebook(cells=[new_code_cell("plot", outputs=[output])])

    assert compare(figure("AAAA"), figure("AAAA")) == []
    assert [d.what for d in compare(figure("AAAA"), figure("AAAB"))] == ["image/png"]


BOOK_CLAIMS = """\
import torch
torch.manual_seed(SEED)
x = torch.rand(1000).mean().item()
if PROFILE == "book":
    # spread: tested by the tooling, not a claim
    assert 0.45 < x < 0.55
    assert x > 0.9, "fails on purpose: recorded, not raised"
print("after the claims")
"""


@pytest.mark.slow
def test_does_spread_record_book_claims_with_their_values_instead_of_raising(
        tiny_assignments, tmp_path):  # noqa: F811
    slug = tiny_assignments(BOOK_CLAIMS)
    from autograder import notebooks, paths

    nb, rewritten = record_book_asserts(notebooks.read_source(slug))
    assert rewritten == 2 and paths.ASSIGNMENTS == tmp_path / "assignments"
    records, error = run_config(slug, Config(seed=3, threads=1))
    assert error == "", "a failing book claim must not stop the run"
    assert [r["held"] for r in records] == [True, False]
    assert 0.45 < records[0]["values"]["x"] < 0.55
    claim = Claim(records[1]["text"], {"seed 3": False}, {"x": {"seed 3": [0.5, 0.7]}})
    report = format_report(slug, {"k": claim}, [Config(3, 1)])
    assert "**FAILS** 0/1" in report and "`x`: 0.5 … 0.7 (per run: 0.5-0.7)" in report


@pytest.mark.slow
def test_does_a_second_smoke_run_give_identical_outputs(smoke_pages, smoke_pages_again):
    """Every assignment, smoke profile, same seed and threads: only timings may differ."""
    first, second = smoke_pages[0], smoke_pages_again
    report = []
    for slug in SLUGS:
        differences = compare(nbformat.read(first / f"{slug}.ipynb", as_version=4),
                              nbformat.read(second / f"{slug}.ipynb", as_version=4))
        report += [f"{slug}: {d}" for d in differences]
    assert not report, "outputs that differ between two runs:\n" + "\n".join(report)


@pytest.mark.slow
def test_does_execute_run_notebooks_on_a_dask_cluster(tmp_path, smoke_pages):
    """`python -m autograder execute --dask ADDRESS`: each notebook on a worker; the pages
    are written on the caller's side, equal to a local run's, and cached afterwards."""
    from distributed import Client, LocalCluster

    slugs = ["a02-conv-arithmetic", "a03-filters-template-matching"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        outcomes = execute.execute_all(slugs, "smoke", tmp_path, dask_address=client, threads=1)
        assert [o.status for o in outcomes] == ["executed", "executed"], outcomes
        again = execute.execute_all(slugs, "smoke", tmp_path, dask_address=client, threads=1)
        assert [o.status for o in again] == ["cached", "cached"]
    for slug in slugs:
        local = nbformat.read(smoke_pages[0] / f"{slug}.ipynb", as_version=4)
        remote = nbformat.read(tmp_path / f"{slug}.ipynb", as_version=4)
        assert compare(local, remote) == [], f"{slug}: a dask worker's page differs"


@pytest.mark.slow
def test_does_the_reproduce_command_flag_an_unseeded_notebook(tiny_assignments, capsys):  # noqa: F811
    """`python -m autograder reproduce`: exit 0 for a seeded notebook; for one that draws
    from the clock, exit 1 and the differing output named."""
    from autograder.cli import main

    slug = tiny_assignments("import torch\ntorch.manual_seed(SEED)\nprint(torch.rand(2))")
    assert main(["reproduce", slug, "--threads", "1"]) == 0
    assert "identical outputs" in capsys.readouterr().out
    tiny_assignments("import time\nprint('draw', time.time_ns() % 1000003)")
    assert main(["reproduce", slug, "--threads", "1"]) == 1
    out = capsys.readouterr().out
    assert "1 output(s) differ" in out and "-draw" in out and "+draw" in out


def test_are_timing_columns_of_a_table_masked_and_the_others_compared():
    import pandas as pd

    def table(accuracy: float, seconds: float):
        frame = pd.DataFrame({"test accuracy": [accuracy], "seconds": [seconds]})
        output = new_output("execute_result", data={"text/html": frame.to_html(),
                                                    "text/plain": repr(frame)})
        return new_notebook(cells=[new_code_cell("frame", outputs=[output])])

    assert compare(table(0.91, 12.5), table(0.91, 13.9)) == []
    assert [d.what for d in compare(table(0.91, 12.5), table(0.92, 12.5))] == ["table"]

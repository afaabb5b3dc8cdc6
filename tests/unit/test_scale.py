"""`cookbook bench-scale`: the growth it reads from the points, its page and figure (a real point: tests/recipes)."""

import pytest

from finetune_cookbook import scale


def points(exponent: float, rows=(1000, 2000, 4000, 8000)):
    return [{"factor": r // 1000, "rows": r, "generated_rows": r, "seconds_per_epoch": 0.01 * r**exponent,
             "seconds": 0.01 * r**exponent, "peak_memory_mb": 900 + r / 100, "precision": "bf16", "file_mb": 1.0}
            for r in rows]


@pytest.mark.parametrize("exponent,reading", [(1.0, "linear"), (0.6, "sublinear"), (1.4, "faster than linear")])
def test_growth_reads_the_log_log_slope(exponent, reading):
    found = scale.growth(points(exponent), "rows", "seconds_per_epoch")
    assert found["exponent"] == pytest.approx(exponent, abs=0.01)
    assert found["reading"].startswith(reading)


def test_memory_growth_is_per_million_rows_added():
    assert scale.memory_growth(points(1.0), "rows") == {"mb_at_smallest": 910, "mb_at_largest": 980,
                                                         "mb_per_million_rows": 10000}


def test_the_page_and_figure_are_written_from_the_record(tmp_path):
    part = {"points": points(1.0), "time": {"exponent": 1.0, "reading": "linear"},
            "memory": scale.memory_growth(points(1.0), "rows")}
    record = {"machine": "a CPU", "measured_at": "now", "configs": {"text": "t.yaml", "tabular": "recipe/bench_x.yaml"},
              "text": part, "tabular": part, "csv": part}
    page = scale.render(record)
    assert page.count("b = 1.0, linear") == 3 and "| recipe/bench_x.yaml data section | 8000 |" in page
    scale.plot(record, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").stat().st_size > 10_000

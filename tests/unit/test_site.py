"""How `make docs` stages an executed notebook: a SMOKE run says so at the top, and a widget, which needs a running
kernel, becomes a line saying where to use it (the browser test, tests/site/, loads the built pages)."""

import nbformat

from finetune_cookbook.site import SMOKE_NOTE, WIDGET, WIDGET_NOTE, _stage_notebook


def executed(path, smoke: bool):
    notebook = nbformat.v4.new_notebook()
    chat = nbformat.v4.new_code_cell("chat_widget(bot)")
    chat.outputs = [nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "abc", "version_major": 2},
                                                                 "text/plain": "VBox(children=(...))"})]
    table = nbformat.v4.new_code_cell("table")
    table.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "a 1"}, execution_count=1)]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A notebook"), chat, table]
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    notebook.metadata["papermill"] = {"parameters": {"SMOKE": smoke}}
    nbformat.write(notebook, path)
    return path


def test_a_widget_becomes_a_note_and_its_state_is_dropped(tmp_path):
    _stage_notebook(executed(tmp_path / "run.ipynb", smoke=False), tmp_path / "site" / "run.ipynb")
    staged = nbformat.read(tmp_path / "site" / "run.ipynb", as_version=4)
    assert "widgets" not in staged.metadata
    chat, table = staged.cells[1].outputs[0], staged.cells[2].outputs[0]
    assert WIDGET not in chat["data"] and WIDGET_NOTE in chat["data"]["text/html"]
    assert table["data"] == {"text/plain": "a 1"}
    assert staged.cells[0].source == "# A notebook"


def test_a_smoke_run_says_so_first(tmp_path):
    _stage_notebook(executed(tmp_path / "run.ipynb", smoke=True), tmp_path / "site" / "run.ipynb")
    staged = nbformat.read(tmp_path / "site" / "run.ipynb", as_version=4)
    assert staged.cells[0].source == SMOKE_NOTE and len(staged.cells) == 4

"""Scheduling the open notebook from the "Run notebook as flow" dialog, then seeing and pausing it in the panel."""

from __future__ import annotations

from datetime import datetime

import nbformat
import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def write_notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell('region = "EU"')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell('print(f"report for {region}")')]
    nbformat.write(nb, path)


def accept(page: Page) -> None:
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()


def test_the_open_notebook_is_scheduled_for_weekdays_at_six_and_the_panel_shows_its_next_run(page, lab, lab_home):
    from jupyter_flows.backend import Backend

    write_notebook(lab.root / "morning.ipynb")
    page.goto(lab.lab_url("lab/tree/morning.ipynb?reset"))
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-FlowsRunNotebookButton")
    expect(button).to_be_visible()
    button.locator("button, jp-button").first.click()

    page.get_by_test_id("notebook-flow-project").fill("reports")
    page.get_by_test_id("when-schedule").check()
    expect(page.get_by_test_id("schedule-preset")).to_have_value("weekdays")
    expect(page.get_by_test_id("schedule-time")).to_have_value("06:00")
    page.get_by_test_id("schedule-timezone").fill("Europe/Berlin")
    expect(page.get_by_test_id("schedule-echo")).to_contain_text(
        "Runs at 06:00, Monday through Friday (Europe/Berlin); next: ")

    # validated as typed: a bad cron is named with its field, then the preset again
    page.get_by_test_id("schedule-preset").select_option("cron")
    page.get_by_test_id("schedule-cron").fill("0 25 * * 1-5")
    expect(page.get_by_test_id("schedule-error")).to_contain_text("field 2 (hour) '25' is not valid")
    page.get_by_test_id("schedule-timezone").fill("Europe/Berln")
    page.get_by_test_id("schedule-cron").fill("0 6 * * 1-5")
    expect(page.get_by_test_id("schedule-error")).to_contain_text("unknown time zone 'Europe/Berln'")
    page.get_by_test_id("schedule-timezone").fill("Europe/Berlin")
    page.get_by_test_id("schedule-preset").select_option("weekdays")
    expect(page.get_by_test_id("schedule-echo")).to_contain_text("Runs at 06:00, Monday through Friday")
    accept(page)
    region = page.locator('.jp-Dialog input[data-param="region"]')
    expect(region).to_have_value("EU")
    region.fill("US")
    accept(page)
    expect(page.locator(".jp-Dialog")).to_have_count(0)

    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jupyter-flows-panel"]').click()
    item = page.locator('[data-testid="project-item"][data-project-name="reports"] '
                        '[data-testid="flow-item"][data-flow-name="morning"]')
    schedule = item.get_by_test_id("flow-schedule")
    expect(schedule).to_contain_text("at 06:00, Monday through Friday (Europe/Berlin)")

    backend = Backend()
    flow = backend.get_flow_by_name("morning", project_name="reports")
    info = backend.get_schedule(flow["id"])
    assert info["description"] == "at 06:00, Monday through Friday (Europe/Berlin) with region='US'"
    # scheduled, not started now: any run (a scheduler's, if one runs) is for a weekday at 06:00 or later
    assert all(r["scheduled_start_time"] >= info["next_run"] for r in backend.list_flow_runs(flow_id=flow["id"]))
    expected = datetime.fromtimestamp(info["next_run"]).strftime("%Y-%m-%d %H:%M:%S")
    expect(item.get_by_test_id("flow-next-run")).to_have_text(f"next {expected}")

    item.get_by_test_id("schedule-toggle").click()
    expect(schedule).to_have_attribute("data-paused", "true")
    expect(item.get_by_test_id("flow-next-run")).to_have_text("paused")
    assert backend.get_schedule(flow["id"])["paused"] is True
    item.get_by_test_id("schedule-toggle").click()
    expect(item.get_by_test_id("flow-next-run")).to_have_text(f"next {expected}")

    # a run created for later shows when it will start, in the panel and in its view
    later = backend.create_flow_run(flow["id"], scheduled_start_time=info["next_run"])
    page.locator(".jp-FlowsPanel-refresh").click()
    run_item = item.locator(f'[data-run-id="{later["id"]}"]')
    expect(run_item).to_contain_text(f"at {expected}")
    run_item.locator("button").first.click()
    view = page.locator(f'[data-testid="run-view"][data-run-id="{later["id"]}"]')
    expect(view.get_by_test_id("run-scheduled-start")).to_have_text(expected)

/**
 * The JupyterLab plugin of jupyter-flows: the Flows sidebar, run views in
 * the main area, and "Run notebook as flow" in the palette and the notebook
 * toolbar.
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, MainAreaWidget, showErrorMessage, WidgetTracker } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ToolbarButton } from '@jupyterlab/ui-components';

import { FlowsClient } from './client';
import { askRun } from './dialogs';
import { flowsIcon } from './icons';
import { runNotebookAsFlow } from './notebook';
import { FlowsPanel } from './panel';
import { createPipeline } from './pipeline';
import { RunView } from './runview';
import { Flow } from './types';

const COMMANDS = {
  createPipeline: 'jupyter-flows:create-pipeline',
  openRun: 'jupyter-flows:open-run',
  runNotebook: 'jupyter-flows:run-notebook',
  showPanel: 'jupyter-flows:show-panel'
};

/** The query parameter of a link to a run's view (see `jupyter_flows.notifications.run_url`). */
const RUN_LINK_PARAMETER = 'flow-run';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-flows:plugin',
  description: 'Flows sidebar, live run views and running notebooks as flows.',
  autoStart: true,
  requires: [ICommandPalette, INotebookTracker],
  optional: [ILayoutRestorer, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const client = new FlowsClient();
    const runViews = new WidgetTracker<MainAreaWidget<RunView>>({ namespace: 'jupyter-flows-run' });

    const openRun = (runId: string) => void app.commands.execute(COMMANDS.openRun, { id: runId });
    const runFlow = async (flow: Flow) => {
      const request = await askRun(flow);
      if (request === null) {
        return;
      }
      try {
        const run = await client.createFlowRun(flow.id, request.parameters, undefined, request.runConfig);
        panel.refresh();
        openRun(run.id);
      } catch (error) {
        await showErrorMessage(`Run ${flow.name}`, (error as Error).message, [Dialog.okButton()]);
      }
    };
    const pauseSchedule = async (flow: Flow, pause: boolean) => {
      try {
        await client.pauseSchedule(flow.id, pause);
        panel.refresh();
      } catch (error) {
        await showErrorMessage(`Schedule of ${flow.name}`, (error as Error).message, [Dialog.okButton()]);
      }
    };
    const panel = new FlowsPanel(client, { openRun, runFlow, pauseSchedule });
    app.shell.add(panel, 'left', { rank: 450 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(COMMANDS.showPanel, {
      label: 'Show Flows',
      icon: flowsIcon,
      execute: () => app.shell.activateById(panel.id)
    });

    app.commands.addCommand(COMMANDS.openRun, {
      label: 'Open flow run',
      execute: args => {
        const runId = String(args.id);
        const open = runViews.find(w => w.content.runId === runId);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const content = new RunView(runId, client, {
          openNotebook: path => void app.commands.execute('docmanager:open', { path }),
          runChanged: () => panel.refresh(),
          openRun,
          runLoaded: run => {
            widget.title.label = run.name;
            widget.title.caption = `${run.flow_name} v${run.flow_version} (${run.project_name}): ${run.state}`;
          }
        });
        const widget = new MainAreaWidget({ content });
        widget.id = `jupyter-flows-run-${runId}`;
        widget.title.label = `Run ${runId.slice(0, 8)}`;
        widget.title.icon = flowsIcon;
        widget.title.closable = true;
        void runViews.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });
    if (restorer) {
      void restorer.restore(runViews, {
        command: COMMANDS.openRun,
        args: widget => ({ id: widget.content.runId }),
        name: widget => widget.content.runId
      });
    }

    // A link to a run (`<server>/lab?flow-run=<id>`, as notifications send it) opens its view.
    const linkedRun = new URLSearchParams(window.location.search).get(RUN_LINK_PARAMETER);
    if (linkedRun) {
      void app.restored.then(() => openRun(linkedRun));
    }

    const runCurrentNotebook = async (target?: NotebookPanel) => {
      const notebook = target ?? notebooks.currentWidget;
      if (!notebook) {
        await showErrorMessage('Run notebook as flow', 'Open a notebook first: this runs the notebook in front.', [
          Dialog.okButton()
        ]);
        return null;
      }
      return runNotebookAsFlow(notebook, client, { openRun, runChanged: () => panel.refresh() });
    };
    app.commands.addCommand(COMMANDS.runNotebook, {
      label: 'Run notebook as flow',
      caption: 'Save this notebook, register it as a flow and start a run',
      icon: flowsIcon,
      isEnabled: () => notebooks.currentWidget !== null,
      execute: () => runCurrentNotebook()
    });
    palette.addItem({ command: COMMANDS.runNotebook, category: 'Flows' });
    palette.addItem({ command: COMMANDS.showPanel, category: 'Flows' });

    const selectedNotebooks = () =>
      fileBrowser ? Array.from(fileBrowser.selectedItems()).filter(item => item.type === 'notebook').map(item => item.path) : [];
    app.commands.addCommand(COMMANDS.createPipeline, {
      label: 'Create flow from notebooks',
      caption: 'Run the selected notebooks as one flow, in the order you choose',
      icon: flowsIcon,
      isEnabled: () => selectedNotebooks().length > 0,
      execute: async () => {
        const runId = await createPipeline(selectedNotebooks(), client, openRun);
        panel.refresh();
        return runId;
      }
    });
    app.contextMenu.addItem({
      command: COMMANDS.createPipeline,
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 60
    });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (notebook: NotebookPanel) => {
        const button = new ToolbarButton({
          className: 'jp-FlowsRunNotebookButton',
          icon: flowsIcon,
          label: 'Run as flow',
          tooltip: 'Run notebook as flow',
          onClick: () => void runCurrentNotebook(notebook)
        });
        notebook.toolbar.insertItem(10, 'jupyterFlowsRunNotebook', button);
        return button;
      }
    });
  }
};

export default plugin;
